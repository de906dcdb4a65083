"""The suites' reports: the demo's `report.json`, `report.md` and `curves.png`; the levers suite's markdown.

Numbers are read from the eval summaries the demo wrote; nothing here is computed twice or typed in.
"""

from __future__ import annotations

import json
from pathlib import Path

from rl.eval_metrics import paired_difference
from rl.plot import plot_runs, read_metrics

EDGE_STEPS = 10  # "first/last 10 training steps" of the length-growth check

RUN_LABELS = {"sft": "base (SFT warm start)", "r1_zero": "R1-Zero (correctness + format)", "dont_overthink": "don't overthink (+ length)"}


def reasoning_mode(completion: str) -> str:
    """Which of the warm start's modes a completion follows: guess, derive, recheck (or other)."""
    reasoning = completion.split("</think>")[0]
    if "double-check" in reasoning:
        return "recheck"
    if " = " in reasoning:
        return "derive"
    return "guess" if "the answer is" in reasoning else "other"


def mode_shares(samples_file: Path) -> dict[str, float]:
    """Share of each reasoning mode among the samples of one eval (what RL changed, read at a glance)."""
    modes = [reasoning_mode(json.loads(line)["completion"]) for line in samples_file.read_text().splitlines() if line.strip()]
    return {mode: round(modes.count(mode) / len(modes), 3) for mode in ("guess", "derive", "recheck", "other")} if modes else {}


def training_lengths(run_dir: Path, edge: int = EDGE_STEPS) -> dict:
    """Mean sampled completion tokens over the first and the last `edge` training steps of an RL run."""
    lengths = [row["completions/mean_length"] for row in read_metrics(run_dir) if row.get("completions/mean_length") is not None]
    if not lengths:
        return {}
    return {
        f"first_{edge}_steps_mean_tokens": round(sum(lengths[:edge]) / len(lengths[:edge]), 2),
        f"last_{edge}_steps_mean_tokens": round(sum(lengths[-edge:]) / len(lengths[-edge:]), 2),
    }


def run_entry(eval_dir: Path, wall_seconds: dict[str, float], name: str) -> dict:
    """One run's held-out numbers: greedy accuracy/tokens at the top, the sampled eval under `sampled`."""
    greedy = json.loads((eval_dir / "greedy" / "summary.json").read_text())
    sampled = json.loads((eval_dir / "sampled" / "summary.json").read_text())
    k = sampled["samples_per_question"]
    train_stage = "sft" if name == "sft" else f"rl-{name}"
    return {
        "accuracy": greedy["accuracy"],
        "mean_tokens": greedy["mean_tokens"],
        "mean_tokens_correct": greedy["mean_tokens_correct"],
        "mean_tokens_incorrect": greedy["mean_tokens_incorrect"],
        "format_rate": greedy["format_rate"],
        "questions": greedy["questions"],
        "sampled": {key: sampled[key] for key in ("pass@1", f"pass@{k}", f"maj@{k}", "mean_tokens", "format_rate", "questions")},
        "greedy_modes": mode_shares(eval_dir / "greedy" / "samples.jsonl"),
        "wall_seconds": {"train": wall_seconds.get(train_stage), "eval": wall_seconds.get(f"eval-{name}")},
    }


def greedy_correct(eval_dir: Path) -> dict[str, bool]:
    """Question id -> greedy correctness, from one eval's samples.jsonl."""
    rows = [json.loads(line) for line in (eval_dir / "greedy" / "samples.jsonl").read_text().splitlines() if line.strip()]
    return {row["id"]: row["correct"] for row in rows}


def paired(out: Path, first: str, second: str) -> dict:
    """Paired greedy accuracy difference `second - first` over the questions both evals graded, with its 95% interval."""
    a, b = greedy_correct(out / "eval" / first), greedy_correct(out / "eval" / second)
    ids = [question for question in a if question in b]
    return paired_difference([a[i] for i in ids], [b[i] for i in ids])


