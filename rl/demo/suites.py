"""The suites of `python -m rl demo --suite`, each declared once: name, runner, outputs, make target, description.

The CLI's `--suite` choices and help, the Makefile's targets (checked by a test) and the docs pages
(`docs/suites/<name>.md`) all come from `SUITES`; a new suite is its module and one `register_suite` line.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Suite:
    """One suite of `rl demo`.

    Args:
        name: its `--suite` name.
        description: one line for `--help` and the docs.
        run: `(args, settings) -> exit code`: runs every stage (resumable, `rl.demo.pipeline`), writes the
            report and its pictures into `settings.out_dir` and prints where; `args` are `rl demo`'s
            options, `settings` the `rl.demo.pipeline.DemoSettings` they make.
        outputs: the files it writes into its directory (report, figures).
        make_target: `make <target>` runs it.
        parallel: runs independent stages side by side (`--jobs`).
    """

    name: str
    description: str
    run: Callable[[argparse.Namespace, object], int]
    outputs: tuple[str, ...] = ("report.md", "report.json")
    make_target: str | None = None
    parallel: bool = False

    @property
    def doc(self) -> str:
        """Its docs page, with its numbers and pictures."""
        return f"docs/suites/{self.name}.md"

    @property
    def target(self) -> str:
        return self.make_target or self.name


SUITES: dict[str, Suite] = {}


def register_suite(suite: Suite, replace: bool = False) -> Suite:
    """Add a suite (its name becomes a `--suite` choice); an existing name needs `replace=True`."""
    if suite.name in SUITES and SUITES[suite.name] is not suite and not replace:
        raise ValueError(f"suite {suite.name!r} is already registered; pass replace=True to replace it")
    SUITES[suite.name] = suite
    return suite


# ---------------------------------------------------------------- the shipped suites


def run_demo_suite(args: argparse.Namespace, settings) -> int:
    from rl.demo.pipeline import run_demo

    out = settings.out_dir
    report = run_demo(settings)
    print(json.dumps(report["comparisons"], indent=2))
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'curves.png'}")
    return 0


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


def run_test_time_suite(args: argparse.Namespace, settings) -> int:
    from rl.demo.testtime import SuiteSettings, run_test_time, toy_demo_settings

    out = settings.out_dir
    if args.toy:
        settings = toy_demo_settings(out, args.seed)
    demo_dir = None if args.toy else Path("runs/demo" if args.seed == 0 else f"runs/demo-seed{args.seed}")
    report = run_test_time(settings, SuiteSettings.toy() if args.toy else SuiteSettings(), demo_dir)
    print(json.dumps(report["beam_vs_majority"], indent=2))
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'test_time_vs_train.png'}")
    return 0


def run_real_suite(args: argparse.Namespace, settings) -> int:
    import dataclasses

    from rl.demo.pipeline import DemoSettings
    from rl.demo.real import RealSuite, run_real

    out = settings.out_dir
    if args.toy:
        settings = dataclasses.replace(DemoSettings(out_dir=out, seed=args.seed, overrides=list(args.overrides)), plan=settings.plan)
    report = run_real(settings, RealSuite.toy() if args.toy else RealSuite())
    print(json.dumps(report["comparisons"], indent=2))
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'curves.png'}")
    return 0


register_suite(Suite("demo", "R1-Zero vs don't overthink", run_demo_suite, ("report.md", "report.json", "curves.png"), parallel=True))
register_suite(Suite("levers", "every length control side by side", run_levers_suite, ("report.md", "report.json", "pareto.png", "test_time.png")))
register_suite(Suite("language", "a mixing warm start trained with and without the language-consistency reward", run_language_suite,
                     ("report.md", "report.json", "language.png"), parallel=True))  # fmt: skip
register_suite(Suite("shorten", "cut the demo's R1-Zero overthinker with each length method and the DLER recipe", run_shorten_suite,
                     ("report.md", "report.json", "shorten.png"), parallel=True))  # fmt: skip
register_suite(Suite("test_time", "votes, verifiers and beam search from the warm start vs the RL models, in tokens", run_test_time_suite,
                     ("report.md", "report.json", "test_time_vs_train.png"), make_target="test-time"))  # fmt: skip
register_suite(Suite("real", "R1-Zero vs don't overthink on a real pretrained model (SmolLM2-135M-Instruct from PyPI)", run_real_suite,
                     ("report.md", "report.json", "curves.png")))  # fmt: skip
