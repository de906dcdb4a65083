"""R1-Zero's mixed-language reasoning and R1's fix: `python -m rl demo --suite language` (`make language`).

From a warm start whose traces drift into Chinese part-way, two GRPO runs with the demo's settings,
identical but for the reward: correctness + format, and the same + `language` (DeepSeek-R1 sec. 2.3.3).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random
from dataclasses import asdict, dataclass, field

from rl.data.tasks import switch_language
from rl.demo.levers import shared_settings
from rl.demo.pipeline import DemoSettings, Stages, base_model, eval_job, rl_job, run_config
from rl.demo.sft import TraceMix

logger = logging.getLogger("rl.demo")
REFERENCE, WITH_LANGUAGE = "correctness_format", "with_language"  # the two RL runs (their directories)
WARM_START = "warm_start"
PRESET = "r1_zero"  # both runs are the demo's R1-Zero preset, their rewards replaced
EDGE_STEPS = 10  # "first/last 10 training steps" of the consistency curve


@dataclass(frozen=True)
class MixingWarmStart:
    """The mixing warm start: the demo's base fine-tuned briefly (`rl.train.sft.fine_tune`) on the demo's own
    traces, `mixed_share` of them drifting into Chinese part-way (`rl.data.tasks.switch_language`).

    `mixed_share` is above one half on purpose: mixing is then the likelier continuation at the point
    where a trace switches, so greedy decoding mixes too, as R1-Zero's does. Deterministic given `seed`.
    """

    mixed_share: float = 0.7
    trace_mix: TraceMix = field(default_factory=lambda: TraceMix(traces_per_question=4))  # the demo's modes and shares
    max_steps: int = 200  # SFT steps of `batch_size` traces (one pass over 800 questions x 4 traces)
    batch_size: int = 16
    learning_rate: float = 1e-3  # half the rate the base was trained at from scratch: new tokens (Han bytes) to learn
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.mixed_share <= 1.0:
            raise ValueError(f"mixed_share must be in [0, 1], got {self.mixed_share}")
        if min(self.max_steps, self.batch_size, self.trace_mix.traces_per_question) < 1:
            raise ValueError("max_steps, batch_size and trace_mix.traces_per_question must be >= 1")


@dataclass(frozen=True)
class LanguageSuite:
    """What the language suite changes around the demo's settings (`DemoSettings`)."""

    warm_start: MixingWarmStart = field(default_factory=MixingWarmStart)
    # The second run's `language` reward. Weight 0.5 keeps every correct answer above every wrong one
    # (1 > 0.2 + 0.5, the format and language bonuses of a wrong answer); the target is the questions' language.
    language: dict = field(default_factory=lambda: {"weight": 0.5, "target": "en"})
    held_out: int = 512  # greedy eval on the first N held-out questions
    sampled_held_out: int = 128  # sampled eval (the demo's K = 4 at T = 0.6) on the first N of them
    rl_overrides: tuple[str, ...] = ("trainer.max_steps=50",)  # `--set` for both RL runs, before the user's

    @classmethod
    def toy(cls) -> LanguageSuite:
        """Seconds-long, and still learning: from the shipped base, guesses only (the shortest traces, so
        SFT and GRPO steps are cheap), half of them concluded in Chinese; a few fast GRPO steps."""
        guesses = TraceMix(guess_share=1.0, derive_share=0.0, recheck_share=0.0, traces_per_question=1)
        overrides = ("trainer.max_steps=6", "trainer.per_device_train_batch_size=16", "trainer.learning_rate=5e-4",
                     "trainer.save_steps=100")  # fmt: skip
        return cls(warm_start=MixingWarmStart(mixed_share=0.5, trace_mix=guesses, max_steps=40, batch_size=16, learning_rate=2e-3),
                   held_out=4, sampled_held_out=2, rl_overrides=overrides)  # fmt: skip


def mixing_rows(questions: list[dict], warm: MixingWarmStart, seed: int) -> list[dict]:
    """The demo's SFT rows (`rl.demo.sft.sft_rows`), `warm.mixed_share` of them switched to Chinese part-way;
    each row tagged `mixed`."""
    from rl.demo.sft import sft_rows

    rows = sft_rows(questions, warm.trace_mix, seed)
    rng = random.Random(seed)
    for row in rows:
        row["mixed"] = rng.random() < warm.mixed_share
        if row["mixed"]:
            row["completion"] = switch_language(row["completion"])
    return rows


