"""Shorten an overthinker: `python -m rl demo --suite shorten` (`make shorten`).

From the demo's R1-Zero final model (every greedy answer re-checks itself, ~80 tokens where ~31
suffice), each method trains with the demo's R1-Zero settings and the same step budget; only its
reward, or its recipe, differs (asserted): `length` (ours), `length` + dynamic sampling, the DLER
recipe, `kimi_length`, `length_target`. Held-out accuracy and tokens are graded during training;
every final model is evaluated greedily and with K samples on the first 256 held-out questions.
Writes `report.json`, `report.md` and `shorten.png`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from rl.demo.levers import lever_rewards
from rl.demo.pipeline import DemoSettings, Stages, eval_job, rl_job, run_config
from rl.errors import UserError

logger = logging.getLogger("rl.demo")
START = "r1_zero"  # the demo run whose final model every method starts from
REFERENCE = "length"  # the method the others are compared with for "only the reward / recipe differs"
HELD_OUT_QUESTIONS = 256
STEPS = 40  # the step budget of every method
TARGET_TOKENS_RATIO = 0.45  # of R1-Zero's held-out mean tokens (greedy) ...
TARGET_ACCURACY_POINTS = -1.0  # ... with greedy accuracy at most 1 point below R1-Zero's
# Dynamic sampling in the suite: DAPO's filter (groups neither all right nor all wrong), at most 3 generation rounds a step.
DYNAMIC_SAMPLING = {"metric": "correctness", "max_rounds": 3}
# DLER's truncation budget here: a plain derivation takes ~31-40 tokens, R1-Zero's re-checking answers ~80.
DLER_BUDGET = 48
# Held-out grading during training (every method alike, with the start model's budget so that a cut never scores).
EVAL_DURING_TRAINING = {"every_steps": 10, "limit": 64, "greedy": True, "max_new_tokens": 128}
# What each method may change besides `rewards` (dotted config keys); everything else equals REFERENCE's config.
RECIPE_KEYS = {
    "length+dynamic_sampling": {"dynamic_sampling"},
    "dler": {"dynamic_sampling", "trainer.max_completion_length", "trainer.scale_rewards", "trainer.epsilon_high"},
}


def method_overrides(start_rewards: dict, max_completion_length: int, length_settings: dict) -> dict[str, list[str]]:
    """Each method's `--set` overrides on the R1-Zero preset: its reward stack and, for two of them, its recipe.

    `length`, `kimi_length`, `length_target` add one length reward to R1-Zero's correctness + format,
    with the levers suite's settings (`rl.demo.levers.lever_rewards`). `dler` keeps R1-Zero's stack and
    takes DLER's recipe (arXiv 2510.15110; `configs/dler.yaml`): a truncation budget that pays nothing
    for an unfinished answer, batch-wise reward normalisation, clip-higher and dynamic sampling.
    """
    stacks = lever_rewards(start_rewards, max_completion_length, length_settings)
    rewards = lambda stack: f"rewards={json.dumps(stack)}"  # noqa: E731
    dynamic_sampling = f"dynamic_sampling={json.dumps(DYNAMIC_SAMPLING)}"
    return {
        "length": [rewards(stacks["length"])],
        "length+dynamic_sampling": [rewards(stacks["length"]), dynamic_sampling],
        "dler": [
            rewards(start_rewards),
            dynamic_sampling,
            f"trainer.max_completion_length={DLER_BUDGET}",
            "trainer.scale_rewards=batch",
            "trainer.epsilon_high=0.28",
        ],  # fmt: skip
        "kimi_length": [rewards(stacks["kimi_length"])],
        "length_target": [rewards(stacks["length_target"])],
    }


def directory_name(method: str) -> str:
    return method.replace("+", "_")


def flat_settings(config) -> dict:
    """The config as dotted keys (`rewards` and `dynamic_sampling` kept whole)."""

    def flatten(data: dict, prefix: str = "") -> dict:
        flat = {}
        for key, value in data.items():
            if isinstance(value, dict) and value and f"{prefix}{key}" not in ("rewards", "dynamic_sampling"):
                flat.update(flatten(value, f"{prefix}{key}."))
            else:
                flat[f"{prefix}{key}"] = value
        return flat

    return flatten(config.model_dump(mode="json"))


def check_only_reward_or_recipe_differs(configs: dict) -> None:
    """Every method's config equals REFERENCE's but for `rewards`, `trainer.output_dir` and its RECIPE_KEYS."""
    reference = flat_settings(configs[REFERENCE])
    for name, config in configs.items():
        mine = flat_settings(config)
        allowed = {"rewards", "trainer.output_dir", *RECIPE_KEYS.get(name, ())}
        differs = {key for key in mine.keys() | reference.keys() if mine.get(key) != reference.get(key)} - allowed
        if differs:
            raise AssertionError(
                f"shorten method {name} differs from {REFERENCE} in {', '.join(sorted(differs))}, not only its reward or recipe"
            )


def shorten_configs(settings: DemoSettings, start_model: str, eval_during_training: dict | None) -> dict:
    """Each method's config: the demo's R1-Zero preset from `start_model`, `STEPS` steps, its overrides (checked)."""
    from rl.config.trainer_args import completion_budget

    start = run_config(settings, START, start_model)
    length_settings = run_config(settings, "dont_overthink", start_model).rewards["length"]
    shared = [f"trainer.max_steps={STEPS}"]
    if eval_during_training:
        shared.append(f"eval_during_training={json.dumps(eval_during_training)}")
    shared += settings.overrides  # --set and the toy sizes last, so they win
    overrides = method_overrides(start.rewards, completion_budget(start.algorithm, start.trainer), length_settings)
    configs = {
        name: run_config(settings, START, start_model, [*shared, *extra], out_name=directory_name(name))
        for name, extra in overrides.items()
    }
    check_only_reward_or_recipe_differs(configs)
    return configs


def start_model(settings: DemoSettings, demo_dir: Path | None) -> str:
    """The demo's R1-Zero final model: `demo_dir/r1_zero` when finished, else the demo is run (its stages reused) to make it."""
    from rl.demo.pipeline import run_demo
    from rl.train.checkpoints import finished_step

    demo_dir = Path(demo_dir) if demo_dir is not None else settings.out_dir / "demo"
    model = demo_dir / START
    if finished_step(model) is None:
        logger.info("no finished R1-Zero model in %s: running the demo to make it", demo_dir)
        run_demo(dataclasses.replace(settings, out_dir=demo_dir, eval_limit=None))
    if finished_step(model) is None:
        raise UserError(f"{model}: the demo did not finish its R1-Zero run")
    return str(model)


