"""Run the CPU demo: SFT warm start, R1-Zero vs "don't overthink" RL, held-out evals, report and curves.

`--suite levers` runs every length control from the same warm start instead (Pareto and test-time charts).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", choices=["demo", "levers"], default="demo",
                        help="demo: R1-Zero vs don't overthink; levers: every length control side by side")  # fmt: skip
    parser.add_argument("--out", default=None, help="output directory (default: runs/<suite>, or runs/<suite>-seed<N> for --seed N != 0)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the warm start and both RL runs")
    parser.add_argument("--fresh", action="store_true", help="delete the demo directory first instead of reusing finished stages")
    parser.add_argument("--toy", action="store_true", help="a seconds-long run at toy size (what the tests run)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a value of both RL configs, e.g. --set trainer.max_steps=30",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from rl.demo.levers import run_levers
    from rl.demo.pipeline import DemoSettings, run_demo

    out = Path(args.out or (f"runs/{args.suite}" if args.seed == 0 else f"runs/{args.suite}-seed{args.seed}"))
    if args.fresh and out.exists():
        shutil.rmtree(out)
    settings = DemoSettings.toy(out, seed=args.seed) if args.toy else DemoSettings(out_dir=out, seed=args.seed)
    settings.overrides += args.overrides
    if args.suite == "levers":
        demo_dir = Path("runs/demo" if args.seed == 0 else f"runs/demo-seed{args.seed}")
        report = run_levers(settings, demo_dir=None if args.toy else demo_dir)
        print(json.dumps({name: {k: m[k] for k in ("accuracy", "mean_tokens")} for name, m in report["methods"].items()}, indent=2))
        print(f"wrote {out / 'report.md'}, {out / 'report.json'}, {out / 'pareto.png'} and {out / 'test_time.png'}")
        return 0
    report = run_demo(settings)
    print(json.dumps(report["comparisons"], indent=2))
    print(f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'curves.png'}")
    return 0
