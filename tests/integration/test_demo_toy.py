"""The demo pipeline at toy size: every stage for real (SFT, two GRPO runs, evals), report files, stage reuse."""

import json

import pytest

pytestmark = pytest.mark.integration


def test_toy_demo_writes_report_and_reuses_finished_stages(tmp_path, toy_demo):
    out = tmp_path / "demo"
    first = toy_demo(out, "--threads", "1")
    assert first.returncode == 0, first.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert set(report["runs"]) == {"sft", "r1_zero", "dont_overthink"}
    for run in report["runs"].values():
        assert 0.0 <= run["accuracy"] <= 1.0 and run["mean_tokens"] > 0
        assert run["wall_seconds"]["train"] is not None and run["wall_seconds"]["eval"] is not None
    assert {"rl_gain_points", "length_ratio_dont_overthink_vs_r1_zero"} <= set(report["comparisons"])
    # the toy's warm start is not the shipped recipe: it is built here, and the report says so
    assert report["base"]["source"] == "built" and report["base"]["recipe_sha"] != report["base"]["shipped_recipe_sha"]
    pair = report["comparisons"]["dont_overthink_vs_r1_zero_paired"]
    assert pair["questions"] == 4 and pair["ci95_low"] <= pair["points"] <= pair["ci95_high"]
    assert (out / "curves.png").stat().st_size > 10_000
    assert "| R1-Zero (correctness + format) |" in (out / "report.md").read_text()
    # The two RL runs differ only in rewards: only one logged the length reward.
    r1 = (out / "r1_zero" / "metrics.jsonl").read_text()
    short = (out / "dont_overthink" / "metrics.jsonl").read_text()
    assert "rewards/length/mean" not in r1 and "rewards/length/mean" in short

    second = toy_demo(out)
    assert second.returncode == 0, second.stderr[-4000:]
    assert second.stderr.count("done before") == 7

    other_seed = toy_demo(out, "--seed", "1")
    assert other_seed.returncode == 2 and "--fresh" in other_seed.stderr


def test_toy_demo_with_stages_side_by_side_gives_the_same_numbers(tmp_path, toy_demo):
    """`--jobs 2`: the RL runs and evals in two worker processes, one after the other's results unchanged."""
    numbers = {}
    for jobs in ("1", "2"):
        out = tmp_path / f"jobs{jobs}"
        run = toy_demo(out, "--jobs", jobs, "--threads", "1")
        assert run.returncode == 0, run.stderr[-4000:]
        report = json.loads((out / "report.json").read_text())
        assert report["stages_at_once"] == int(jobs)
        numbers[jobs] = {name: (r["accuracy"], r["mean_tokens"], r["sampled"]["pass@1"], r["sampled"]["mean_tokens"]) for name, r in report["runs"].items()}
    assert numbers["1"] == numbers["2"]
    logs = tmp_path / "jobs2" / "logs"
    assert {path.name for path in logs.iterdir()} == {"rl-r1_zero.log", "rl-dont_overthink.log", "eval-sft.log", "eval-r1_zero.log", "eval-dont_overthink.log"}
    training, evaluation = (logs / "rl-r1_zero.log").read_text(), (logs / "eval-sft.log").read_text()
    assert "train_runtime" in training and "generating" not in training  # each stage's output in its own log
    assert "generating" in evaluation and "train_runtime" not in evaluation
