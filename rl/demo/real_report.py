"""The real-model suite's report: report.json, report.md and curves.png, read from the evals and metrics it wrote."""

from __future__ import annotations

import json
import platform
from pathlib import Path

from rl.eval.metrics import paired_difference
from rl.eval.plot import plot_runs, read_metrics

EDGE_STEPS = 10
LABELS = {"untouched": "untouched model", "r1_zero": "R1-Zero (correctness + format)", "dont_overthink": "don't overthink (+ length)"}


def _summary(out: Path, name: str, kind: str) -> dict:
    return json.loads((out / "eval" / name / kind / "summary.json").read_text())


def _correct_by_id(out: Path, name: str, kind: str = "greedy") -> dict[str, bool]:
    rows = [json.loads(line) for line in (out / "eval" / name / kind / "samples.jsonl").read_text().splitlines() if line.strip()]
    return {row["id"]: row["correct"] for row in rows}


def paired(out: Path, first: str, second: str) -> dict | None:
    """Paired greedy accuracy difference `second - first` on the questions both graded (None with fewer than 2)."""
    a, b = _correct_by_id(out, first), _correct_by_id(out, second)
    ids = [question for question in a if question in b]
    return paired_difference([a[i] for i in ids], [b[i] for i in ids]) if len(ids) >= 2 else None


def training(run_dir: Path, edge: int = EDGE_STEPS) -> dict:
    """First/last `edge` steps of a run: sampled mean tokens, clipped ratio, training accuracy; and the step times."""
    rows = [row for row in read_metrics(run_dir) if row.get("completions/mean_length") is not None]

    def window(key: str, part: list[dict]) -> float | None:
        values = [row[key] for row in part if row.get(key) is not None]
        return round(sum(values) / len(values), 3) if values else None

    first, last = rows[:edge], rows[-edge:]
    return {
        "steps": len(rows),
        **{f"first_{edge}_{name}": window(key, first) for name, key in (("mean_tokens", "completions/mean_length"),
                                                                        ("clipped_ratio", "completions/clipped_ratio"), ("accuracy", "accuracy"))},
        **{f"last_{edge}_{name}": window(key, last) for name, key in (("mean_tokens", "completions/mean_length"),
                                                                      ("clipped_ratio", "completions/clipped_ratio"), ("accuracy", "accuracy"))},
        "rewards_errors": sum(row.get("rewards/errors", 0) or 0 for row in rows),
    }  # fmt: skip


def run_entry(out: Path, name: str, wall_seconds: dict[str, float]) -> dict:
    greedy, sampled = _summary(out, name, "greedy"), _summary(out, name, "sampled")
    k = sampled["samples_per_question"]
    entry = {
        **{key: greedy.get(key) for key in ("accuracy", "mean_tokens", "mean_tokens_correct", "mean_tokens_incorrect", "format_rate",
                                             "unfinished_rate", "questions")},
        "sampled": {key: sampled.get(key) for key in ("pass@1", f"pass@{k}", f"maj@{k}", "mean_tokens", "format_rate", "unfinished_rate",
                                                       "questions", "accuracy_by_length_quintile")},
        "wall_seconds": {"train": wall_seconds.get(f"rl-{name}"), "eval": wall_seconds.get(f"eval-{name}")},
    }  # fmt: skip
    if name == "untouched":
        bare = _summary(out, name, "bare")
        entry["bare_prompt"] = {key: bare.get(key) for key in ("accuracy", "mean_tokens", "format_rate", "unfinished_rate")}
        entry["steps_vs_bare_paired"] = _paired_kinds(out, name, "bare", "greedy")
    else:
        entry["training"] = training(out / name)
    return entry


def _paired_kinds(out: Path, name: str, first: str, second: str) -> dict | None:
    a, b = _correct_by_id(out, name, first), _correct_by_id(out, name, second)
    ids = [question for question in a if question in b]
    return paired_difference([a[i] for i in ids], [b[i] for i in ids]) if len(ids) >= 2 else None


