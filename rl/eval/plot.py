"""Reasoning-length curves from `metrics.jsonl` (runs overlaid) and accuracy-by-length bars from eval summaries.

Reads whatever is in the files, so it works on a run that is still training.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rl.data.jsonl import read_jsonl_tolerant
from rl.errors import UserError

# (panel title, y label, [(metric, line style label)]); names are the interface in DESIGN.md.
PANELS = [
    ("Completion length by correctness", "tokens", [("length/correct_mean", "correct"), ("length/incorrect_mean", "incorrect")]),
    ("Completion length (all) and clipping", "tokens", [("completions/mean_length", "mean"), ("completions/clipped_ratio", "clipped ratio (right axis)")]),
    ("Accuracy (training samples)", "accuracy", [("accuracy", "")]),
    ("Length reference and penalised share", "tokens", [("length/ref_mean", "ref length"), ("length/penalised_frac", "penalised frac (right axis)")]),
    ("Held-out accuracy (eval during training)", "accuracy", [("eval/accuracy", "")]),
    ("Held-out mean tokens (eval during training)", "tokens",
     [("eval/mean_tokens", "all"), ("eval/mean_tokens_correct", "correct"), ("eval/mean_tokens_incorrect", "incorrect")]),
]  # fmt: skip
RIGHT_AXIS = {"completions/clipped_ratio", "length/penalised_frac"}
# Held-out evaluations (rl.eval.during_training) are few, exact points: drawn as they are, with markers, never smoothed.
UNSMOOTHED_PREFIX = "eval/"
LINE_STYLES = ["-", "--", ":"]


def pyplot():
    """matplotlib's pyplot on the file-only Agg backend (training nodes have no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, out: Path) -> Path:
    """Write `figure` to `out` (format from its suffix, 110 dpi; parent directories created), close it, return `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=110)
    pyplot().close(figure)
    return out


def read_metrics(run_dir: Path) -> list[dict]:
    """Rows of `metrics.jsonl` that carry training metrics (a partly written last line is skipped)."""
    path = run_dir / "metrics.jsonl" if run_dir.is_dir() else run_dir
    if not path.is_file():
        raise UserError(f"no metrics.jsonl in {run_dir}")
    records, _ = read_jsonl_tolerant(path)  # the trainer may be writing the last line right now
    return [row for row in records if "train_runtime" not in row]


def ema(values: list[float], smoothing: float) -> list[float]:
    """Exponential moving average (TensorBoard-style, bias-corrected); NaN gaps are carried over."""
    smoothed, average, weight = [], 0.0, 0.0
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            smoothed.append(float("nan"))
            continue
        average = smoothing * average + (1 - smoothing) * value
        weight = smoothing * weight + (1 - smoothing)
        smoothed.append(average / weight)
    return smoothed


def series(rows: list[dict], metric: str) -> tuple[list[int], list[float]]:
    points = [(row["step"], row[metric]) for row in rows if row.get(metric) is not None]
    return [p[0] for p in points], [float(p[1]) for p in points]


def reward_panels(runs: dict[str, list[dict]]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    names = sorted({key for rows in runs.values() for row in rows for key in row if key.startswith("rewards/") and key.endswith("/mean")})
    return [("Reward components (mean)", "reward", [(name, name.split("/")[1]) for name in names])] if names else []


def plot_runs(run_dirs: list[Path], out: Path, metrics: list[str] | None = None, smoothing: float = 0.6, labels: list[str] | None = None) -> Path:
    """Write the length-curve figure of `run_dirs` (overlaid) to `out` (.png, .svg or .pdf)."""

    labels = labels or [Path(d).name for d in run_dirs]
    runs = {label: read_metrics(Path(d)) for label, d in zip(labels, run_dirs)}
    figure = curves_figure(runs, metrics, smoothing)
    figure.suptitle(f"Reasoning-length curves: {', '.join(labels)} (EMA {smoothing}, raw faint)")
    figure.tight_layout()
    return save_figure(figure, out)


def curves_figure(runs: dict[str, list[dict]], metrics: list[str] | None = None, smoothing: float = 0.6):
    """One panel per metric group, one colour per run, raw curves faint behind EMA-smoothed ones.

    Held-out evaluation during training (`eval/accuracy`, `eval/mean_tokens*`) gets its own two panels,
    points at the steps evaluated, unsmoothed.
    """
    plt = pyplot()

    if metrics:
        panels = [(metric, metric, [(metric, "")]) for metric in metrics]
    else:
        panels = PANELS + reward_panels(runs)
    panels = [p for p in panels if any(series(rows, m)[0] for rows in runs.values() for m, _ in p[2])]
    if not panels:
        raise UserError(f"none of the metrics to plot are in the runs {', '.join(runs)} yet")
    columns = 2 if len(panels) > 1 else 1
    rows_count = math.ceil(len(panels) / columns)
    figure, axes = plt.subplots(rows_count, columns, figsize=(6.5 * columns, 3.6 * rows_count), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, (title, y_label, lines) in zip(axes.flat, panels):
        right = axis.twinx() if any(m in RIGHT_AXIS for m, _ in lines) else None
        for run_index, (label, rows) in enumerate(runs.items()):
            colour = colours[run_index % len(colours)]
            for line_index, (metric, line_label) in enumerate(lines):
                steps, values = series(rows, metric)
                if not steps:
                    continue
                target = right if metric in RIGHT_AXIS else axis
                style = LINE_STYLES[line_index % len(LINE_STYLES)]
                name = f"{label} {line_label}".strip()
                if metric.startswith(UNSMOOTHED_PREFIX):
                    target.plot(steps, values, style, marker="o", markersize=3, color=colour, linewidth=2, label=name)
                    continue
                target.plot(steps, values, style, color=colour, alpha=0.2, linewidth=1)
                target.plot(steps, ema(values, smoothing), style, color=colour, linewidth=2, label=name)
        axis.set_title(title)
        axis.set_xlabel("step")
        axis.set_ylabel(y_label)
        axis.grid(alpha=0.3)
        handles, names = axis.get_legend_handles_labels()
        if right is not None:
            extra_handles, extra_names = right.get_legend_handles_labels()
            handles, names = handles + extra_handles, names + extra_names
            right.set_ylabel("fraction")
        axis.legend(handles, names, fontsize=8, loc="best")
    for axis in list(axes.flat)[len(panels) :]:
        axis.remove()
    return figure


def plot_length_accuracy(summaries: list[Path], out: Path, labels: list[str] | None = None) -> Path:
    """Accuracy by completion-length quintile, one bar group per eval summary."""
    plt = pyplot()

    labels = labels or ["/".join(p.parent.parts[-2:]) for p in summaries]
    figure, axis = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(len(summaries), 1)
    for index, (label, path) in enumerate(zip(labels, summaries)):
        buckets = json.loads(path.read_text()).get("accuracy_by_length_quintile", [])
        xs = [b["quintile"] - 0.4 + width * (index + 0.5) for b in buckets]
        axis.bar(xs, [b["accuracy"] for b in buckets], width=width, label=label)
        for x, bucket in zip(xs, buckets):
            axis.annotate(f"{bucket['min_tokens']}-{bucket['max_tokens']}", (x, bucket["accuracy"]), ha="center", va="bottom", fontsize=7)
    axis.set_xticks([1, 2, 3, 4, 5], ["Q1\nshortest", "Q2", "Q3", "Q4", "Q5\nlongest"])
    axis.set_ylabel("accuracy")
    axis.set_ylim(0, 1.05)
    axis.set_title("Accuracy by completion-length quintile (labels: token range)")
    axis.legend()
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return save_figure(figure, out)


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (tokens, accuracy) points no other point beats on both: fewer tokens and higher accuracy.

    >>> pareto_front([(10, 0.5), (20, 0.4), (30, 0.7), (15, 0.5)])
    [(10, 0.5), (30, 0.7)]
    """
    front: list[tuple[float, float]] = []
    for tokens, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or accuracy > front[-1][1]:
            front.append((tokens, accuracy))
    return front


