"""The real GRPOTrainer/RLOOTrainer at tiny scale on CPU: the smoke preset, metrics, resume."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rl.config import load_config
from rl.config.trainer_args import PROJECT_DEFAULTS
from rl.train.train import train

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
pytestmark = pytest.mark.integration


def read_metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def test_smoke_preset_through_the_cli_writes_length_and_reward_metrics(tmp_path):
    run = tmp_path / "smoke"
    result = subprocess.run(
        [sys.executable, "-m", "rl", "train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}",
         "--set", f"model.cache_dir={tmp_path / 'cache'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    steps = [row for row in read_metrics(run) if "completions/mean_length" in row]
    assert [row["step"] for row in steps] == [1, 2]
    for row in steps:
        for key in ("completions/mean_length", "completions/clipped_ratio", "accuracy", "rewards/correctness/mean",
                    "rewards/format/mean", "rewards/language/mean", "rewards/length/mean", "length/penalised_frac",
                    "language/consistency_mean", "rewards/errors", "reward"):  # fmt: skip
            assert key in row, key
        assert row["rewards/errors"] == 0
    assert "distributed: type=NO backend=none world_size=1 deepspeed=off" in result.stderr
    assert json.loads((run / "reward_state.json").read_text())["length"]["calls"] == 2
    # config.yaml is the config as resolved from the preset and --set; what this machine added is recorded apart.
    overrides = [f"trainer.output_dir={run}", f"model.cache_dir={tmp_path / 'cache'}"]
    assert load_config(run / "config.yaml").model_dump() == load_config(SMOKE, overrides).model_dump()
    saved = yaml.safe_load((run / "config.yaml").read_text())
    record = yaml.safe_load((run / "resolved_trainer_args.yaml").read_text())
    assert "bf16" not in saved["trainer"] and record["machine"]["world_size"] == 1
    assert record["trainer"] == {**PROJECT_DEFAULTS, **saved["trainer"], **record["machine"]["filled_in"]}


def test_resume_after_a_crash_continues_from_the_checkpoint_with_its_reward_state(tmp_path):
    overrides = [f"trainer.output_dir={tmp_path / 'run'}", f"model.cache_dir={tmp_path / 'cache'}", "trainer.max_steps=2"]
    run = train(load_config(SMOKE, overrides))
    # Simulate a crash after checkpoint-1: step 2's checkpoint is lost, its metrics line is not.
    shutil.rmtree(run / "checkpoint-2")
    saved = json.loads((run / "checkpoint-1" / "reward_state.json").read_text())["length"]
    assert saved["calls"] == 1 and saved["questions"]

    config = load_config(SMOKE, [*overrides[:2], "trainer.max_steps=3"])
    with pytest.raises(Exception, match="--resume"):
        train(config)
    train(config, resume=True)
    trainer_state = json.loads((run / "checkpoint-3" / "trainer_state.json").read_text())
    assert trainer_state["global_step"] == 3
    assert [row["step"] for row in read_metrics(run) if "completions/mean_length" in row] == [1, 2, 3]
    final = json.loads((run / "reward_state.json").read_text())["length"]
    assert final["calls"] == 3  # 1 restored from checkpoint-1 + steps 2 and 3 (2 without the restore)
    assert set(saved["questions"]) <= set(final["questions"])


def test_rloo_runs_with_the_same_config(tmp_path):
    overrides = [f"trainer.output_dir={tmp_path / 'rloo'}", f"model.cache_dir={tmp_path / 'cache'}", "algorithm=rloo", "trainer.max_steps=1"]
    run = train(load_config(SMOKE, overrides))
    assert any("rewards/length/mean" in row for row in read_metrics(run))


def test_one_launch_parses_the_rewards_once(monkeypatch, tmp_path):
    """`rl train` parses `rewards:` once (`rewards.parse_spec`, at config load): TRL's weights, the reward stack and
    the eval's grading all read those entries (`RunConfig.reward_entries`, `rl.eval.rollout.RolloutContext`)."""
    import rewards.spec
    from rl.cli import main

    original, calls = rewards.spec.parse_spec, []

    def counting(spec, *args, **kwargs):
        calls.append(dict(spec))
        return original(spec, *args, **kwargs)

    for module in list(sys.modules.values()):  # every module that holds the name (`from rewards import parse_spec`)
        if getattr(module, "parse_spec", None) is original:
            monkeypatch.setattr(module, "parse_spec", counting)
    overrides = [f"trainer.output_dir={tmp_path / 'run'}", f"model.cache_dir={tmp_path / 'cache'}", "trainer.max_steps=1",
                 "eval_during_training.every_steps=1", "eval_during_training.limit=2"]  # fmt: skip
    assert main(["train", "--config", str(SMOKE), *[arg for value in overrides for arg in ("--set", value)]]) == 0
    assert len(calls) == 1 and list(calls[0]) == ["correctness", "format", "language", "length"]
    assert any("eval/accuracy" in row for row in read_metrics(tmp_path / "run"))
