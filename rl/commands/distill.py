"""Distil towards short reasoning: sample K answers per question, keep the shortest correct, fine-tune on them (SFT)."""

from __future__ import annotations

import argparse
import json

from rl.commands.train import add_config_arguments


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="the model to sample from and fine-tune (checkpoint dir, local path, hub id, tiny:)")
    add_config_arguments(parser)
    parser.add_argument("--out", default=None, help="output directory (default: distill.output_dir, else <trainer.output_dir>-distill)")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from rl.config import load_config
    from rl.train.distill import distill

    config = load_config(args.config, args.overrides)
    summary = distill(config, args.model, args.out, seed=args.seed)
    print(json.dumps(summary["selection"], indent=2))
    print(f"fine-tuned model: {summary['model']}")
    return 0
