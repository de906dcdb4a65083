"""Independent demo stages at once, each in its own worker process with its own torch threads.

Why processes: the demo's 1M-parameter model cannot keep two cores busy from one process (two torch
threads run a GRPO step only ~1.5x faster than one), so two stages side by side, one thread each, get
~1.3x more done per second on 2 cores than the same stages one after the other. Workers are spawned
(never forked from a process that may hold torch's thread pool); a worker's output goes to the stage's
log file, so two progress bars never interleave on the terminal.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass
class StageJob:
    """One stage for `Stages.run_many`.

    Attributes:
        name: the stage's name (its marker is `stage-<name>.json`).
        work: a module-level function (it is pickled to the worker), called as `work(*args)`; returns the
            stage's result (a JSON-able dict) or None.
        args: its arguments (picklable).
        inputs: what the stage is made from, checked against its marker to reuse it (e.g. its config).
        after: names of the stages it needs first.
        progress: (a run's `metrics.jsonl`, its total steps): shown as steps done while the stage runs.
    """

    name: str
    work: Callable[..., dict | None]
    args: tuple = ()
    inputs: object = None
    after: tuple[str, ...] = ()
    progress: tuple[Path, int] | None = None

    def call(self) -> dict | None:
        return self.work(*self.args)


@dataclass
class Plan:
    """How many stages run at once (`jobs`) and with how many torch threads each (`threads`)."""

    jobs: int = 1
    threads: int | None = None  # None: torch's default (one per core)

    @classmethod
    def for_machine(cls, jobs: int | None, threads: int | None) -> Plan:
        """`jobs` default: 2 on a machine with 2 or more cores, else 1; `threads` default: the cores shared out."""
        cores = os.cpu_count() or 1
        jobs = jobs if jobs is not None else min(2, cores)
        if jobs < 1:
            raise ValueError(f"--jobs must be >= 1, got {jobs}")
        if threads is not None and threads < 1:
            raise ValueError(f"--threads must be >= 1, got {threads}")
        if jobs > 1 and threads is None:
            threads = max(1, cores // jobs)
        return cls(jobs=jobs, threads=threads)


def start_worker(threads: int | None) -> None:
    """Pool initializer: the worker's torch threads, set before torch starts its pool."""
    if threads is not None:
        os.environ["OMP_NUM_THREADS"] = str(threads)
        import torch

        torch.set_num_threads(threads)


def run_in_worker(job: StageJob, log_path: str) -> dict | None:
    """Run `job` in this worker with stdout and stderr (file descriptors too: tqdm, transformers, child
    processes) appended to `log_path`; logging goes there as well."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", buffering=1) as log, _redirected(log):
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        try:
            return job.call()
        finally:
            root.removeHandler(handler)


@contextlib.contextmanager
def _redirected(log):
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = log
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stdout, sys.stderr = stdout, stderr
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def steps_done(metrics: Path) -> int:
    """The last training step logged so far in a run's `metrics.jsonl` (0 before the first)."""
    step = 0
    try:
        with open(metrics, "rb") as lines:
            for line in lines:
                with contextlib.suppress(ValueError):
                    step = max(step, int(json.loads(line).get("step") or 0))
    except OSError:
        pass
    return step
