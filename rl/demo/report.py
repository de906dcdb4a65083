"""The suites' reports: the demo's `report.json`, `report.md` and `curves.png`; the levers suite's markdown.

Numbers are read from the eval summaries the demo wrote; nothing here is computed twice or typed in.
"""

from __future__ import annotations

import json
from pathlib import Path

from rl.eval.metrics import paired_difference
from rl.eval.plot import plot_runs, read_metrics

EDGE_STEPS = 10  # "first/last 10 training steps" of the length-growth check

RUN_LABELS = {"sft": "base (SFT warm start)", "r1_zero": "R1-Zero (correctness + format)", "dont_overthink": "don't overthink (+ length)"}


def reasoning_mode(completion: str) -> str:
    """Which of the warm start's modes a completion follows: guess, derive, recheck (or other)."""
    reasoning = completion.split("</think>")[0]
    if "double-check" in reasoning or "验算" in reasoning:  # the language suite's traces re-check in Chinese too
        return "recheck"
    if " = " in reasoning:
        return "derive"
    return "guess" if "the answer is" in reasoning or "答" in reasoning else "other"


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
        f"- Total wall time: {report['total_wall_seconds']:.0f} s, {report.get('stages_at_once', 1)} stage(s) at a time with "
        f"{report.get('torch_threads')} torch thread(s) each (stage times: "
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


