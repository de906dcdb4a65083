"""Run the CPU demo: R1-Zero vs "don't overthink" RL from the shipped base, held-out evals, report and curves.

`--suite levers` runs every length control from the same warm start instead (Pareto and test-time charts);
`--suite shorten` shortens the demo's R1-Zero model with each length method and the DLER recipe;
`--suite test_time` sets test-time strategies (votes, verifiers, beam search) against the RL models, in tokens.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

PARALLEL_SUITES = ("demo", "language", "shorten")  # suites that run independent stages side by side (`--jobs`)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", choices=["demo", "levers", "language", "shorten", "test_time", "real"], default="demo",
                        help="demo: R1-Zero vs don't overthink; levers: every length control side by side; "
                             "language: a mixing warm start trained with and without the language-consistency reward; "
                             "shorten: cut the demo's R1-Zero overthinker with each length method and the DLER recipe; "
                             "test_time: votes, verifiers and beam search from the warm start vs the RL models, in tokens; "
                             "real: R1-Zero vs don't overthink on a real pretrained model (SmolLM2-135M-Instruct from PyPI)")  # fmt: skip
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
                        help="demo, language, shorten suites: independent stages (the RL runs, the evals) run this many at a time, each in its own "
                             "process (default: 2 on a machine with 2+ cores, else 1; 1 runs them one after the other in this process)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per stage (default with --jobs 2+: the cores shared out, 1 each on 2 cores; else torch's, "
                             "one per core). Pass 1 when another process shares the cores: two threads then slow the tiny model several-fold")  # fmt: skip
    parser.add_argument("--toy", action="store_true", help="a seconds-long run at toy size (what the tests run)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a value of both RL configs, e.g. --set trainer.max_steps=30",
    )  # fmt: skip


def levers_dir(args: argparse.Namespace, seed: int) -> Path:
    if args.out:
        return Path(args.out) / f"seed{seed}" if args.seeds and len(args.seeds) > 1 else Path(args.out)
    return Path("runs/levers" if seed == 0 else f"runs/levers-seed{seed}")


def run_levers_suite(args: argparse.Namespace, settings) -> int:
    """Each seed's suite in its own directory; with several seeds, their mean-and-range charts in the first one's."""
    import dataclasses

    from rl.demo.levers import combine_seeds, run_levers

    seeds = args.seeds or [args.seed]
    reports = {}
    for seed in seeds:
        out = levers_dir(args, seed)
        demo_dir = Path("runs/demo" if seed == 0 else f"runs/demo-seed{seed}")
        reports[seed] = run_levers(dataclasses.replace(settings, seed=seed, out_dir=out), demo_dir=None if args.toy else demo_dir)
        print(json.dumps({name: {k: m[k] for k in ("accuracy", "mean_tokens")} for name, m in reports[seed]["methods"].items()}, indent=2))
        print(f"wrote {out / 'report.md'}, {out / 'report.json'}, {out / 'pareto.png'} and {out / 'test_time.png'}")
    if len(reports) > 1:
        first = levers_dir(args, seeds[0])
        combine_seeds(reports, first)
        print(f"wrote {first / 'seeds.md'}, {first / 'pareto_seeds.png'} and {first / 'test_time_seeds.png'}")
    return 0


def run_language_suite(args: argparse.Namespace, settings) -> int:
    """The language suite; its toy keeps the demo's base (the shipped one) and shrinks the rest (`LanguageSuite.toy`)."""
    from rl.demo.language import LanguageSuite, run_language
    from rl.demo.pipeline import DemoSettings

    if args.toy:
        settings = DemoSettings(out_dir=settings.out_dir, seed=args.seed, rebuild_base=args.rebuild_base, overrides=list(args.overrides),
                                plan=settings.plan)  # fmt: skip
    report = run_language(settings, LanguageSuite.toy() if args.toy else LanguageSuite())
    print(json.dumps(report["comparisons"], indent=2))
    print(f"wrote {settings.out_dir / 'report.md'}, {settings.out_dir / 'report.json'} and {settings.out_dir / 'language.png'}")
    return 0


def run_shorten_suite(args: argparse.Namespace, settings) -> int:
    """From the demo's R1-Zero model (`runs/demo`, or `runs/demo-seed<N>`; made by the demo if missing)."""
    from rl.demo.shorten import run_shorten

    demo_dir = None if args.toy else Path("runs/demo" if args.seed == 0 else f"runs/demo-seed{args.seed}")
    toy_eval = {"every_steps": 1, "limit": 4, "greedy": True, "max_new_tokens": 24} if args.toy else None
    report = run_shorten(settings, demo_dir=demo_dir, eval_during_training=toy_eval)
    print(json.dumps({name: {k: m[k] for k in ("accuracy", "mean_tokens", "tokens_ratio")} for name, m in report["methods"].items()}, indent=2))
    out = settings.out_dir
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'shorten.png'}")
    return 0


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from rl.demo.pipeline import DemoSettings, run_demo
    from rl.errors import UserError

    if args.ship_base and not args.rebuild_base:
        raise UserError("--ship-base needs --rebuild-base (it ships the base this demo builds)")
    from rl.demo.workers import Plan

    try:
        # The suites whose RL runs are independent run them side by side; toys (the tests) one at a time unless asked.
        plan = Plan.for_machine(args.jobs if args.suite in PARALLEL_SUITES and not args.toy else (args.jobs or 1), args.threads)
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
    if args.suite == "levers":
        return run_levers_suite(args, settings)
    if args.suite == "language":
        return run_language_suite(args, settings)
    if args.suite == "shorten":
        return run_shorten_suite(args, settings)
    if args.suite == "test_time":
        from rl.demo.testtime import SuiteSettings, run_test_time, toy_demo_settings

        if args.toy:
            settings = toy_demo_settings(out, args.seed)
        demo_dir = None if args.toy else Path("runs/demo" if args.seed == 0 else f"runs/demo-seed{args.seed}")
        report = run_test_time(settings, SuiteSettings.toy() if args.toy else SuiteSettings(), demo_dir)
        print(json.dumps(report["beam_vs_majority"], indent=2))
        print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'test_time_vs_train.png'}")
        return 0
    if args.suite == "real":
        from rl.demo.real import RealSuite, run_real

        if args.toy:
            settings = dataclasses.replace(DemoSettings(out_dir=out, seed=args.seed, overrides=list(args.overrides)), plan=plan)
        report = run_real(settings, RealSuite.toy() if args.toy else RealSuite())
        print(json.dumps(report["comparisons"], indent=2))
        print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'curves.png'}")
        return 0
    report = run_demo(settings)
    print(json.dumps(report["comparisons"], indent=2))
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'curves.png'}")
    return 0