def write_real_report(out: Path, configs: dict, wall_seconds: dict[str, float], total_wall_seconds: float) -> dict:
    """Write report.json, report.md and curves.png into `out`; returns the report."""
    import torch

    runs = {name: run_entry(out, name, wall_seconds) for name in LABELS}
    untouched, r1, short = runs["untouched"], runs["r1_zero"], runs["dont_overthink"]
    base = configs["r1_zero"]
    report = {
        "model": base.model.name_or_path,
        "task": {"source": base.data.source, **base.data.generated.model_dump(include={"train_size", "test_size", "max_operand", "seed"})},
        "runs": runs,
        "comparisons": {
            "rl_gain_points": round(100 * (r1["accuracy"] - untouched["accuracy"]), 2),
            "rl_gain_paired": paired(out, "untouched", "r1_zero"),
            "length_ratio_dont_overthink_vs_r1_zero": round(short["mean_tokens"] / r1["mean_tokens"], 3) if r1["mean_tokens"] else None,
            "accuracy_change_points_dont_overthink_vs_r1_zero": round(100 * (short["accuracy"] - r1["accuracy"]), 2),
            "dont_overthink_vs_r1_zero_paired": paired(out, "r1_zero", "dont_overthink"),
        },
        "stage_wall_seconds": wall_seconds,
        "total_wall_seconds": total_wall_seconds,
        "torch_threads": torch.get_num_threads(),
        "machine": {"cpus": __import__("os").cpu_count(), "processor": platform.processor() or platform.machine()},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    plot_runs([out / name for name in ("r1_zero", "dont_overthink")], out / "curves.png", labels=["R1-Zero", "don't overthink"])
    return report


def _fmt(value, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def _pair(pair: dict | None) -> str:
    if not pair:
        return "-"
    return (f"{pair['points']:+.1f} points, 95% interval [{pair['ci95_low']:+.1f}, {pair['ci95_high']:+.1f}] over {pair['questions']} "
            f"questions ({pair['second_only']} right only after, {pair['first_only']} only before)")  # fmt: skip


def markdown(report: dict) -> str:
    runs = report["runs"]
    k_keys = [key for key in runs["untouched"]["sampled"] if key.startswith(("pass@", "maj@")) and key != "pass@1"]
    untouched = runs["untouched"]
    lines = [
        f"# Real-model suite: {report['model']}",
        "",
        f"Task `{report['task']['source']}` (operands up to {report['task']['max_operand']}): {runs['untouched']['questions']} held-out "
        f"questions greedy; the sampled columns use the first {untouched['sampled']['questions']} of them, "
        f"{k_keys[0].split('@')[1] if k_keys else '?'} samples each.",
        "",
        "| model | accuracy | mean tokens | tokens (correct) | format | unfinished | sampled pass@1 | "
        + " | ".join(f"sampled {key}" for key in k_keys) + " | sampled mean tokens | train s | eval s |",
        "|---|---|---|---|---|---|---|" + "---|" * len(k_keys) + "---|---|---|",
    ]
    for name, run in runs.items():
        cells = [LABELS[name], _fmt(run["accuracy"]), _fmt(run["mean_tokens"], ".1f"), _fmt(run["mean_tokens_correct"], ".1f"),
                 _fmt(run["format_rate"], ".2f"), _fmt(run["unfinished_rate"], ".2f"), _fmt(run["sampled"]["pass@1"]),
                 *(_fmt(run["sampled"][key]) for key in k_keys), _fmt(run["sampled"]["mean_tokens"], ".1f"),
                 _fmt(run["wall_seconds"]["train"], ".0f"), _fmt(run["wall_seconds"]["eval"], ".0f")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    checks = report["comparisons"]
    quintiles = untouched["sampled"].get("accuracy_by_length_quintile") or []
    lines += [
        "",
        "## Why this task (the untouched model)",
        "",
        f"- It sometimes solves it: sampled pass@1 {_fmt(untouched['sampled']['pass@1'])}, "
        + ", ".join(f"{key} {_fmt(untouched['sampled'][key])}" for key in k_keys) + f"; greedy {_fmt(untouched['accuracy'])}.",
        f"- Writing the steps pays: greedy with the step-by-step prompt {_fmt(untouched['accuracy'])} vs a bare-answer prompt "
        f"{_fmt(untouched['bare_prompt']['accuracy'])} ({_fmt(untouched['bare_prompt']['mean_tokens'], '.1f')} tokens); paired, steps vs bare: "
        f"{_pair(untouched['steps_vs_bare_paired'])}.",
        "- Sampled accuracy by length quintile (shortest to longest): "
        + ", ".join(f"{q['min_tokens']}-{q['max_tokens']} tokens: {q['accuracy']:.2f}" for q in quintiles) + ".",
        "",
        "## Training",
        "",
        "| run | steps | sampled tokens, first/last 10 steps | clipped ratio, first/last 10 | training accuracy, first/last 10 | rewards/errors |",
        "|---|---|---|---|---|---|",
        *(
            f"| {LABELS[name]} | {t['steps']} | {_fmt(t['first_10_mean_tokens'], '.1f')} / {_fmt(t['last_10_mean_tokens'], '.1f')} | "
            f"{_fmt(t['first_10_clipped_ratio'], '.2f')} / {_fmt(t['last_10_clipped_ratio'], '.2f')} | "
            f"{_fmt(t['first_10_accuracy'], '.2f')} / {_fmt(t['last_10_accuracy'], '.2f')} | {t['rewards_errors']:.0f} |"
            for name, t in ((name, runs[name]["training"]) for name in ("r1_zero", "dont_overthink"))
        ),
        "",
        "## Claims",
        "",
        f"- R1-Zero vs untouched (greedy accuracy): {checks['rl_gain_points']:+.1f} points; paired: {_pair(checks['rl_gain_paired'])}",
        f"- Length, don't overthink / R1-Zero (greedy mean tokens): {checks['length_ratio_dont_overthink_vs_r1_zero']}",
        f"- Accuracy, don't overthink vs R1-Zero: {checks['accuracy_change_points_dont_overthink_vs_r1_zero']:+.1f} points; paired: "
        f"{_pair(checks['dont_overthink_vs_r1_zero_paired'])}",
        f"- Total wall time: {report['total_wall_seconds']:.0f} s on {report['machine']['cpus']} CPU(s), {report['torch_threads']} torch "
        "thread(s), one stage at a time (stage times: " + ", ".join(f"{s} {v:.0f} s" for s, v in report["stage_wall_seconds"].items()) + ")",
        "",
        "![curves](curves.png)",
        "",
    ]
    return "\n".join(lines)
