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

from rl.config.presets import demo_config_dir
from rl.demo.sft import TraceMix
from rl.demo.workers import Plan, StageJob
from rl.errors import UserError

logger = logging.getLogger("rl.demo")
RUNS = ("r1_zero", "dont_overthink")  # RL runs, one preset each in configs/demo/


@dataclass
class DemoSettings:
    """Sizes of the demo; `toy()` is the seconds-long version the test suite runs."""

    out_dir: Path = Path("runs/demo")
    seed: int = 0  # seed of both RL runs and the sampled evals
    base_seed: int = 0  # seed of the warm start (part of the shipped base's recipe)
    rebuild_base: bool = False  # build the warm start here even when the shipped base matches the recipe
    ship_base: bool = False  # copy the base built here into the package (maintainers; needs rebuild_base)
    config_dir: Path = field(default_factory=demo_config_dir)
    sft_steps: int = 800  # warm-start steps (batch 32) on the mixed-mode traces
    sft_batch_size: int = 32
    traces_per_question: int = 4
    trace_mix: TraceMix = field(default_factory=TraceMix)
    eval_samples: int = 4  # K for the sampled eval (pass@K, maj@K)
    eval_limit: int | None = None  # held-out questions (None: the whole test split, 1,024 in the demo's config)
    # The sampled eval (K answers each) on the first 256 of them: its pass@K / maj@K describe the policy,
    # the demo's claims rest on the greedy eval, and K x 1,024 generations would triple the eval time.
    sampled_eval_limit: int | None = 256
    eval_batch_size: int = 64  # prompts per generate call in the evals (larger batches use the CPU better)
    overrides: list[str] = field(default_factory=list)  # `--set` for both RL runs (e.g. trainer.max_steps=30)
    plan: Plan = field(default_factory=Plan)  # stages at once and torch threads each (speed only: not in the fingerprint)
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
        return {"seed": self.seed, "base_seed": self.base_seed, "sft_steps": self.sft_steps, "traces_per_question": self.traces_per_question,
                "trace_mix": asdict(self.trace_mix), "overrides": list(self.overrides)}  # fmt: skip


