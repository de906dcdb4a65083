"""Evaluate a model (checkpoint dir, local path, hub id or tiny:) on held-out questions.

`--strategy` picks how each question's answer is chosen: greedy, sample (pass@k, maj@k),
best_of_n (a verifier picks among N samples) or beam (step-level search guided by a process
verifier); every strategy reports the tokens it generated per question.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rl.commands.train import add_config_arguments
from rl.testtime.selection import AGGREGATIONS
from rl.testtime.strategies import STRATEGY_KINDS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="checkpoint directory, local model, hub id, or tiny:<preset>")
    add_config_arguments(parser)
    parser.add_argument("--samples", type=int, default=1, help="answers sampled per question (K for pass@K / maj@K)")
    parser.add_argument("--limit", type=int, default=None, help="evaluate only the first N questions")
    parser.add_argument("--greedy", action="store_true", help="greedy decoding (one answer per question)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampling (the same seed gives the same answers)")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="default: the training budget, trainer.max_completion_length (TRL's default if unset)")
    parser.add_argument("--out", default=None, help="output directory (default: <model>/eval or runs/eval)")
    search = parser.add_argument_group("test-time strategies")
    search.add_argument("--strategy", choices=list(STRATEGY_KINDS), default=None,
                        help="; ".join(f"{name}: {kind.help}" for name, kind in STRATEGY_KINDS.items()))
    search.add_argument("--verifier", default=None, help="best_of_n, beam: a verifier checkpoint (`python -m rl prm train`)")
    search.add_argument("--aggregation", choices=list(AGGREGATIONS), default="last",
                        help="how a process verifier's step scores rank a solution: last step, min, or product")  # fmt: skip
    search.add_argument("--step-separator", default=None, help="the text that ends a step (default: the verifier's)")
    search.add_argument("--beams", type=int, default=4, help="beam: N, candidate steps per question and iteration (the budget)")
    search.add_argument("--beam-width", type=int, default=4, help="beam: M, continuations of each kept beam (N/M beams kept)")
    search.add_argument("--max-step-tokens", type=int, default=32, help="beam: most tokens of one step")


def run(args: argparse.Namespace) -> int:
    from rl.config import load_config
    from rl.eval.generation import EvalSettings
    from rl.testtime.evaluate import evaluate
    from rl.testtime.search import BeamSettings
    from rl.testtime.selection import StepScoring
    from rl.testtime.strategies import Strategy

    config = load_config(args.config, args.overrides)
    name = args.strategy or ("greedy" if args.greedy else "sample")
    strategy = Strategy(name=name, verifier=args.verifier, scoring=StepScoring(args.aggregation, args.step_separator),
                        beam=BeamSettings(beams=args.beams, beam_width=args.beam_width, max_step_tokens=args.max_step_tokens))  # fmt: skip
    settings = EvalSettings(samples=args.samples, limit=args.limit, greedy=args.greedy or strategy.kind.greedy, temperature=args.temperature,
                            max_new_tokens=args.max_new_tokens, seed=args.seed)  # fmt: skip
    model_dir = Path(args.model)
    out = Path(args.out) if args.out else (model_dir / "eval" if model_dir.is_dir() else Path("runs/eval"))
    summary = evaluate(config, args.model, settings, out, strategy)
    print(json.dumps({k: v for k, v in summary.items() if k != "accuracy_by_length_quintile"}, indent=2))
    print(f"wrote {out / 'samples.jsonl'} and {out / 'summary.json'}")
    return 0