def plot_pareto(methods: dict[str, list[tuple[float, float]]], out: Path, title: str) -> Path:
    """Held-out accuracy against mean completion tokens: one marker per method (the mean over seeds, with
    bars for their range when there are several), the Pareto front of the markers drawn.

    Two panels: every method, and a zoom on the short answers within 6 points of the best accuracy,
    where length controls crowd together; there each label is tied to its marker by a line.
    """
    plt = pyplot()
    figure, (full, zoom) = plt.subplots(1, 2, figsize=(13, 5.2))
    colours = {name: plt.rcParams["axes.prop_cycle"].by_key()["color"][i % 10] for i, name in enumerate(methods)}
    centres = {name: (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)) for name, pts in methods.items()}
    front = pareto_front(list(centres.values()))
    best = max(accuracy for _, accuracy in centres.values())
    near = {name for name, (tokens, accuracy) in centres.items() if accuracy >= best - 0.06}
    shortest = min(centres[name][0] for name in near)
    near = {name for name in near if centres[name][0] <= 1.6 * shortest}  # the crowded corner
    crowded = sorted(near, key=lambda name: (-centres[name][1], centres[name][0]))
    for axis in (full, zoom):
        for name, points in methods.items():
            x, y = centres[name]
            axis.scatter([x], [y], s=60, color=colours[name], label=name, zorder=3)
            if len(points) > 1:  # seeds: their range around the mean
                xs, ys = [p[0] for p in points], [p[1] for p in points]
                axis.plot([min(xs), max(xs)], [y, y], color=colours[name], alpha=0.5)
                axis.plot([x, x], [min(ys), max(ys)], color=colours[name], alpha=0.5)
            if axis is full and name not in near:
                axis.annotate(name, (x, y), textcoords="offset points", xytext=(6, 4), fontsize=8)
            elif axis is zoom and name in near:
                axis.annotate(f"{name} ({x:.1f} tokens, {y:.3f})", (x, y), xycoords="data", xytext=(0.55, 0.93 - 0.07 * crowded.index(name)),
                              textcoords="axes fraction", fontsize=8, color=colours[name],
                              arrowprops={"arrowstyle": "-", "color": colours[name], "alpha": 0.6, "linewidth": 0.8})  # fmt: skip
        axis.step([p[0] for p in front], [p[1] for p in front], where="post", color="black", linestyle="--", alpha=0.6,
                  label="Pareto front", zorder=2)  # fmt: skip
        axis.set_xlabel("mean completion tokens (held-out, greedy)")
        axis.set_ylabel("accuracy (held-out, greedy)")
        axis.grid(alpha=0.3)
    low = min(min(p[0] for p in methods[name]) for name in near)
    high = max(max(p[0] for p in methods[name]) for name in near)
    bottom = min(min(p[1] for p in methods[name]) for name in near)
    zoom.set_xlim(low - 0.1 * (high - low) - 1, high + 0.1 * (high - low) + 1)
    zoom.set_ylim(min(bottom, best - 0.06) - 0.005, max(max(p[1] for p in methods[n]) for n in near) + 0.01)
    zoom.set_title(f"zoom: the short answers within 6 points of the best accuracy ({best:.3f})", fontsize=10)
    full.set_title("all methods", fontsize=10)
    full.legend(fontsize=8, loc="lower right")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, out)