def comparisons(runs: dict, out: Path | None = None) -> dict:
    """The demo's claims as numbers: RL gain over SFT, and what the length penalty costs and saves.

    With `out` (the demo directory), the two accuracy claims also come as paired differences with a
    95% interval (`*_paired`), read from the per-question greedy samples.
    """
    sft, r1, short = runs["sft"], runs["r1_zero"], runs["dont_overthink"]
    first, last = f"first_{EDGE_STEPS}_steps_mean_tokens", f"last_{EDGE_STEPS}_steps_mean_tokens"
    r1_train = r1.get("training", {})
    return {
        "rl_gain_points": round(100 * (r1["accuracy"] - sft["accuracy"]), 2),
        "r1_zero_training_length_growth": round(r1_train[last] / r1_train[first], 3) if r1_train.get(first) else None,
        "length_ratio_dont_overthink_vs_r1_zero": round(short["mean_tokens"] / r1["mean_tokens"], 3) if r1["mean_tokens"] else None,
        "accuracy_change_points_dont_overthink_vs_r1_zero": round(100 * (short["accuracy"] - r1["accuracy"]), 2),
        **({"rl_gain_paired": paired(out, "sft", "r1_zero"), "dont_overthink_vs_r1_zero_paired": paired(out, "r1_zero", "dont_overthink")}
           if out is not None else {}),
    }  # fmt: skip


def seconds(value: float | None) -> str:
    """A stage's wall time for a table cell; `-` for a stage that did not run (the shipped base was not trained here)."""
    return "-" if value is None else f"{value:.0f}"


def markdown(report: dict) -> str:
    runs = report["runs"]
    k = next(iter(runs.values()))["sampled"]
    k_keys = [key for key in k if key.startswith(("pass@", "maj@")) and key != "pass@1"]
    lines = [
        f"# Demo report (seed {report['seed']})",
        "",
        f"Held-out questions: {next(iter(runs.values()))['questions']} (greedy); the sampled columns use the first "
        f"{next(iter(runs.values()))['sampled']['questions']} of them.",
        "",
        "| run | accuracy | mean tokens | tokens (correct) | format | sampled pass@1 | " + " | ".join(f"sampled {key}" for key in k_keys)
        + " | sampled mean tokens | train s | eval s |",
        "|---|---|---|---|---|---|" + "---|" * len(k_keys) + "---|---|---|",
    ]
    for name, run in runs.items():
        cells = [
            RUN_LABELS.get(name, name), f"{run['accuracy']:.3f}", f"{run['mean_tokens']:.1f}",
            "-" if run["mean_tokens_correct"] is None else f"{run['mean_tokens_correct']:.1f}", f"{run['format_rate']:.2f}",
            f"{run['sampled']['pass@1']:.3f}", *(f"{run['sampled'][key]:.3f}" for key in k_keys),
            f"{run['sampled']['mean_tokens']:.1f}", seconds(run["wall_seconds"]["train"]), seconds(run["wall_seconds"]["eval"]),
        ]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    checks = report["comparisons"]
    lines += [
        "",
        f"- RL gain (R1-Zero vs SFT, greedy accuracy): {checks['rl_gain_points']:+.1f} points",
        f"- R1-Zero training length (sampled, mean tokens): first {EDGE_STEPS} steps "
        f"{runs['r1_zero']['training'].get(f'first_{EDGE_STEPS}_steps_mean_tokens')}, last {EDGE_STEPS} steps "
        f"{runs['r1_zero']['training'].get(f'last_{EDGE_STEPS}_steps_mean_tokens')} (x{checks['r1_zero_training_length_growth']})",
        f"- Length, don't overthink / R1-Zero (greedy mean tokens): {checks['length_ratio_dont_overthink_vs_r1_zero']}",
        f"- Accuracy, don't overthink vs R1-Zero: {checks['accuracy_change_points_dont_overthink_vs_r1_zero']:+.1f} points",
        *(
            f"- Paired, {label}: {pair['points']:+.1f} points, 95% interval [{pair['ci95_low']:+.1f}, {pair['ci95_high']:+.1f}] "
            f"over {pair['questions']} questions ({pair['second_only']} right only after, {pair['first_only']} only before)"
            for label, pair in (("R1-Zero vs base", checks.get("rl_gain_paired")),
                                ("don't overthink vs R1-Zero", checks.get("dont_overthink_vs_r1_zero_paired"))) if pair
        ),
        f"- Base: {report.get('base', {}).get('source', '?')} (recipe {report.get('base', {}).get('recipe_sha')})"
        + (f"; built here {report['base']['built_vs_shipped_points']:+.1f} points vs the shipped one's {report['base']['shipped_accuracy']:.3f}"
           if "built_vs_shipped_points" in report.get("base", {}) else ""),
        f"- Total wall time: {report['total_wall_seconds']:.0f} s ("
        + ", ".join(f"{stage} {seconds:.0f} s" for stage, seconds in report["stage_wall_seconds"].items()) + ")",
        "",
        "Reasoning modes of the greedy held-out answers (guess: answer first; derive: steps; recheck: steps + re-checks):",
        "",
        "| run | guess | derive | recheck | other |",
        "|---|---|---|---|---|",
        *(
            f"| {RUN_LABELS.get(name, name)} | " + " | ".join(f"{run['greedy_modes'].get(m, 0):.2f}" for m in ("guess", "derive", "recheck", "other")) + " |"
            for name, run in runs.items()
        ),
        "",
        "![curves](curves.png)",
        "",
    ]
    return "\n".join(lines)