def eval_curve(run_dir: Path) -> list[dict]:
    """(step, held-out accuracy, held-out mean tokens) logged during training, in step order."""
    from rl.eval.plot import read_metrics

    points = [row for row in read_metrics(run_dir) if row.get("eval/accuracy") is not None]
    return [
        {"step": row["step"], "accuracy": row["eval/accuracy"], "mean_tokens": row.get("eval/mean_tokens")}
        for row in points
    ]


def training_curve(run_dir: Path) -> list[dict]:
    """(step, accuracy, mean tokens) of the sampled training batches, in step order (when no held-out eval was logged)."""
    from rl.eval.plot import read_metrics

    rows = [
        row
        for row in read_metrics(run_dir)
        if row.get("accuracy") is not None and row.get("completions/mean_length") is not None
    ]
    return [
        {"step": row["step"], "accuracy": row["accuracy"], "mean_tokens": row["completions/mean_length"]}
        for row in rows
    ]


def dynamic_sampling_summary(run_dir: Path) -> dict | None:
    """Mean generation rounds and groups per step of a dynamic-sampling run, from its metrics.jsonl."""
    from rl.eval.plot import read_metrics

    rows = [row for row in read_metrics(run_dir) if row.get("dynamic_sampling/rounds") is not None]
    if not rows:
        return None
    mean = lambda key: round(sum(row[key] for row in rows) / len(rows), 3)  # noqa: E731
    return {key.split("/")[1] + "_per_step": mean(key) for key in
            ("dynamic_sampling/rounds", "dynamic_sampling/generated_groups", "dynamic_sampling/kept_groups", "dynamic_sampling/padded_groups")}  # fmt: skip


def summarize(out: Path, name: str, reference: dict | None) -> dict:
    """One model's held-out numbers (greedy, and sampled), relative to the start model's when `reference` is given."""
    from rl.demo.report import paired

    eval_dir = out / "eval" / directory_name(name)
    greedy = json.loads((eval_dir / "greedy" / "summary.json").read_text())
    sampled = json.loads((eval_dir / "sampled" / "summary.json").read_text())
    k = sampled["samples_per_question"]
    entry = {
        "accuracy": greedy["accuracy"], "mean_tokens": greedy["mean_tokens"], "questions": greedy["questions"],
        "sampled_pass@1": sampled["pass@1"], f"sampled_maj@{k}": sampled[f"maj@{k}"], "sampled_mean_tokens": sampled["mean_tokens"],
    }  # fmt: skip
    if reference is not None:
        entry["tokens_ratio"] = round(greedy["mean_tokens"] / reference["mean_tokens"], 3)
        entry["accuracy_points"] = round(100 * (greedy["accuracy"] - reference["accuracy"]), 2)
        entry["paired_vs_start"] = paired(out, START, directory_name(name))
        entry["meets_target"] = (
            entry["tokens_ratio"] <= TARGET_TOKENS_RATIO and entry["accuracy_points"] >= TARGET_ACCURACY_POINTS
        )
    return entry