def plot_test_time(curves: dict[str, list[tuple[float, float]]], out: Path, title: str) -> Path:
    """maj@k accuracy against total sampled tokens per question (k = 1..K), one line per method."""
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(7.5, 5))
    for name, points in curves.items():
        line = axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)[0]
        for k, (x, y) in enumerate(points, start=1):
            axis.annotate(f"k={k}", (x, y), textcoords="offset points", xytext=(3, -10), fontsize=6, color=line.get_color())
    axis.set_xlabel("total sampled tokens per question (k samples)")
    axis.set_ylabel("maj@k accuracy (held-out)")
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8, loc="best")
    figure.tight_layout()
    return save_figure(figure, out)


def plot_shorten(curves: dict[str, list[dict]], start: dict, out: Path, target_ratio: float, title: str, source: str = "held-out, greedy") -> Path:
    """Accuracy and mean tokens against training step, one line per method (the shorten suite).

    Args:
        curves: method -> [{"step", "accuracy", "mean_tokens"}]: `eval/accuracy`, `eval/mean_tokens` of its run
            (held-out, graded during training), or the training batches' `accuracy`, `completions/mean_length`.
        source: what the curves are, for the axis labels.
        start: the start model's final held-out eval (`accuracy`, `mean_tokens`, `questions`), drawn as dashed lines:
            accuracy 1 point below it and `target_ratio` x its tokens are the targets.
    """
    plt = pyplot()
    figure, (accuracy_axis, tokens_axis) = plt.subplots(1, 2, figsize=(13, 5))
    for name, points in curves.items():
        steps = [p["step"] for p in points]
        accuracy_axis.plot(steps, [p["accuracy"] for p in points], marker="o", markersize=3, label=name)
        tokens_axis.plot(steps, [p["mean_tokens"] for p in points], marker="o", markersize=3, label=name)
    accuracy_axis.axhline(start["accuracy"], color="black", linestyle="--", alpha=0.6, label=f"start model, final eval, {start['questions']} questions ({start['accuracy']:.3f})")
    accuracy_axis.axhline(start["accuracy"] - 0.01, color="grey", linestyle=":", alpha=0.8, label="target: within 1 point")
    tokens_axis.axhline(start["mean_tokens"], color="black", linestyle="--", alpha=0.6, label=f"start model, final eval, {start['questions']} questions ({start['mean_tokens']:.1f})")
    tokens_axis.axhline(target_ratio * start["mean_tokens"], color="grey", linestyle=":", alpha=0.8, label=f"target: {target_ratio}x")
    for axis, label in ((accuracy_axis, "accuracy"), (tokens_axis, "mean completion tokens")):
        axis.set_xlabel("training step")
        axis.set_ylabel(f"{label} ({source})")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8, loc="best")
    figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, out)