class Stages:
    """Runs a stage once: skips it when its marker says it finished with the same settings.

    `run` runs one stage here; `run_many` runs independent stages `settings.plan.jobs` at a time in
    worker processes (`rl.demo.workers`). Markers record when each stage ran, so `elapsed_seconds` is
    the wall time the stages took together, also when some ran side by side.
    """

    def __init__(self, settings: DemoSettings, total: int) -> None:
        self.settings = settings
        self.total = total
        self.index = 0
        self.wall_seconds: dict[str, float] = {}
        self.intervals: dict[str, tuple[float, float]] = {}

    def _marker(self, name: str) -> Path:
        return self.settings.out_dir / f"stage-{name}.json"

    def _fingerprint(self, inputs: object) -> dict:
        return {**self.settings.fingerprint(), "inputs": inputs}

    def _reused(self, name: str, inputs: object) -> dict | None:
        """The result of a stage finished before with the same settings and `inputs`; None if it has not run.

        Raises:
            UserError: it finished with other settings (the directory belongs to another demo).
        """
        marker = self._marker(name)
        if not marker.is_file():
            return None
        done = json.loads(marker.read_text())
        if done.get("settings") != self._fingerprint(inputs):
            raise UserError(
                f"{self.settings.out_dir}: stage {name} was made with other settings or configs; "
                "pass --out DIR for a new demo or --fresh to start this one again"
            )
        self.index += 1
        logger.info("[%d/%d] %s: done before (%.0f s), reusing %s", self.index, self.total, name, done["wall_seconds"], marker)
        self.wall_seconds[name] = done["wall_seconds"]
        if "started" in done:
            self.intervals[name] = (done["started"], done["finished"])
        return done.get("result") or {}

    def _finish(self, name: str, inputs: object, result: dict | None, started: float, index: int) -> dict:
        finished = time.time()
        wall = round(finished - started, 1)
        self.wall_seconds[name] = wall
        self.intervals[name] = (started, finished)
        result = result or {}
        marker = {"settings": self._fingerprint(inputs), "wall_seconds": wall, "started": started, "finished": finished, "result": result}
        self._marker(name).write_text(json.dumps(marker, indent=2))
        logger.info("[%d/%d] %s: finished in %.0f s", index, self.total, name, wall)
        return result

    def run(self, name: str, work: Callable[[], dict | None], inputs: object = None) -> dict:
        """Run `work` unless a marker shows it finished with the same settings and `inputs` (e.g. its config)."""
        reused = self._reused(name, inputs)
        if reused is not None:
            return reused
        self.index += 1
        logger.info("[%d/%d] %s ...", self.index, self.total, name)
        started = time.time()
        return self._finish(name, inputs, work(), started, self.index)

    def run_many(self, jobs: list[StageJob]) -> dict[str, dict]:
        """Run `jobs` (each after the stages it names in `after`), `settings.plan.jobs` at a time; returns each one's result.

        With one job at a time they run here, in order. Otherwise each runs in a spawned worker process
        with `settings.plan.threads` torch threads, its output in `<out_dir>/logs/<stage>.log`; a progress
        bar counts finished stages and shows the steps of the runs under way.

        Raises:
            UserError: a stage's marker was made with other settings. The first stage to fail stops the
                others (finished stages keep their markers; an RL run resumes from its checkpoint).
        """
        if self.settings.plan.jobs <= 1:
            return {job.name: self.run(job.name, job.call, job.inputs) for job in jobs}
        results = {}
        pending = []
        for job in jobs:
            reused = self._reused(job.name, job.inputs)
            if reused is None:
                pending.append(job)
            else:
                results[job.name] = reused
        if pending:
            results.update(self._run_in_workers(pending, set(results)))
        return results

    def _run_in_workers(self, jobs: list[StageJob], done: set[str]) -> dict[str, dict]:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        from tqdm.auto import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        from rl.demo.workers import start_worker

        names = {job.name for job in jobs} | done
        for job in jobs:
            missing = [name for name in job.after if name not in names]
            if missing:
                raise ValueError(f"stage {job.name} waits for unknown stages {missing}")
        plan = self.settings.plan
        children_before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(max_workers=plan.jobs, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=start_worker, initargs=(plan.threads,))  # fmt: skip
        try:
            with tqdm(total=len(jobs), desc=f"stages, {plan.jobs} at a time", unit="stage") as bar, logging_redirect_tqdm():
                results = self._schedule(pool, jobs, done, bar)
        except BaseException:
            # A running stage cannot be cancelled: stop its worker, or exit would wait for it to end.
            terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
            if terminate is not None:
                terminate()
            else:  # the pool's workers: the children this process started since it made the pool (public API)
                for process in set(multiprocessing.active_children()) - children_before:
                    process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return results

    def _schedule(self, pool, jobs: list[StageJob], done: set[str], bar) -> dict[str, dict]:
        """Submit each job once the stages it waits for are done, at most `plan.jobs` at a time; collect results."""
        from concurrent.futures import FIRST_COMPLETED, wait

        from rl.demo.workers import run_in_worker, steps_done

        plan = self.settings.plan
        results: dict[str, dict] = {}
        waiting = list(jobs)
        running: dict = {}  # future -> (job, started, index)
        shown = ""
        while waiting or running:
            for job in [job for job in waiting if all(name in done for name in job.after)][: plan.jobs - len(running)]:
                waiting.remove(job)
                self.index += 1
                log = self.settings.out_dir / "logs" / f"{job.name}.log"
                logger.info("[%d/%d] %s ... (worker process, %s torch thread(s); log: %s)", self.index, self.total, job.name,
                            plan.threads or "default", log)  # fmt: skip
                running[pool.submit(run_in_worker, job, str(log))] = (job, time.time(), self.index)
            finished, _ = wait(list(running), timeout=2.0, return_when=FIRST_COMPLETED)
            for future in finished:
                job, started, index = running.pop(future)
                results[job.name] = self._finish(job.name, job.inputs, future.result(), started, index)
                done.add(job.name)
                bar.update(1)
            status = ", ".join(f"{job.name} step {steps_done(job.progress[0])}/{job.progress[1]}" for job, _, _ in running.values() if job.progress)
            if status != shown:
                bar.set_postfix_str(status)
                shown = status
        return results

    def elapsed_seconds(self) -> float:
        """Wall time during which stages ran (the union of their intervals; stages from before markers
        recorded times count by their own wall time)."""
        total, end = 0.0, None
        for started, finished in sorted(self.intervals.values()):
            if end is None or started > end:
                total += finished - started
                end = finished
            elif finished > end:
                total += finished - end
                end = finished
        untimed = sum(wall for name, wall in self.wall_seconds.items() if name not in self.intervals)
        return round(total + untimed, 1)


