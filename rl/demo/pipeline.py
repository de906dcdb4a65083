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
    sft_steps: int = 800  # warm-start steps (batch 32) on the mixed-mode traces
    sft_batch_size: int = 32
    traces_per_question: int = 4
    trace_mix: TraceMix = field(default_factory=TraceMix)
    eval_samples: int = 4  # K for the sampled eval (pass@K, maj@K)
    eval_limit: int | None = None  # held-out questions (None: the whole test split)
    overrides: list[str] = field(default_factory=list)  # `--set` for both RL runs (e.g. trainer.max_steps=30)
    # the levers suite's rejection-sampling distillation: 4 samples for each of 400 training questions
    distill: dict = field(default_factory=lambda: {"samples": 4, "rule": "shortest_correct", "limit": 400, "sft_steps": 150,
                                                   "batch_size": 32, "learning_rate": 5e-4})  # fmt: skip

    @classmethod
    def toy(cls, out_dir: Path, **changes) -> DemoSettings:
        overrides = [
            "data.generated.train_size=16", "data.generated.test_size=4", "trainer.max_steps=2",
            "trainer.per_device_train_batch_size=4", "trainer.num_generations=4", "trainer.max_completion_length=24",
            "trainer.save_steps=1", "model.name_or_path=tiny:test",
        ]  # fmt: skip
        distill = {"samples": 2, "rule": "shortest_correct", "limit": 4, "sft_steps": 1, "batch_size": 2, "learning_rate": 5e-4}
        return cls(out_dir=out_dir, sft_steps=2, sft_batch_size=4, traces_per_question=1, eval_samples=2, eval_limit=4,
                   overrides=overrides, distill=distill, **changes)  # fmt: skip

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


def warm_start_stage(settings: DemoSettings, stages: Stages, base) -> str:
    """The SFT warm start on the mixed-mode traces (a stage); returns the model directory."""
    from rl.data import load_rows
    from rl.demo.sft import sft_rows, warm_start
    from rl.models import resolve_model

    def sft() -> dict:
        questions = load_rows(base.data, base.prompt, split="train")
        mix = dataclasses.replace(settings.trace_mix, traces_per_question=settings.traces_per_question)
        rows = sft_rows(list(questions), mix, settings.seed)
        model = warm_start(resolve_model(base.model), rows, settings.out_dir / "sft", settings.sft_steps, settings.seed, settings.sft_batch_size)
        return {"model": str(model), "traces": len(rows)}

    return stages.run("sft", sft, {section: dump_section(base, section) for section in ("model", "data", "prompt")})["model"]


def eval_settings(settings: DemoSettings, base):
    """(greedy, sampled) eval settings; sampled at the RL runs' temperature, so pass@1 is the trained policy."""
    from rl.evaluate import EvalSettings

    greedy = EvalSettings(samples=1, greedy=True, limit=settings.eval_limit)
    temperature = float(base.trainer.get("temperature", 1.0))
    return greedy, EvalSettings(samples=settings.eval_samples, temperature=temperature, limit=settings.eval_limit)


def eval_stage(settings: DemoSettings, stages: Stages, base, name: str, model: str) -> dict:
    """Greedy and sampled held-out evals of one model (a stage)."""
    from rl.evaluate import evaluate

    greedy, sampled = eval_settings(settings, base)
    out = settings.out_dir / "eval" / name

    def evaluate_both() -> dict:
        return {"greedy": evaluate(base, model, greedy, out / "greedy"), "sampled": evaluate(base, model, sampled, out / "sampled")}

    return stages.run(f"eval-{name}", evaluate_both, {"model": model, "greedy": asdict(greedy), "sampled": asdict(sampled)})


def run_demo(settings: DemoSettings) -> dict:
    """All stages; returns the report (also written as report.json, report.md and curves.png)."""
    from rl.config import dump
    from rl.demo.report import write_report

    settings.out_dir.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, RUNS[0])  # the task, template and base model of both runs
    stages = Stages(settings, total=1 + len(RUNS) + (1 + len(RUNS)) + 1)
    sft_model = warm_start_stage(settings, stages, base)
    configs = {run: run_config(settings, run, sft_model) for run in RUNS}
    for run, config in configs.items():
        stages.run(f"rl-{run}", lambda config=config: {"model": str(train_or_finished(config))}, dump(config))
    models = {"sft": sft_model, **{run: str(settings.out_dir / run) for run in RUNS}}
    for name, model in models.items():
        eval_stage(settings, stages, base, name, model)
    return stages.run("report", lambda: write_report(settings, stages.wall_seconds))