def plot_test_time_vs_train(curves: dict[str, list[tuple[float, float, str]]], points: dict[str, tuple[float, float]], rl_runs: dict[str, dict],
                            label_tokens: int, out: Path, title: str) -> Path:  # fmt: skip
    """Held-out accuracy against tokens generated per question (log scale): test-time methods as curves, RL models as points.

    `curves`: per method, (tokens, accuracy, budget label) points; `points`: single test-time points
    (greedy); `rl_runs`: per RL model its `accuracy`, `tokens_per_question` and `training_generated_tokens`
    (stated in the legend); `label_tokens`: what labelling the verifiers' training steps generated (a note).
    """
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(9, 5.5))
    styles = {"verifier-weighted": ":", "outcome": "--"}
    for name, curve in curves.items():
        style = next((line for key, line in styles.items() if key in name), "-")
        line = axis.plot([p[0] for p in curve], [p[1] for p in curve], marker="o", markersize=4, linestyle=style, label=name)[0]
        for x, y, budget in curve:
            axis.annotate(budget, (x, y), textcoords="offset points", xytext=(3, -9), fontsize=6, color=line.get_color())
    for name, (x, y) in points.items():
        axis.plot([x], [y], marker="s", color="black", linestyle="none", label=name)
    names = {"r1_zero": "R1-Zero", "dont_overthink": "don't overthink"}
    for run, entry in rl_runs.items():
        trained = entry.get("training_generated_tokens")
        cost = f"{trained / 1e3:,.0f}k tokens generated in training" if trained else "training cost unknown"
        axis.plot([entry["tokens_per_question"]], [entry["accuracy"]], marker="*", markersize=14, linestyle="none",
                  label=f"{names.get(run, run)} (RL), greedy: {cost}")  # fmt: skip
    axis.set_xscale("log")
    from matplotlib.ticker import FuncFormatter, LogLocator

    axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.xaxis.set_minor_formatter(FuncFormatter(lambda value, _: ""))
    axis.set_xlabel("tokens generated per question at test time (log scale; discarded samples and pruned beams included)")
    axis.set_ylabel("held-out accuracy")
    axis.set_title(title, fontsize=10)
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=7, loc="lower right")
    figure.text(0.01, 0.01, f"The verifiers were trained on m/n step labels whose rollouts generated {label_tokens / 1e3:,.0f}k tokens.", fontsize=7)
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    return save_figure(figure, out)
