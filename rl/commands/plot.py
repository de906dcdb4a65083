"""Plot reasoning-length curves of runs (overlaid), or accuracy-by-length bars of eval summaries."""

from __future__ import annotations

import argparse
from pathlib import Path

from rl.errors import UserError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="RUN_DIR", help="training run dirs (metrics.jsonl) or eval dirs (summary.json)")
    parser.add_argument("-o", "--out", default=None, help="output file; .png (default), .svg or .pdf")
    parser.add_argument("--metrics", nargs="+", default=None, help="plot these metric names instead of the default panels")
    parser.add_argument("--smoothing", type=float, default=0.6, help="EMA smoothing in [0, 1); 0 = raw")
    parser.add_argument("--labels", nargs="+", default=None, help="legend names, one per path")


def run(args: argparse.Namespace) -> int:
    from rl.eval.plot import plot_length_accuracy, plot_runs

    paths = [Path(p) for p in args.paths]
    for path in paths:
        if not path.exists():
            raise UserError(f"not found: {path}")
    if not 0 <= args.smoothing < 1:
        raise UserError(f"--smoothing must be in [0, 1), got {args.smoothing}")
    if args.labels and len(args.labels) != len(paths):
        raise UserError(f"--labels: got {len(args.labels)} names for {len(paths)} paths")
    summaries = [p / "summary.json" if p.is_dir() else p for p in paths]
    if all(s.name == "summary.json" and s.is_file() for s in summaries) and not any((p / "metrics.jsonl").is_file() for p in paths if p.is_dir()):
        out = Path(args.out or paths[0] / "length_accuracy.png")
        plot_length_accuracy(summaries, out, args.labels)
    else:
        out = Path(args.out or (paths[0] / "curves.png" if paths[0].is_dir() else "curves.png"))
        if out.suffix.lower() not in (".png", ".svg", ".pdf"):
            raise UserError(f"-o {out}: use a .png, .svg or .pdf file name")
        plot_runs(paths, out, args.metrics, args.smoothing, args.labels)
    print(f"wrote {out}")
    return 0