def write_report(settings, wall_seconds: dict[str, float], origin: dict | None = None, total_wall_seconds: float | None = None) -> dict:
    """Write report.json, report.md and curves.png into the demo directory; returns the report.

    `origin`: where the base came from (`rl.demo.pipeline.base_model`); recorded as `report["base"]`.
    `total_wall_seconds`: the stages' wall time together (`Stages.elapsed_seconds`; default: the sum of
    `wall_seconds`, right when the stages ran one after the other).
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
        "torch_threads": torch.get_num_threads() if settings.plan.threads is None else settings.plan.threads,
        "stages_at_once": settings.plan.jobs,
        "total_wall_seconds": round(sum(wall_seconds.values()), 1) if total_wall_seconds is None else total_wall_seconds,
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


# The language suite (`rl.demo.language`): acceptance thresholds of its claim, checked in the report.
CONSISTENCY_TARGET = 0.95  # held-out greedy consistency with `language`
CONSISTENCY_GAIN = 0.2  # ... and at least this much above the run without it
ACCURACY_TOLERANCE_POINTS = 2.0  # ... at an accuracy within this many points


def language_run_entry(eval_dir: Path, wall_seconds: dict[str, float], stage: str) -> dict:
    """One model's held-out numbers for the language suite: greedy accuracy, tokens and consistency (and
    the share of answers that mix, i.e. score below 1), and the same from the sampled eval."""
    greedy = json.loads((eval_dir / "greedy" / "summary.json").read_text())
    sampled = json.loads((eval_dir / "sampled" / "summary.json").read_text())

    def mixing_rate(samples_file: Path) -> float:
        shares = [json.loads(line)["language_share"] for line in samples_file.read_text().splitlines() if line.strip()]
        return round(sum(share < 1 for share in shares) / len(shares), 4) if shares else 0.0

    return {
        "accuracy": greedy["accuracy"], "mean_tokens": greedy["mean_tokens"], "language_consistency": greedy["language_consistency"],
        "mixing_rate": mixing_rate(eval_dir / "greedy" / "samples.jsonl"), "format_rate": greedy["format_rate"],
        "questions": greedy["questions"], "greedy_modes": mode_shares(eval_dir / "greedy" / "samples.jsonl"),
        "sampled": {"pass@1": sampled["pass@1"], "mean_tokens": sampled["mean_tokens"], "language_consistency": sampled["language_consistency"],
                    "mixing_rate": mixing_rate(eval_dir / "sampled" / "samples.jsonl"), "questions": sampled["questions"],
                    "samples_per_question": sampled["samples_per_question"]},
        "wall_seconds": {"train": wall_seconds.get(stage), "eval": wall_seconds.get(f"eval-{eval_dir.name}")},
    }  # fmt: skip


def consistency_training(run_dir: Path, edge: int = EDGE_STEPS) -> dict:
    """Mean `language/consistency_mean` of the sampled training completions over the first and last `edge` steps."""
    values = [row["language/consistency_mean"] for row in read_metrics(run_dir) if row.get("language/consistency_mean") is not None]
    if not values:
        return {}
    return {f"first_{edge}_steps": round(sum(values[:edge]) / len(values[:edge]), 4), f"last_{edge}_steps": round(sum(values[-edge:]) / len(values[-edge:]), 4)}


def mixing_example(out: Path, reference: str, other: str) -> dict | None:
    """The first held-out question whose greedy answer mixes under `reference` and not under `other`: both answers."""
    def answers(name: str) -> dict[str, dict]:
        rows = [json.loads(line) for line in (out / "eval" / name / "greedy" / "samples.jsonl").read_text().splitlines() if line.strip()]
        return {row["id"]: row for row in rows}

    first, second = answers(reference), answers(other)
    for question, row in first.items():
        if row["language_share"] < 1 and question in second and second[question]["language_share"] == 1:
            return {"question": row["question"], reference: row["completion"], other: second[question]["completion"]}
    return None


def language_report(out: Path, names: dict[str, str], configs: dict, shared: dict, wall_seconds: dict[str, float], warm_start: dict,
                    total_wall_seconds: float | None = None) -> dict:  # fmt: skip
    """Write report.json, report.md and language.png of the language suite; returns the report.

    `names`: {"warm_start", "reference", "with_language"} -> the model's directory name under `out/eval`.
    `configs`: the two RL runs' configs, `shared`: what they share (all but rewards and output_dir);
    `warm_start`: how the mixing warm start was made; `total_wall_seconds`: the stages' wall time
    together (default: the sum of `wall_seconds`).
    """
    import torch

    warm, reference, other = names["warm_start"], names["reference"], names["with_language"]
    runs = {warm: language_run_entry(out / "eval" / warm, wall_seconds, "sft-mixing")}
    for name in (reference, other):
        runs[name] = {**language_run_entry(out / "eval" / name, wall_seconds, f"rl-{name}"),
                      "training_consistency": consistency_training(out / name), "rewards": configs[name].rewards}  # fmt: skip
    gain = runs[other]["language_consistency"] - runs[reference]["language_consistency"]
    accuracy_points = 100 * (runs[other]["accuracy"] - runs[reference]["accuracy"])
    report = {
        "held_out_questions": runs[reference]["questions"], "warm_start": warm_start, "runs": runs,
        "comparisons": {
            "consistency_gain": round(gain, 4), "accuracy_change_points": round(accuracy_points, 2),
            "accuracy_paired": paired(out, reference, other),
            "acceptance": {f"consistency_at_least_{CONSISTENCY_TARGET}": runs[other]["language_consistency"] >= CONSISTENCY_TARGET,
                           f"gain_at_least_{CONSISTENCY_GAIN}": gain >= CONSISTENCY_GAIN,
                           f"accuracy_within_{ACCURACY_TOLERANCE_POINTS:g}_points": abs(accuracy_points) <= ACCURACY_TOLERANCE_POINTS},
        },
        "example": mixing_example(out, reference, other),
        "shared_settings": shared,
        "stage_wall_seconds": wall_seconds,
        "total_wall_seconds": round(sum(wall_seconds.values()), 1) if total_wall_seconds is None else total_wall_seconds,
        "torch_threads": torch.get_num_threads(),
    }  # fmt: skip
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(language_markdown(report, names))
    plot_language(out, names)
    return report


def plot_language(out: Path, names: dict[str, str]) -> Path:
    """language.png: the training consistency and accuracy of both RL runs against the step."""
    from rl.eval.plot import curves_figure, pyplot

    labels = {names["reference"]: "correctness + format", names["with_language"]: "+ language"}
    figure = curves_figure({label: read_metrics(out / name) for name, label in labels.items()}, ["language/consistency_mean", "accuracy"])
    figure.suptitle("Language consistency and accuracy of the training samples (EMA 0.6, raw faint)")
    figure.tight_layout()
    figure.savefig(out / "language.png", dpi=110)
    pyplot().close(figure)
    return out / "language.png"


def language_markdown(report: dict, names: dict[str, str]) -> str:
    """The language suite's table, its claim as checked numbers, and an example answer of each run."""
    runs, checks = report["runs"], report["comparisons"]
    labels = {names["warm_start"]: "warm start (mixing)", names["reference"]: "correctness + format", names["with_language"]: "+ language"}
    edge = f"{EDGE_STEPS}"
    lines = [
        f"# Language consistency ({report['held_out_questions']} held-out questions, greedy; sampled: "
        f"{runs[names['reference']]['sampled']['samples_per_question']} samples on the first {runs[names['reference']]['sampled']['questions']})",
        "",
        "| run | accuracy | mean tokens | consistency | answers mixing | greedy modes guess / derive / recheck | sampled consistency | "
        f"sampled pass@1 | training consistency, first -> last {edge} steps | train s | eval s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        training = run.get("training_consistency") or {}
        trend = f"{training[f'first_{edge}_steps']:.3f} -> {training[f'last_{edge}_steps']:.3f}" if training else "-"
        lines.append(
            f"| {labels[name]} | {run['accuracy']:.3f} | {run['mean_tokens']:.1f} | {run['language_consistency']:.3f} | {run['mixing_rate']:.2f} | "
            + " / ".join(f"{run['greedy_modes'].get(mode, 0):.2f}" for mode in ("guess", "derive", "recheck")) + " | "
            f"{run['sampled']['language_consistency']:.3f} | {run['sampled']['pass@1']:.3f} | {trend} | "
            f"{seconds(run['wall_seconds']['train'])} | {seconds(run['wall_seconds']['eval'])} |"
        )
    pair = checks["accuracy_paired"]
    lines += [
        "",
        f"- Consistency, + language vs correctness + format: {checks['consistency_gain']:+.3f}",
        f"- Accuracy, + language vs correctness + format: {checks['accuracy_change_points']:+.1f} points, paired 95% interval "
        f"[{pair['ci95_low']:+.1f}, {pair['ci95_high']:+.1f}] ({pair['second_only']} right only with language, {pair['first_only']} only without)",
        "- Acceptance: " + ", ".join(f"{key} {'yes' if value else 'NO'}" for key, value in checks["acceptance"].items()),
        f"- Total wall time: {report['total_wall_seconds']:.0f} s ("
        + ", ".join(f"{stage} {value:.0f} s" for stage, value in report["stage_wall_seconds"].items()) + ")",
        "",
        "![consistency and accuracy against the training step](language.png)",
        "",
    ]
    example = report.get("example")
    if example:
        lines += [f"Example, `{example['question']}`:", ""]
        lines += [f"- {labels[name]}: `{example[name].strip()}`" for name in (names["reference"], names["with_language"])]
        lines.append("")
    return "\n".join(lines)


def shorten_markdown(report: dict) -> str:
    """The shorten suite's table: each method's held-out greedy/sampled numbers against the start model's, and the target."""
    start, methods, target = report["start"], report["methods"], report["target"]
    k_key = next(key for key in start if key.startswith("sampled_maj@"))
    lines = [
        f"# Shortening R1-Zero's overthinker (seed {report['seed']}, {report['held_out_questions']} held-out questions, {report['steps']} steps each)",
        "",
        "Every method starts from the demo's R1-Zero model with the same settings; only its reward or recipe differs",
        "(`shared_settings` and each method's `rewards`/`recipe` in report.json). Greedy unless marked sampled; paired = the",
        "accuracy difference to the start model on the same questions, with its 95% interval.",
        "",
        f"| method | accuracy | mean tokens | tokens vs start | accuracy vs start (paired 95%) | sampled pass@1 | sampled {k_key.split('_')[1]} "
        "| sampled mean tokens | rounds/step | train s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| R1-Zero (start) | {start['accuracy']:.3f} | {start['mean_tokens']:.1f} | 1.00x | - | {start['sampled_pass@1']:.3f} | {start[k_key]:.3f} "
        f"| {start['sampled_mean_tokens']:.1f} | - | - |",
    ]
    for name, m in sorted(methods.items(), key=lambda item: item[1]["tokens_ratio"]):
        pair = m["paired_vs_start"]
        rounds = m["dynamic_sampling"]["rounds_per_step"] if m.get("dynamic_sampling") else None
        lines.append(
            f"| {name} | {m['accuracy']:.3f} | {m['mean_tokens']:.1f} | {m['tokens_ratio']:.2f}x | {m['accuracy_points']:+.1f} "
            f"[{pair['ci95_low']:+.1f}, {pair['ci95_high']:+.1f}] | {m['sampled_pass@1']:.3f} | {m[k_key]:.3f} | {m['sampled_mean_tokens']:.1f} "
            f"| {'-' if rounds is None else f'{rounds:.2f}'} | {seconds(m['train_seconds'])} |"
        )
    best = methods[target["best"]]
    verdict = "met" if target["met"] else "not met"
    shortfalls = [f"{target['accuracy_shortfall_points']:.1f} point(s) short of the accuracy target"] if target["accuracy_shortfall_points"] else []
    shortfalls += [f"{target['tokens_ratio_excess']:.2f}x above the token target"] if target["tokens_ratio_excess"] else []
    lines += [
        "",
        f"Target: at most {target['tokens_ratio']}x the start model's tokens with accuracy at most {-target['accuracy_points']:.0f} point below it: "
        f"{verdict}; closest: {target['best']}, {best['tokens_ratio']:.2f}x the tokens at {best['accuracy_points']:+.1f} points"
        + (f" ({' and '.join(shortfalls)})." if shortfalls else "."),
        "",
        f"Total wall time: {report['total_wall_seconds']:.0f} s (" + ", ".join(f"{stage} {s:.0f} s" for stage, s in report["stage_wall_seconds"].items()) + ")",
        "",
        "![held-out accuracy and tokens during training](shorten.png)",
        "",
    ]
    return "\n".join(lines)


def test_time_markdown(report: dict) -> str:
    """The test-time suite's tables (accuracy @ tokens per question of every method and budget; the RL models) and findings."""
    rl_names = {"r1_zero": "R1-Zero (RL)", "dont_overthink": "don't overthink (RL)"}
    curves = dict(report["curves"])
    for beam in report["beam"].values():
        if beam["aggregation"] != "last":
            curves[f"beam search, process verifier ({beam['aggregation']})"] = [(beam["generated_tokens_per_question"], beam["answer_accuracy"], f"N={beam['beams']}")]
    budgets = sorted({int(budget.split("=")[1]) for curve in curves.values() for _, _, budget in curve})
    lines = [
        f"# Test-time vs train-time compute (seed {report['seed']}, {report['held_out_questions']} held-out questions)",
        "",
        f"From the warm start (no RL); samples and beam steps {report['sampling']}. Each cell: held-out accuracy @ tokens",
        "generated per question (discarded samples and pruned beams included); budget: k samples, or N beams.",
        "",
        "| method | " + " | ".join(str(budget) for budget in budgets) + " |",
        "|---|" + "---|" * len(budgets),
    ]
    for name, (tokens, accuracy) in report["points"].items():
        lines.append(f"| {name} | {accuracy:.3f} @ {tokens:.0f} |" + " |" * (len(budgets) - 1))
    for name, curve in curves.items():
        cells = {int(budget.split("=")[1]): f"{accuracy:.3f} @ {tokens:.0f}" for tokens, accuracy, budget in curve}
        lines.append(f"| {name} | " + " | ".join(cells.get(budget, "") for budget in budgets) + " |")
    lines += ["", "| RL model, greedy | accuracy | tokens per question | tokens generated in training |", "|---|---|---|---|"]
    for run, entry in report["rl"].items():
        trained = entry["training_generated_tokens"]
        lines.append(f"| {rl_names.get(run, run)} | {entry['accuracy']:.3f} | {entry['tokens_per_question']:.1f} | {'-' if trained is None else f'{trained:,}'} |")
    lines += ["", f"The verifiers' step labels generated {report['verifier_label_tokens']:,} tokens (solutions and rollouts)."]
    for kind, auc in report["verifier_auc"].items():
        value = "-" if auc["auc"] is None else f"{auc['auc']:.3f}"
        final = "-" if auc["final_auc"] is None else f"{auc['final_auc']:.3f}"
        lines.append(f"- {kind} verifier, held-out steps: AUC {value} against m/n > {auc['threshold']} ({auc['steps']} steps, "
                     f"{auc['good_steps']} good); on final steps {final} ({auc['solutions']} solutions)")  # fmt: skip
    for row in report["beam_vs_majority"]:
        if row["points"] is None:
            lines.append(f"- beam N={row['beams']}: {row['beam_accuracy']:.3f} at {row['tokens']:.0f} tokens, beyond the largest maj@k's tokens")
        else:
            lines.append(f"- beam N={row['beams']}: {row['beam_accuracy']:.3f} at {row['tokens']:.0f} tokens; maj@k at the same tokens "
                         f"{row['majority_at_same_tokens']:.3f} ({row['points']:+.1f} points)")  # fmt: skip
    lines += ["", f"Total wall time: {report['total_wall_seconds']:.0f} s", "", "![test-time vs train-time compute](test_time_vs_train.png)", ""]
    return "\n".join(lines)
