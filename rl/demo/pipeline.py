"""The CPU demo as resumable stages: SFT warm start -> two RL runs -> held-out evals -> report and curves.

Each finished stage leaves `stage-<name>.json` (its settings and wall time) in the demo directory,
so a second `python -m rl demo` reuses it; an interrupted RL run resumes from its last checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rl.demo.sft import TraceMix
from rl.errors import UserError
from rl.presets_lookup import demo_config_dir

logger = logging.getLogger("rl.demo")
RUNS = ("r1_zero", "dont_overthink")  # RL runs, one preset each in configs/demo/


@dataclass
class DemoSettings:
    """Sizes of the demo; `toy()` is the seconds-long version the test suite runs."""

    out_dir: Path = Path("runs/demo")
    seed: int = 0
    config_dir: Path = field(default_factory=demo_config_dir)
    sft_steps: int = 1000  # warm-start steps (batch 32) on the mixed-mode traces
    sft_batch_size: int = 32
    traces_per_question: int = 4
    trace_mix: TraceMix = field(default_factory=TraceMix)
    eval_samples: int = 4  # K for the sampled eval (pass@K, maj@K)
    eval_limit: int | None = None  # held-out questions (None: the whole test split)
    overrides: list[str] = field(default_factory=list)  # `--set` for both RL runs (e.g. trainer.max_steps=30)

    @classmethod
    def toy(cls, out_dir: Path, **changes) -> DemoSettings:
        overrides = [
            "data.generated.train_size=16", "data.generated.test_size=4", "trainer.max_steps=2",
            "trainer.per_device_train_batch_size=4", "trainer.num_generations=4", "trainer.max_completion_length=24",
            "trainer.save_steps=1", "model.name_or_path=tiny:test",
        ]  # fmt: skip
        return cls(out_dir=out_dir, sft_steps=2, sft_batch_size=4, traces_per_question=1, eval_samples=2, eval_limit=4,
                   overrides=overrides, **changes)  # fmt: skip

    def fingerprint(self) -> dict:
        """What a finished stage must have been made with to be reused."""
        return {"seed": self.seed, "sft_steps": self.sft_steps, "traces_per_question": self.traces_per_question,
                "trace_mix": asdict(self.trace_mix), "overrides": list(self.overrides)}  # fmt: skip


class Stages:
    """Runs a stage once: skips it when its marker says it finished with the same settings."""

    def __init__(self, settings: DemoSettings, total: int) -> None:
        self.settings = settings
        self.total = total
        self.index = 0
        self.wall_seconds: dict[str, float] = {}

    def run(self, name: str, work: Callable[[], dict | None], inputs: object = None) -> dict:
        """Run `work` unless a marker shows it finished with the same settings and `inputs` (e.g. its config)."""
        self.index += 1
        marker = self.settings.out_dir / f"stage-{name}.json"
        fingerprint = {**self.settings.fingerprint(), "inputs": inputs}
        if marker.is_file():
            done = json.loads(marker.read_text())
            if done.get("settings") != fingerprint:
                raise UserError(
                    f"{self.settings.out_dir}: stage {name} was made with other settings or configs; "
                    "pass --out DIR for a new demo or --fresh to start this one again"
                )
            logger.info("[%d/%d] %s: done before (%.0f s), reusing %s", self.index, self.total, name, done["wall_seconds"], marker)
            self.wall_seconds[name] = done["wall_seconds"]
            return done.get("result") or {}
        logger.info("[%d/%d] %s ...", self.index, self.total, name)
        started = time.perf_counter()
        result = work() or {}
        wall = round(time.perf_counter() - started, 1)
        self.wall_seconds[name] = wall
        marker.write_text(json.dumps({"settings": fingerprint, "wall_seconds": wall, "result": result}, indent=2))
        logger.info("[%d/%d] %s: finished in %.0f s", self.index, self.total, name, wall)
        return result


def run_config(settings: DemoSettings, run: str, model_path: str | None = None):
    """The RL preset of `run`, pointed at this demo's directory, seed and (if given) warm-start model."""
    from rl.config import load_config

    overrides = [f"trainer.output_dir={settings.out_dir / run}", f"trainer.seed={settings.seed}", *settings.overrides]
    if model_path is not None:
        overrides.append(f"model.name_or_path={model_path}")
    return load_config(settings.config_dir / f"{run}.yaml", overrides)


def train_or_finished(config) -> Path:
    """Train (resuming an interrupted run); a run that finished before its stage marker was written counts as done."""
    from rl.train import AlreadyFinished, train

    try:
        return train(config, resume=True)
    except AlreadyFinished:
        return config.output_dir


def dump_section(config, section: str) -> object:
    return config.model_dump(mode="json")[section]


def run_demo(settings: DemoSettings) -> dict:
    """All stages; returns the report (also written as report.json, report.md and curves.png)."""
    from rl.config import dump
    from rl.data import load_rows
    from rl.demo.report import write_report
    from rl.demo.sft import sft_rows, warm_start
    from rl.evaluate import EvalSettings, evaluate
    from rl.models import resolve_model

    out = settings.out_dir
    out.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, RUNS[0])  # the task, template and base model of both runs
    stages = Stages(settings, total=1 + len(RUNS) + (1 + len(RUNS)) + 1)

    def sft() -> dict:
        questions = load_rows(base.data, base.prompt, split="train")
        mix = dataclasses.replace(settings.trace_mix, traces_per_question=settings.traces_per_question)
        rows = sft_rows(list(questions), mix, settings.seed)
        model = warm_start(resolve_model(base.model), rows, out / "sft", settings.sft_steps, settings.seed, settings.sft_batch_size)
        return {"model": str(model), "traces": len(rows)}

    sft_inputs = {section: dump_section(base, section) for section in ("model", "data", "prompt")}
    sft_model = stages.run("sft", sft, sft_inputs)["model"]
    configs = {run: run_config(settings, run, sft_model) for run in RUNS}
    for run, config in configs.items():
        stages.run(f"rl-{run}", lambda config=config: {"model": str(train_or_finished(config))}, dump(config))

    greedy = EvalSettings(samples=1, greedy=True, limit=settings.eval_limit)
    # Sampled at the temperature the RL runs sampled at, so pass@1 is the policy the runs trained.
    temperature = float(base.trainer.get("temperature", 1.0))
    sampled = EvalSettings(samples=settings.eval_samples, temperature=temperature, limit=settings.eval_limit)
    models = {"sft": sft_model, **{run: str(out / run) for run in RUNS}}
    for name, model in models.items():
        def evaluate_both(name=name, model=model) -> dict:
            return {
                "greedy": evaluate(base, model, greedy, out / "eval" / name / "greedy"),
                "sampled": evaluate(base, model, sampled, out / "eval" / name / "sampled"),
            }

        stages.run(f"eval-{name}", evaluate_both, {"model": model, "greedy": asdict(greedy), "sampled": asdict(sampled)})
    return stages.run("report", lambda: write_report(settings, stages.wall_seconds))
