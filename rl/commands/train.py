"""Train a policy with GRPO (or RLOO) from a YAML config."""

from __future__ import annotations

import argparse


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", required=True, help="a YAML file, or a shipped preset by name: r1_zero, dont_overthink, demo/smoke, ...")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a config value, e.g. --set rewards.length.weight=0.3 (repeatable, YAML-typed)",
    )  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--resume", action="store_true", help="continue from the last checkpoint in trainer.output_dir")
    parser.add_argument("--overwrite", action="store_true", help="delete an existing trainer.output_dir first")


def run(args: argparse.Namespace) -> int:
    from rl.train.run_lock import die_with_launcher

    die_with_launcher()  # first: a rank must not outlive a killed launcher, even while it still imports
    from rl.config import load_config
    from rl.train.train import AlreadyFinished, train

    config = load_config(args.config, args.overrides)
    try:
        output_dir = train(config, resume=args.resume, overwrite=args.overwrite)
    except AlreadyFinished as finished:
        print(finished)
        return 0
    print(f"done: {output_dir}")
    return 0
