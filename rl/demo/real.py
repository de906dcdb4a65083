"""The real-model suite: R1-Zero vs "don't overthink" GRPO on a real pretrained model no one here wrote.

The untouched model (SmolLM2-135M-Instruct, shipped on PyPI as GGUF; `configs/real/`), its own chat
template, the `boxed` layout and the generated word problems. Stages, each resumable as the demo's:
eval of the untouched model (greedy, sampled, and greedy with a bare-answer prompt: does writing the
steps pay?), the two RL runs from it, their evals on the same questions, the report and curves.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rl.demo.pipeline import DemoSettings, Stages, dump_section, rl_job, run_config
from rl.demo.workers import Plan, StageJob

logger = logging.getLogger("rl.demo")
RUNS = ("r1_zero", "dont_overthink")
UNTOUCHED = "untouched"
LABELS = {UNTOUCHED: "untouched model", "r1_zero": "R1-Zero (correctness + format)", "dont_overthink": "don't overthink (+ length)"}
EDGE_STEPS = 10
# The bare-answer control: the same worked example with its steps removed, and an instruction to give only the answer.
BARE_USER_MESSAGE = "{question}\nGive only the final answer within \\boxed{}, with no working."
BARE_ANSWER = "\\boxed{33}"


@dataclass
class RealSuite:
    """Sizes of the real-model suite; `toy()` is the minutes-long version the tests run."""

    greedy_limit: int | None = None  # held-out questions of the greedy evals (None: the test split, 256)
    sampled_limit: int = 32  # the sampled evals (K answers each) on the first N of them
    samples: int = 8  # K: pass@8, maj@8
    eval_batch_size: int = 64
    overrides: list[str] = field(default_factory=list)  # `--set` for both RL runs

    @classmethod
    def toy(cls) -> RealSuite:
        overrides = ["trainer.max_steps=2", "trainer.per_device_train_batch_size=4", "trainer.num_generations=2",
                     "trainer.max_completion_length=48", "trainer.save_steps=1", "data.generated.train_size=8",
                     "data.generated.test_size=4"]  # fmt: skip
        return cls(greedy_limit=4, sampled_limit=2, samples=2, eval_batch_size=8, overrides=overrides)


def suite_settings(settings: DemoSettings, suite: RealSuite) -> DemoSettings:
    """The demo's settings pointed at `configs/real/`, one stage at a time (a 135M model keeps both cores busy)."""
    from dataclasses import replace

    from rl.config.presets import presets_root

    threads = settings.plan.threads
    return replace(settings, config_dir=presets_root() / "configs" / "real", overrides=[*suite.overrides, *settings.overrides],
                   plan=Plan(jobs=1, threads=threads))  # fmt: skip


def eval_settings(suite: RealSuite, base, seed: int):
    """(greedy, sampled) eval settings; sampled at the RL runs' temperature, so pass@1 is the trained policy."""
    from rl.config.trainer_args import trainer_value
    from rl.eval.generation import EvalSettings

    temperature = float(trainer_value(base.algorithm, base.trainer, "temperature"))
    greedy = EvalSettings(samples=1, greedy=True, limit=suite.greedy_limit, batch_size=suite.eval_batch_size)
    limit = min(suite.sampled_limit, suite.greedy_limit or suite.sampled_limit)
    sampled = EvalSettings(samples=suite.samples, temperature=temperature, limit=limit,
                           batch_size=max(1, suite.eval_batch_size // suite.samples), seed=seed)  # fmt: skip
    return greedy, sampled


def evaluate_model(suite: RealSuite, base, out: Path, name: str, model: str, seed: int) -> dict:
    """Greedy and sampled held-out evals of `model` in `<out>/eval/<name>/`; the untouched model also with the bare prompt."""
    from rl.testtime.evaluate import evaluate

    greedy, sampled = eval_settings(suite, base, seed)
    results = {"greedy": evaluate(base, model, greedy, out / "eval" / name / "greedy"),
               "sampled": evaluate(base, model, sampled, out / "eval" / name / "sampled")}  # fmt: skip
    if name == UNTOUCHED:
        examples = [{**example, "answer": BARE_ANSWER} for example in base.prompt.examples]
        bare = base.model_copy(update={"prompt": base.prompt.model_copy(update={"user_message": BARE_USER_MESSAGE, "examples": examples})})
        results["bare"] = evaluate(bare, model, greedy, out / "eval" / name / "bare")
    return results


def eval_job(suite: RealSuite, settings: DemoSettings, base, name: str, model: str, after: tuple[str, ...] = ()) -> StageJob:
    greedy, sampled = eval_settings(suite, base, settings.seed)
    inputs = {"model": model, "greedy": asdict(greedy), "sampled": asdict(sampled), "prompt": dump_section(base, "prompt")}
    return StageJob(f"eval-{name}", evaluate_model, (suite, base, settings.out_dir, name, model, settings.seed), inputs, after=after)


def run_real(settings: DemoSettings, suite: RealSuite) -> dict:
    """All stages; returns the report (also report.json, report.md and curves.png in `settings.out_dir`)."""
    from rl.data.models import resolve_model
    from rl.demo.real_report import write_real_report
    from rl.train.allocator import keep_freed_memory

    keep_freed_memory()  # every stage runs in this process: ~2x faster steps of a real model (rl.train.allocator)
    settings = suite_settings(settings, suite)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    configs = {run: run_config(settings, run) for run in RUNS}
    check_only_rewards_differ(configs)
    base = configs[RUNS[0]]
    untouched = resolve_model(base.model)  # converted once into the cache (the GGUF file -> a plain directory)
    stages = Stages(settings, total=2 * len(RUNS) + 2)
    jobs = [eval_job(suite, settings, base, UNTOUCHED, untouched)]
    for run in RUNS:
        jobs.append(rl_job(run, configs[run]))
        jobs.append(eval_job(suite, settings, base, run, str(settings.out_dir / run), after=(f"rl-{run}",)))
    stages.run_many(jobs)
    return stages.run("report", lambda: write_real_report(settings.out_dir, configs, stages.wall_seconds, stages.elapsed_seconds()),
                      inputs={"runs": list(RUNS)})  # fmt: skip


def check_only_rewards_differ(configs: dict) -> None:
    """The two runs must differ in their rewards alone (and where they write): else the comparison is not the length penalty's."""
    flat = {}
    for run, config in configs.items():
        dumped = config.model_dump(mode="json")
        dumped.pop("rewards")
        dumped["trainer"].pop("output_dir", None)
        flat[run] = dumped
    first, *others = flat.values()
    for run, dumped in zip(list(flat)[1:], others):
        if dumped != first:
            keys = sorted(key for key in set(first) | set(dumped) if first.get(key) != dumped.get(key))
            raise ValueError(f"configs/real/{run}.yaml differs from {RUNS[0]} outside `rewards`: {', '.join(keys)}")