def run_config(settings: DemoSettings, run: str, model_path: str | None = None, extra: list[str] = (), out_name: str | None = None):
    """The RL preset of `run`, pointed at this demo's directory (`out_name`, default `run`), seed and warm-start model.

    `extra`: more `--set` overrides after the demo's own (e.g. a lever's `rewards=...`).
    """
    from rl.config import load_config

    overrides = [f"trainer.output_dir={settings.out_dir / (out_name or run)}", f"trainer.seed={settings.seed}", *settings.overrides]
    if model_path is not None:
        overrides.append(f"model.name_or_path={model_path}")
    return load_config(settings.config_dir / f"{run}.yaml", [*overrides, *extra])


def train_or_finished(config) -> Path:
    """Train (resuming an interrupted run); a run that finished before its stage marker was written counts as done."""
    from rl.train.train import AlreadyFinished, train

    try:
        return train(config, resume=True)
    except AlreadyFinished:
        return config.output_dir


def dump_section(config, section: str) -> object:
    return config.model_dump(mode="json")[section]


def warm_start_rows(settings: DemoSettings, base) -> tuple[str, list[dict]]:
    """(the `tiny:` model directory the warm start begins from, its SFT rows): the inputs of the base's recipe."""
    from rl.data.models import resolve_model
    from rl.data.rows import load_rows
    from rl.demo.sft import sft_rows

    questions = load_rows(base.data, base.prompt, split="train")
    mix = dataclasses.replace(settings.trace_mix, traces_per_question=settings.traces_per_question)
    return resolve_model(base.model), sft_rows(list(questions), mix, settings.base_seed)


def warm_start_recipe(settings: DemoSettings, tiny_model: str, rows: list[dict]) -> dict:
    from rl.demo.base import base_recipe
    from rl.demo.sft import WARM_START_LEARNING_RATE
    from rl.train.sft import SFT_SCHEDULE

    sft = {"max_steps": settings.sft_steps, "batch_size": settings.sft_batch_size, "learning_rate": WARM_START_LEARNING_RATE,
           "seed": settings.base_seed, **SFT_SCHEDULE}  # fmt: skip
    return base_recipe(tiny_model, rows, sft)


def warm_start_stage(settings: DemoSettings, stages: Stages, base, tiny_model: str, rows: list[dict]) -> str:
    """The SFT warm start of `tiny_model` on `rows` (`warm_start_rows`; a stage); returns the model directory."""
    from rl.demo.sft import warm_start

    def sft() -> dict:
        model = warm_start(tiny_model, rows, settings.out_dir / "sft", settings.sft_steps, settings.base_seed, settings.sft_batch_size)
        return {"model": str(model), "traces": len(rows)}

    return stages.run("sft", sft, {section: dump_section(base, section) for section in ("model", "data", "prompt")})["model"]


def base_model(settings: DemoSettings, stages: Stages, base) -> tuple[str, dict]:
    """The model both RL runs start from, and where it came from (`source`: shipped or built, `recipe_sha`).

    The shipped base is used when the current recipe made it (`rl.demo.base`); otherwise, or with
    `--rebuild-base`, the warm start is built here as a stage (about 8 minutes on 2 cores).
    """
    from rl.demo.base import read_shipped, recipe_sha, shipped_base_for

    tiny_model, rows = warm_start_rows(settings, base)
    recipe = warm_start_recipe(settings, tiny_model, rows)
    shipped_record = read_shipped()
    shipped = None if settings.rebuild_base else shipped_base_for(recipe)
    origin = {"recipe_sha": recipe_sha(recipe), "recipe": recipe,
              "shipped_heldout": (shipped_record or {}).get("heldout"), "shipped_recipe_sha": (shipped_record or {}).get("recipe_sha")}  # fmt: skip
    if shipped is not None:
        logger.info("base: the shipped warm start %s (recipe %s); --rebuild-base builds it from scratch", shipped, origin["recipe_sha"])
        return str(shipped), {"source": "shipped", **origin}
    if not settings.rebuild_base and shipped_record is not None:
        logger.warning("base: the shipped warm start was made by recipe %s, these settings ask for %s: building it here",
                       shipped_record.get("recipe_sha"), origin["recipe_sha"])  # fmt: skip
    return warm_start_stage(settings, stages, base, tiny_model, rows), {"source": "built", **origin}


