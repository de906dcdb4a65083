"""A user's own reward named in YAML by `module:Class` trains with the real GRPOTrainer, checked at load like a shipped one."""

import json
from pathlib import Path

import pytest
import yaml

from rl.config import ConfigError, load_config
from rl.train.train import train

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
CUSTOM = "custom_reward_module:Brevity"  # tests/integration/ is on sys.path under pytest (rootdir-relative imports)


def config_file(tmp_path: Path, rewards: dict) -> Path:
    path = tmp_path / "custom.yaml"
    config = {**yaml.safe_load(SMOKE.read_text()), "rewards": rewards}  # the smoke preset with exactly these rewards
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.mark.integration
def test_two_grpo_steps_with_a_reward_named_only_in_the_yaml(tmp_path):
    path = config_file(tmp_path, {"correctness": {"weight": 1.0}, CUSTOM: {"weight": 0.3, "scale_tokens": 16}})
    overrides = [f"trainer.output_dir={tmp_path / 'run'}", f"model.cache_dir={tmp_path / 'cache'}", "trainer.max_steps=2"]
    run = train(load_config(path, overrides))
    steps = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if '"completions/mean_length"' in line]
    assert [row["step"] for row in steps] == [1, 2]
    assert all(-1.0 <= row[f"rewards/{CUSTOM}/mean"] <= 0.0 for row in steps)
    assert load_config(run / "config.yaml").reward_weights == [1.0, 0.3]  # the run's config names the reward by its path


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("no_such_module_here:Brevity", "rewards.no_such_module_here:Brevity: cannot import module 'no_such_module_here'"),
        ("custom_reward_module:Brevty", "rewards.custom_reward_module:Brevty: module custom_reward_module has no class 'Brevty'; did you mean 'Brevity'?"),
        ("custom_reward_module:BrevityParams", "rewards.custom_reward_module:BrevityParams: custom_reward_module:BrevityParams is not a rewards.RewardComponent"),
        (f"{CUSTOM}", "rewards.custom_reward_module:Brevity.scale_token: unknown parameter; did you mean 'scale_tokens'?"),
    ],
)
def test_a_bad_reward_path_fails_at_load_in_one_line(tmp_path, name, message):
    params = {"scale_token": 3} if name == CUSTOM else {}
    with pytest.raises(ConfigError) as error:
        load_config(config_file(tmp_path, {"correctness": {}, name: params}))
    assert message in str(error.value) and "\n" not in str(error.value)
