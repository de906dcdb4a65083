"""Demo stages side by side in worker processes: they overlap, resume, log apart, and one failure stops the rest."""

import json
import os
import time
from pathlib import Path

import pytest

from rl.demo.pipeline import DemoSettings, Stages
from rl.demo.workers import Plan, StageJob


def nap(seconds: float, counter: str, name: str) -> dict:
    """A stage that takes `seconds`, counts its runs in `counter` and prints (to its log, not the terminal)."""
    print(f"{name} says hello from pid {os.getpid()}", flush=True)
    time.sleep(seconds)
    with open(counter, "a") as runs:
        runs.write(name + "\n")
    return {"name": name, "pid": os.getpid()}


def fail(seconds: float) -> dict:
    time.sleep(seconds)
    raise ValueError("stage exploded")


def stages_in(out_dir: Path, jobs: int) -> Stages:
    return Stages(DemoSettings(out_dir=out_dir, plan=Plan(jobs=jobs, threads=None)), total=3)


def test_independent_stages_run_at_once_then_resume_without_running_again(tmp_path, capfd):
    counter = str(tmp_path / "runs.txt")
    jobs = [
        StageJob("a", nap, (1.5, counter, "a"), inputs={"x": 1}),
        StageJob("b", nap, (1.5, counter, "b"), inputs={"x": 2}),
        StageJob("c", nap, (0.1, counter, "c"), inputs={"x": 3}, after=("a",)),
    ]
    stages = stages_in(tmp_path, jobs=2)
    results = stages.run_many(jobs)

    assert {name: result["name"] for name, result in results.items()} == {"a": "a", "b": "b", "c": "c"}
    assert os.getpid() not in {result["pid"] for result in results.values()}  # in worker processes
    (a_start, a_end), (b_start, b_end), (c_start, _) = (stages.intervals[name] for name in "abc")
    assert a_start < b_end and b_start < a_end  # a and b ran at the same time
    assert c_start >= a_end - 0.05  # c waited for a
    assert stages.elapsed_seconds() < sum(stages.wall_seconds.values()) - 1.0
    assert "says hello" not in capfd.readouterr().out  # a worker's output goes to its stage's log
    assert "a says hello" in (tmp_path / "logs" / "a.log").read_text()
    marker = json.loads((tmp_path / "stage-b.json").read_text())
    assert marker["result"]["name"] == "b" and marker["finished"] > marker["started"]

    again = stages_in(tmp_path, jobs=2)
    assert again.run_many(jobs) == results
    assert sorted(Path(counter).read_text().split()) == ["a", "b", "c"]  # nothing ran twice
    assert again.elapsed_seconds() == stages.elapsed_seconds()  # the wall time comes from the markers


def test_one_job_at_a_time_runs_here_in_order(tmp_path):
    counter = str(tmp_path / "runs.txt")
    jobs = [StageJob(name, nap, (0.0, counter, name), inputs=name) for name in ("b", "a")]
    results = stages_in(tmp_path, jobs=1).run_many(jobs)
    assert {result["pid"] for result in results.values()} == {os.getpid()}
    assert Path(counter).read_text().split() == ["b", "a"]


def test_a_failing_stage_stops_the_others_and_leaves_no_marker(tmp_path):
    counter = str(tmp_path / "runs.txt")
    jobs = [StageJob("slow", nap, (60.0, counter, "slow")), StageJob("bad", fail, (0.5,))]
    started = time.monotonic()
    with pytest.raises(ValueError, match="stage exploded"):
        stages_in(tmp_path, jobs=2).run_many(jobs)
    assert time.monotonic() - started < 30  # the slow stage's worker was stopped, not waited for
    assert not (tmp_path / "stage-slow.json").exists() and not (tmp_path / "stage-bad.json").exists()


def test_a_stage_waiting_for_an_unknown_one_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown stages"):
        stages_in(tmp_path, jobs=2).run_many([StageJob("a", nap, (0.0, "x", "a"), after=("nope",))])


def test_plan_defaults_and_bad_values(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert Plan.for_machine(None, None) == Plan(jobs=2, threads=1)
    assert Plan.for_machine(1, None) == Plan(jobs=1, threads=None)  # one stage at a time: torch's own threads
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert Plan.for_machine(None, None) == Plan(jobs=2, threads=4)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert Plan.for_machine(None, None) == Plan(jobs=1, threads=None)
    for jobs, threads in ((0, None), (2, 0)):
        with pytest.raises(ValueError, match="must be >= 1"):
            Plan.for_machine(jobs, threads)


def test_demo_cli_names_a_bad_jobs_value(capsys):
    from rl.cli import main

    assert main(["demo", "--jobs", "0"]) == 2
    assert "--jobs must be >= 1, got 0" in capsys.readouterr().err