def eval_settings(settings: DemoSettings, base):
    """(greedy, sampled) eval settings; sampled at the RL runs' temperature, so pass@1 is the trained policy."""
    from rl.config.trainer_args import trainer_value
    from rl.eval.generation import EvalSettings

    greedy = EvalSettings(samples=1, greedy=True, limit=settings.eval_limit, batch_size=settings.eval_batch_size)
    temperature = float(trainer_value(base.algorithm, base.trainer, "temperature"))
    limits = [limit for limit in (settings.eval_limit, settings.sampled_eval_limit) if limit is not None]
    sampled = EvalSettings(samples=settings.eval_samples, temperature=temperature, limit=min(limits) if limits else None,
                           batch_size=max(1, settings.eval_batch_size // settings.eval_samples), seed=settings.seed)  # fmt: skip
    return greedy, sampled


def evaluate_model(settings: DemoSettings, base, name: str, model: str) -> dict:
    """Greedy and sampled held-out evals of one model, in `<out_dir>/eval/<name>/{greedy,sampled}`."""
    from rl.testtime.evaluate import evaluate

    greedy, sampled = eval_settings(settings, base)
    out = settings.out_dir / "eval" / name
    return {"greedy": evaluate(base, model, greedy, out / "greedy"), "sampled": evaluate(base, model, sampled, out / "sampled")}


def eval_job(settings: DemoSettings, base, name: str, model: str, after: tuple[str, ...] = ()) -> StageJob:
    """The stage `eval-<name>`: `evaluate_model` of `model`."""
    greedy, sampled = eval_settings(settings, base)
    return StageJob(f"eval-{name}", evaluate_model, (settings, base, name, model), {"model": model, "greedy": asdict(greedy), "sampled": asdict(sampled)},
                    after=after)  # fmt: skip


def eval_stage(settings: DemoSettings, stages: Stages, base, name: str, model: str) -> dict:
    """Greedy and sampled held-out evals of one model (a stage, run here)."""
    job = eval_job(settings, base, name, model)
    return stages.run(job.name, job.call, job.inputs)


def train_stage(config) -> dict:
    """An RL stage's work: `train_or_finished`, the model directory as its result."""
    return {"model": str(train_or_finished(config))}


def rl_job(name: str, config) -> StageJob:
    """The stage `rl-<name>`: train `config` (its dump is the stage's inputs); progress read from its metrics."""
    from rl.config import dump

    steps = config.trainer.get("max_steps")
    progress = (Path(config.output_dir) / "metrics.jsonl", int(steps)) if steps else None
    return StageJob(f"rl-{name}", train_stage, (config,), dump(config), progress=progress)


def run_demo(settings: DemoSettings) -> dict:
    """All stages; returns the report (also written as report.json, report.md and curves.png)."""
    from rl.demo.report import write_report

    settings.out_dir.mkdir(parents=True, exist_ok=True)
    base = run_config(settings, RUNS[0])  # the task, template and base model of both runs
    stages = Stages(settings, total=1 + len(RUNS) + (1 + len(RUNS)) + 1)
    sft_model, origin = base_model(settings, stages, base)
    if origin["source"] == "shipped":
        stages.total -= 1
    # The RL runs first (the longest), each run's eval after it, the base's eval when a worker is free.
    jobs = [rl_job(run, run_config(settings, run, sft_model)) for run in RUNS]
    jobs += [eval_job(settings, base, run, str(settings.out_dir / run), after=(f"rl-{run}",)) for run in RUNS]
    jobs.append(eval_job(settings, base, "sft", sft_model))
    stages.run_many(jobs)
    report = stages.run("report", lambda: write_report(settings, stages.wall_seconds, origin, stages.elapsed_seconds()),
                        inputs={"base": origin["recipe_sha"]})  # fmt: skip
    if settings.ship_base:
        ship(settings, sft_model, origin)
    return report


def ship(settings: DemoSettings, model: str, origin: dict) -> None:
    """`--ship-base`: copy a base built by this demo into the package, with its recipe and held-out eval."""
    from rl.demo.base import ship_base

    if origin["source"] != "built":
        raise UserError("--ship-base needs --rebuild-base: this demo used the shipped base")
    heldout = json.loads((settings.out_dir / "eval" / "sft" / "greedy" / "summary.json").read_text())
    target = ship_base(Path(model), origin["recipe"], {key: heldout[key] for key in ("accuracy", "mean_tokens", "questions")})
    logger.info("shipped the base to %s (recipe %s); commit it", target, origin["recipe_sha"])