def base_entry(origin: dict, sft_run: dict) -> dict:
    """Where the base came from; a base built here is compared with the shipped one's recorded held-out accuracy."""
    entry = {key: origin.get(key) for key in ("source", "recipe_sha", "shipped_recipe_sha")}
    shipped = origin.get("shipped_heldout")
    if origin.get("source") == "built" and shipped and shipped.get("questions") == sft_run["questions"]:
        entry["shipped_accuracy"] = shipped["accuracy"]
        entry["built_vs_shipped_points"] = round(100 * (sft_run["accuracy"] - shipped["accuracy"]), 2)
    return entry


def write_report(settings, wall_seconds: dict[str, float], origin: dict | None = None) -> dict:
    """Write report.json, report.md and curves.png into the demo directory; returns the report.

    `origin`: where the base came from (`rl.demo.pipeline.base_model`); recorded as `report["base"]`.
    """
    import torch

    out = Path(settings.out_dir)
    runs = {name: run_entry(out / "eval" / name, wall_seconds, name) for name in RUN_LABELS}
    for name in runs:
        if name != "sft":
            runs[name]["training"] = training_lengths(out / name)
    report = {
        "seed": settings.seed,
        "runs": runs,
        "base": base_entry(origin or {}, runs["sft"]),
        "comparisons": comparisons(runs, out),
        "stage_wall_seconds": wall_seconds,
        "torch_threads": torch.get_num_threads(),
        "total_wall_seconds": round(sum(wall_seconds.values()), 1),
    }
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(markdown(report))
    rl_runs = [name for name in RUN_LABELS if name != "sft"]
    plot_runs([out / name for name in rl_runs], out / "curves.png", labels=rl_runs, metrics=None)
    return report


def levers_markdown(report: dict) -> str:
    """The levers suite's table: every method's greedy and sampled accuracy, tokens and wall time."""
    methods = report["methods"]
    k_key = next(key for key in next(iter(methods.values())) if key.startswith("sampled_maj@"))
    lines = [
        f"# Which length control? (seed {report['seed']}, {report['held_out_questions']} held-out questions)",
        "",
        "Every RL lever starts from the same warm start with the same settings (seed, steps, batch, learning rate,",
        "temperature); only `rewards` differ (`shared_settings` in report.json). `sft_shortest` is SFT on the",
        "shortest correct of 4 samples per training question, no RL. Greedy decoding unless marked sampled.",
        "",
        f"| method | accuracy | mean tokens | sampled pass@1 | sampled {k_key.split('_')[1]} | sampled mean tokens | wall s |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, m in sorted(methods.items(), key=lambda item: -item[1]["accuracy"]):
        wall = "-" if m["wall_seconds"] is None else f"{m['wall_seconds']:.0f}"
        lines.append(f"| {name} | {m['accuracy']:.3f} | {m['mean_tokens']:.1f} | {m['sampled_pass@1']:.3f} | {m[k_key]:.3f} | "
                     f"{m['sampled_mean_tokens']:.1f} | {wall} |")  # fmt: skip
    lines += ["", f"Total wall time: {report['total_wall_seconds']:.0f} s", "", "![pareto](pareto.png)", "", "![test time](test_time.png)", ""]
    return "\n".join(lines)


def seeds_markdown(summary: dict, seeds: str, questions: int) -> str:
    """The levers suite over several seeds: each method's mean accuracy and tokens with their range."""
    lines = [f"# Which length control? Seeds {seeds} ({questions} held-out questions, greedy)", "",
             "| method | accuracy (mean, range) | mean tokens (mean, range) |", "|---|---|---|"]  # fmt: skip
    for name, values in sorted(summary.items(), key=lambda item: -sum(item[1]["accuracy"]) / len(item[1]["accuracy"])):
        acc, tok = values["accuracy"], values["mean_tokens"]
        lines.append(f"| {name} | {sum(acc) / len(acc):.3f} ({min(acc):.3f}-{max(acc):.3f}) | {sum(tok) / len(tok):.1f} ({min(tok):.1f}-{max(tok):.1f}) |")
    lines += ["", "![pareto over seeds](pareto_seeds.png)", "", "![test time over seeds](test_time_seeds.png)", ""]
    return "\n".join(lines)