def closest_to_target(methods: dict[str, dict]) -> str:
    """The method nearest the target: the most accurate of those at or below the token target (ties: fewer tokens);
    if none is, the shortest of those within the accuracy target; else the shortest."""
    short = [name for name, m in methods.items() if m["tokens_ratio"] <= TARGET_TOKENS_RATIO]
    if short:
        return max(short, key=lambda name: (methods[name]["accuracy"], -methods[name]["tokens_ratio"]))
    accurate = [name for name, m in methods.items() if m["accuracy_points"] >= TARGET_ACCURACY_POINTS] or list(methods)
    return min(accurate, key=lambda name: methods[name]["tokens_ratio"])


def run_shorten(
    settings: DemoSettings, demo_dir: Path | None = Path("runs/demo"), eval_during_training: dict | None = None
) -> dict:
    """All stages: the start model, each method's RL run, the evals, report.json/report.md and shorten.png."""
    from rl.demo.report import shorten_markdown
    from rl.eval.plot import plot_shorten

    if settings.eval_limit is None:
        settings = dataclasses.replace(settings, eval_limit=HELD_OUT_QUESTIONS)
    eval_during_training = EVAL_DURING_TRAINING if eval_during_training is None else eval_during_training
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    model = start_model(settings, demo_dir)
    configs = shorten_configs(settings, model, eval_during_training)
    base = run_config(settings, START, model)  # the evals: the start model's budget and sampling for every model
    stages = Stages(settings, total=2 * len(configs) + 2)
    # The methods' runs side by side (`settings.plan`), each eval after its own model.
    jobs = [rl_job(directory_name(name), config) for name, config in configs.items()]
    jobs.append(eval_job(settings, base, START, model))
    jobs += [eval_job(settings, base, directory_name(name), str(out / directory_name(name)), after=(f"rl-{directory_name(name)}",))
             for name in configs]  # fmt: skip
    stages.run_many(jobs)

    def report() -> dict:
        start = summarize(out, START, None)
        methods = {name: summarize(out, name, start) for name in configs}
        for name, config in configs.items():
            run_dir = out / directory_name(name)
            methods[name].update({
                "rewards": config.rewards, "recipe": {key: flat_settings(config).get(key) for key in sorted(RECIPE_KEYS.get(name, ()))},
                "train_seconds": stages.wall_seconds.get(f"rl-{directory_name(name)}"), "eval_during_training": eval_curve(run_dir),
                "training_curve": training_curve(run_dir),
                "dynamic_sampling": dynamic_sampling_summary(run_dir),
            })  # fmt: skip
        best = closest_to_target(methods)
        report = {
            "seed": settings.seed, "start_model": model, "steps": configs[REFERENCE].trainer["max_steps"], "held_out_questions": start["questions"], "start": start,
            "methods": methods, "target": {"tokens_ratio": TARGET_TOKENS_RATIO, "accuracy_points": TARGET_ACCURACY_POINTS,
                                           "best": best, "met": bool(methods[best]["meets_target"]),
                                           "accuracy_shortfall_points": round(max(0.0, TARGET_ACCURACY_POINTS - methods[best]["accuracy_points"]), 2),
                                           "tokens_ratio_excess": round(max(0.0, methods[best]["tokens_ratio"] - TARGET_TOKENS_RATIO), 3)},
            "shared_settings": {key: value for key, value in flat_settings(configs[REFERENCE]).items() if key not in ("rewards", "trainer.output_dir")},
            "eval_during_training": configs[REFERENCE].model_dump(mode="json").get("eval_during_training"),
            "stage_wall_seconds": stages.wall_seconds, "total_wall_seconds": stages.elapsed_seconds(), "stages_at_once": settings.plan.jobs,
        }  # fmt: skip
        held_out = all(m["eval_during_training"] for m in methods.values())
        curves = {name: m["eval_during_training" if held_out else "training_curve"] for name, m in methods.items()}
        questions = (configs[REFERENCE].eval_during_training.limit if held_out else None) or "all"
        source = f"first {questions} held-out questions, greedy" if held_out else "training batches, sampled"
        plot_shorten(
            curves,
            start,
            out / "shorten.png",
            TARGET_TOKENS_RATIO,
            f"Shortening R1-Zero's overthinker (seed {settings.seed})",
            source,
        )
        (out / "report.json").write_text(json.dumps(report, indent=2))
        (out / "report.md").write_text(shorten_markdown(report))
        return report

    return stages.run("report", report)