def language_rewards(base_rewards: dict, language: dict) -> dict[str, dict]:
    """The two runs' reward stacks: R1-Zero's (correctness + format), and the same + `language`.

    The first also holds `language`, at weight 0: scored and logged (`language/consistency_mean`, the
    chart's curve), never paid, since TRL sums `weight * score`.
    """
    return {REFERENCE: {**base_rewards, "language": {**language, "weight": 0.0}}, WITH_LANGUAGE: {**base_rewards, "language": dict(language)}}


def check_only_the_language_weight_differs(configs: dict) -> None:
    """Raise AssertionError unless the two runs' configs are identical but for `rewards.language.weight` (and output_dir)."""

    def unpaid(rewards: dict) -> dict:
        return {name: {k: v for k, v in spec.items() if (name, k) != ("language", "weight")} for name, spec in rewards.items()}

    reference, other = configs[REFERENCE], configs[WITH_LANGUAGE]
    if shared_settings(reference) != shared_settings(other) or unpaid(reference.rewards) != unpaid(other.rewards):
        raise AssertionError(f"{WITH_LANGUAGE} differs from {REFERENCE} in more than the language reward's weight")


def run_configs(settings: DemoSettings, suite: LanguageSuite, model: str) -> dict:
    """Both runs' configs, loaded like any run's (the R1-Zero preset, rewards replaced by `--set`); checked to differ only in the reward."""
    reference = run_config(settings, PRESET, model)
    stacks = language_rewards(reference.rewards, suite.language)
    configs = {name: run_config(settings, PRESET, model, [f"rewards={json.dumps(stack)}"], out_name=name) for name, stack in stacks.items()}
    check_only_the_language_weight_differs(configs)
    return configs


def mixing_warm_start(settings: DemoSettings, stages: Stages, suite: LanguageSuite, base, base_path: str) -> dict:
    """The mixing warm start (a stage): `{"model": dir, "rows": n, "mixed_rows": m}`."""
    from rl.data.rows import load_rows
    from rl.train.sft import fine_tune

    warm = suite.warm_start

    def sft() -> dict:
        rows = mixing_rows(list(load_rows(base.data, base.prompt, split="train")), warm, warm.seed)
        model = fine_tune(base_path, rows, settings.out_dir / WARM_START, warm.max_steps, warm.seed, warm.batch_size,
                          learning_rate=warm.learning_rate, activation_checkpointing=False)  # fmt: skip
        return {"model": str(model), "rows": len(rows), "mixed_rows": sum(row["mixed"] for row in rows)}

    return stages.run("sft-mixing", sft, {"base": base_path, "warm_start": asdict(warm), "data": base.model_dump(mode="json")["data"]})


def run_language(settings: DemoSettings, suite: LanguageSuite) -> dict:
    """All stages of the suite; returns the report (also report.json, report.md and language.png)."""
    from rl.demo.report import language_report

    settings = dataclasses.replace(settings, eval_limit=suite.held_out, sampled_eval_limit=suite.sampled_held_out,
                                   overrides=[*suite.rl_overrides, *settings.overrides])  # fmt: skip
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, PRESET)
    # stages: [base], mixing SFT, two RL runs, three evals, report
    stages = Stages(settings, total=1 + 1 + 2 + 3 + 1)
    base_path, origin = base_model(settings, stages, base)
    if origin["source"] == "shipped":
        stages.total -= 1
    warm = mixing_warm_start(settings, stages, suite, base, base_path)
    configs = run_configs(settings, suite, warm["model"])
    models = {WARM_START: warm["model"], **{name: str(settings.out_dir / name) for name in configs}}
    eval_config = configs[REFERENCE]  # grades `language` with the runs' own parameters (target)
    # Both runs side by side (`settings.plan`), each eval after its own model.
    jobs = [rl_job(name, config) for name, config in configs.items()]
    jobs += [eval_job(settings, eval_config, name, model, after=(f"rl-{name}",) if name in configs else ()) for name, model in models.items()]
    stages.run_many(jobs)

    def report() -> dict:
        names = {"warm_start": WARM_START, "reference": REFERENCE, "with_language": WITH_LANGUAGE}
        made = {"base": origin["source"], "base_recipe_sha": origin["recipe_sha"], **warm, **asdict(suite.warm_start)}
        return language_report(settings.out_dir, names, configs, shared_settings(configs[REFERENCE]), stages.wall_seconds, made,
                               stages.elapsed_seconds())  # fmt: skip

    return stages.run("report", report)
