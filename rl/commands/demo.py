"""Run the CPU demo: R1-Zero vs "don't overthink" RL from the shipped base, held-out evals, report and curves.

`--suite levers` runs every length control from the same warm start instead (Pareto and test-time charts);
`--suite shorten` shortens the demo's R1-Zero model with each length method and the DLER recipe;
`--suite test_time` sets test-time strategies (votes, verifiers, beam search) against the RL models, in tokens.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from rl.demo.suites import SUITES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", choices=list(SUITES), default="demo",
                        help="; ".join(f"{name}: {suite.description}" for name, suite in SUITES.items()))  # fmt: skip
    parser.add_argument("--out", default=None, help="output directory (default: runs/<suite>, or runs/<suite>-seed<N> for --seed N != 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of both RL runs and the sampled evals (the shipped base is the same for every seed)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="levers suite: run these seeds, then chart each method's mean and range (charts in the first seed's directory)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="delete the demo directory first instead of reusing finished stages")
    parser.add_argument("--rebuild-base", action="store_true",
                        help="build the warm start (the base model both RL runs start from) here from scratch instead of using the shipped one (~15 min on 2 cores)")
    parser.add_argument("--ship-base", action="store_true",
                        help="with --rebuild-base, from a checkout: copy the base built here into rl/demo/base/ with its recipe (maintainers)")
    parser.add_argument("--jobs", type=int, default=None,
                        help="the demo, language and shorten suites: independent stages (the RL runs, the evals) run this many at a time, each in its own "
                             "process (default: 2 on a machine with 2+ cores, else 1; 1 runs them one after the other in this process)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per stage (default with --jobs 2+: the cores shared out, 1 each on 2 cores; else torch's, "
                             "one per core). Pass 1 when another process shares the cores: two threads then slow the tiny model several-fold")  # fmt: skip
    parser.add_argument("--toy", action="store_true", help="a seconds-long run at toy size (what the tests run)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a value of both RL configs, e.g. --set trainer.max_steps=30",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from rl.demo.pipeline import DemoSettings
    from rl.errors import UserError

    if args.ship_base and not args.rebuild_base:
        raise UserError("--ship-base needs --rebuild-base (it ships the base this demo builds)")
    from rl.demo.workers import Plan

    try:
        # The suites whose RL runs are independent run them side by side; toys (the tests) one at a time unless asked.
        plan = Plan.for_machine(args.jobs if SUITES[args.suite].parallel and not args.toy else (args.jobs or 1), args.threads)
    except ValueError as error:
        raise UserError(str(error)) from None
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    out = Path(args.out or (f"runs/{args.suite}" if args.seed == 0 else f"runs/{args.suite}-seed{args.seed}"))
    if args.fresh and out.exists():
        shutil.rmtree(out)
    settings = DemoSettings.toy(out, seed=args.seed) if args.toy else DemoSettings(out_dir=out, seed=args.seed)
    settings.overrides += args.overrides
    settings = dataclasses.replace(settings, rebuild_base=args.rebuild_base, ship_base=args.ship_base, plan=plan)
    return SUITES[args.suite].run(args, settings)
