"""Evaluate a model (checkpoint dir, local path, hub id or tiny:) on held-out questions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rl.commands.train import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint directory, local model, hub id, or tiny:<preset>")
    add_config_arguments(parser)
    parser.add_argument("--samples", type=int, default=1, help="answers sampled per question (K for pass@K / maj@K)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding (one answer per question)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the training budget, trainer.max_completion_length (TRL's default if unset)")
    parser.add_argument("--out", default=None, help="output directory (default: <model>/eval or runs/eval)")


def run(args: argparse.Namespace) -> int:
    from rl.config import load_config
    from rl.evaluate import EvalSettings, evaluate

    config = load_config(args.config, args.overrides)
    settings = EvalSettings(samples=args.samples, limit=args.limit, greedy=args.greedy, temperature=args.temperature, max_new_tokens=args.max_new_tokens)
    model_dir = Path(args.model)
    out = Path(args.out) if args.out else (model_dir / "eval" if model_dir.is_dir() else Path("runs/eval"))
    summary = evaluate(config, args.model, settings, out)
    print(json.dumps({k: v for k, v in summary.items() if k != "accuracy_by_length_quintile"}, indent=2))
    print(f"wrote {out / 'samples.jsonl'} and {out / 'summary.json'}")
    return 0
