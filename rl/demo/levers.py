"""Every length control on one task: `python -m rl demo --suite levers` (`make levers`).

From the demo's warm start, with the demo's R1-Zero settings, each lever changes one thing:
SFT on the shortest correct samples (no RL), R1-Zero (the reference), and RL with each length-aware
reward in the registry. Each is evaluated on the held-out set (greedy, and K samples for maj@k), and
the suite writes `report.json`, `report.md`, `pareto.png` and `test_time.png`.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

from rl.demo.pipeline import (
    DemoSettings,
    Stages,
    base_model,
    dump_section,
    eval_stage,
    run_config,
    train_or_finished,
)
from rl.errors import UserError

logger = logging.getLogger("rl.demo")
REFERENCE = "r1_zero"
HELD_OUT_QUESTIONS = 256  # the levers compare many runs: the first 256 of the demo's held-out questions


def lever_rewards(base_rewards: dict, max_completion_length: int, length_settings: dict) -> dict[str, dict]:
    """The reward stack of each RL lever: R1-Zero's (correctness + format) plus one length reward.

    `cosine_length` replaces `correctness` (it pays correctness itself, scaled by length). `overlong`
    starts its soft zone at a quarter of the completion budget (`max_completion_length` tokens, the
    trainer's, which `cosine_length`, `overlong` and `length_target` take as their L_max by default)
    so that it acts as a length control here; `length_target` asks for 24 tokens, about one plain
    derivation on this task (L1 with a fixed budget); `length` is the demo's "don't overthink" setting.
    """
    plus = lambda extra: {**base_rewards, **extra}  # noqa: E731
    without_correctness = {name: value for name, value in base_rewards.items() if name != "correctness"}
    return {
        REFERENCE: dict(base_rewards),
        "length": plus({"length": length_settings}),
        "kimi_length": plus({"kimi_length": {"weight": 1.0}}),
        "cosine_length": {**without_correctness, "cosine_length": {"weight": 1.0}},
        "overlong": plus({"overlong": {"weight": 1.0, "soft_punish_cache": max_completion_length * 3 // 4}}),
        "length_target": plus({"length_target": {"weight": 1.0, "alpha": 0.005, "target_tokens": 24}}),
    }


def lever_configs(settings: DemoSettings, sft_model: str) -> dict:
    """Configs of the RL levers, loaded like any run's (the R1-Zero preset, its rewards replaced by `--set`).

    Identical but for `rewards` and `trainer.output_dir` (asserted).
    """
    from rl.config.trainer_args import completion_budget

    reference = run_config(settings, REFERENCE, sft_model)
    length_settings = run_config(settings, "dont_overthink", sft_model).rewards["length"]
    stacks = lever_rewards(reference.rewards, completion_budget(reference.algorithm, reference.trainer), length_settings)
    configs = {}
    for name, stack in stacks.items():
        configs[name] = run_config(settings, REFERENCE, sft_model, [f"rewards={json.dumps(stack)}"], out_name=name)
    check_only_the_lever_differs(configs)
    return configs


def shared_settings(config) -> dict:
    data = config.model_dump(mode="json")
    data.pop("rewards")
    data["trainer"] = {k: v for k, v in data["trainer"].items() if k != "output_dir"}
    return data


def check_only_the_lever_differs(configs: dict) -> None:
    reference = shared_settings(configs[REFERENCE])
    for name, config in configs.items():
        if shared_settings(config) != reference:
            raise AssertionError(f"lever {name} differs from {REFERENCE} in more than its rewards")


def majority_curve(samples_file: Path, k_max: int) -> list[tuple[float, float]]:
    """(mean total tokens of the first k samples, maj@k accuracy) for k = 1..k_max."""
    from rl.eval.summary import majority_correct

    by_question: dict[str, list[dict]] = {}
    for line in samples_file.read_text().splitlines():
        if line.strip():
            sample = json.loads(line)
            by_question.setdefault(sample["id"], []).append(sample)
    curve = []
    for k in range(1, k_max + 1):
        firsts = [sorted(samples, key=lambda s: s["sample"])[:k] for samples in by_question.values()]
        tokens = sum(sum(s["tokens"] for s in first) for first in firsts) / len(firsts)
        accuracy = sum(majority_correct(first) for first in firsts) / len(firsts)
        curve.append((round(tokens, 2), round(accuracy, 4)))
    return curve


def run_levers(settings: DemoSettings, demo_dir: Path | None = Path("runs/demo")) -> dict:
    """All stages of the suite; the warm start is reused from `demo_dir` when it was made with the same settings."""
    from rl.config import dump
    from rl.demo.report import levers_markdown
    from rl.eval.plot import plot_pareto, plot_test_time
    from rl.train.distill import distill

    if settings.eval_limit is None:  # its published table was made on the first 256 held-out questions
        settings = dataclasses.replace(settings, eval_limit=HELD_OUT_QUESTIONS)
    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, REFERENCE)
    rl_levers = list(lever_rewards({}, 1, {}))
    reused = reused_warm_start(settings, base, demo_dir)
    # stages: [warm start], the RL levers, sft_shortest, evals (warm start, sft_shortest, RL levers), report
    stages = Stages(settings, total=(reused is None) + len(rl_levers) + 1 + (2 + len(rl_levers)) + 1)
    sft_model = reused or base_model(settings, stages, base)[0]
    configs = lever_configs(settings, sft_model)
    for name, config in configs.items():
        stages.run(f"rl-{name}", lambda config=config: {"model": str(train_or_finished(config))}, dump(config))

    distill_config = base.model_copy(update={"distill": base.distill.model_copy(update=settings.distill)})

    def distill_or_skip() -> dict:
        try:
            return distill(distill_config, sft_model, out / "sft_shortest", seed=settings.seed)
        except UserError as error:  # e.g. no correct sample at all: the lever has nothing to train on
            logger.warning("sft_shortest skipped: %s", error)
            return {"skipped": str(error)}

    distilled = stages.run("sft_shortest", distill_or_skip, {"model": sft_model, "distill": settings.distill, "data": dump_section(base, "data")})
    models = {"warm start": sft_model, **({} if "skipped" in distilled else {"sft_shortest": distilled["model"]}),
              **{name: str(out / name) for name in configs}}  # fmt: skip
    for name, model in models.items():
        eval_stage(settings, stages, base, name.replace(" ", "_"), model)

    def report() -> dict:
        methods = {}
        for name in models:
            eval_dir = out / "eval" / name.replace(" ", "_")
            greedy = json.loads((eval_dir / "greedy" / "summary.json").read_text())
            sampled = json.loads((eval_dir / "sampled" / "summary.json").read_text())
            k = sampled["samples_per_question"]
            methods[name] = {
                "accuracy": greedy["accuracy"], "mean_tokens": greedy["mean_tokens"],
                "sampled_pass@1": sampled["pass@1"], f"sampled_maj@{k}": sampled[f"maj@{k}"],
                "sampled_mean_tokens": sampled["mean_tokens"],
                "maj_curve": majority_curve(eval_dir / "sampled" / "samples.jsonl", k),
                "rewards": configs[name].rewards if name in configs else None,
                "wall_seconds": stages.wall_seconds.get(f"rl-{name}") or stages.wall_seconds.get(name),
            }  # fmt: skip
        report = {
            "seed": settings.seed, "held_out_questions": greedy["questions"], "methods": methods,
            "shared_settings": shared_settings(configs[REFERENCE]), "sft_shortest": settings.distill,
            "skipped": {"sft_shortest": distilled["skipped"]} if "skipped" in distilled else {},
            "stage_wall_seconds": stages.wall_seconds, "total_wall_seconds": round(sum(stages.wall_seconds.values()), 1),
        }  # fmt: skip
        title = f"Length controls on the demo task (seed {settings.seed}, {greedy['questions']} held-out questions)"
        plot_pareto({name: [(m["mean_tokens"], m["accuracy"])] for name, m in methods.items()}, out / "pareto.png", title)
        plot_test_time({name: m["maj_curve"] for name, m in methods.items()}, out / "test_time.png",
                       f"Test-time scaling: majority vote over k samples (seed {settings.seed})")  # fmt: skip
        (out / "report.json").write_text(json.dumps(report, indent=2))
        (out / "report.md").write_text(levers_markdown(report))
        return report

    return stages.run("report", report)


def reused_warm_start(settings: DemoSettings, base, demo_dir: Path | None) -> str | None:
    """The warm start of `make demo`, when its stage marker shows the same settings and task."""
    if demo_dir is None or Path(demo_dir).resolve() == settings.out_dir.resolve():
        return None
    marker = Path(demo_dir) / "stage-sft.json"
    if not marker.is_file():
        return None
    done = json.loads(marker.read_text())
    expected = {**settings.fingerprint(), "inputs": {section: dump_section(base, section) for section in ("model", "data", "prompt")}}
    if done.get("settings") != expected or not Path(done["result"]["model"]).is_dir():
        return None
    logger.info("reusing the demo's warm start %s", done["result"]["model"])
    return done["result"]["model"]


def combine_seeds(reports: dict[int, dict], out: Path) -> dict:
    """Charts and a table over several seeds' suites: each method's mean, with its range across seeds."""
    from rl.demo.report import seeds_markdown
    from rl.eval.plot import plot_pareto, plot_test_time

    names = [name for name in next(iter(reports.values()))["methods"] if all(name in r["methods"] for r in reports.values())]
    methods = {name: [(r["methods"][name]["mean_tokens"], r["methods"][name]["accuracy"]) for r in reports.values()] for name in names}
    seeds = ", ".join(str(seed) for seed in reports)
    questions = next(iter(reports.values()))["held_out_questions"]
    plot_pareto(methods, out / "pareto_seeds.png", f"Length controls on the demo task (seeds {seeds}: mean and range; {questions} held-out questions)")
    curves = {}
    for name in names:
        per_seed = [r["methods"][name]["maj_curve"] for r in reports.values()]
        curves[name] = [(sum(c[k][0] for c in per_seed) / len(per_seed), sum(c[k][1] for c in per_seed) / len(per_seed))
                        for k in range(min(len(c) for c in per_seed))]  # fmt: skip
    plot_test_time(curves, out / "test_time_seeds.png", f"Test-time scaling: majority vote over k samples (mean of seeds {seeds})")
    summary = {name: {"accuracy": [p[1] for p in points], "mean_tokens": [p[0] for p in points]} for name, points in methods.items()}
    (out / "seeds.md").write_text(seeds_markdown(summary, seeds, questions))
    (out / "seeds.json").write_text(json.dumps({"seeds": list(reports), "methods": summary}, indent=2))
    return summary
