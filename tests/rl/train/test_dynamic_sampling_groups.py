"""Dynamic sampling's pieces: which groups are informative, TRL's advantages of a kept batch, and the config checks."""

import pytest
import torch

from rl.config import load_config
from rl.errors import ConfigError
from rl.train.dynamic_sampling import group_advantages, informative_groups

SMOKE = "configs/demo/smoke.yaml"


def test_a_group_is_informative_when_two_scored_completions_differ():
    nan = float("nan")
    values = torch.tensor([1, 0, 1, 1, 0.2, 0.2 + 1e-8, 0.5, nan, 0.5, 0.0, nan, nan])
    assert informative_groups(values, 2).tolist() == [True, False, False, False, True, False]


@pytest.mark.parametrize("scale", ["group", "batch", "none"])
def test_advantages_of_a_kept_batch_are_trls_formula(scale):
    rewards = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.2, 0.2, 1.2, float("nan")])
    grouped = rewards.view(-1, 4)
    mean = torch.nanmean(grouped, dim=1).repeat_interleave(4)
    finite = [r[~r.isnan()] for r in grouped]
    group_std = torch.tensor([float(r.std()) for r in finite]).repeat_interleave(4)
    batch_std = rewards[~rewards.isnan()].std()
    expected = rewards - mean
    if scale != "none":
        expected = expected / ((batch_std if scale == "batch" else group_std) + 1e-4)
    expected = torch.nan_to_num(expected, nan=0.0)
    assert torch.allclose(group_advantages(rewards, 4, scale), expected, atol=1e-6)


def test_config_needs_grpo_a_known_metric_and_summed_rewards():
    assert load_config(SMOKE, ["dynamic_sampling={}"]).dynamic_sampling.metric == "correctness"
    assert load_config(SMOKE).dynamic_sampling is None  # off by default
    with pytest.raises(
        ConfigError,
        match="dynamic_sampling.metric: 'correctnes' is not a reward of this config; did you mean 'correctness'",
    ):
        load_config(SMOKE, ["dynamic_sampling={metric: correctnes}"])
    with pytest.raises(ConfigError, match="dynamic_sampling works with algorithm: grpo, not rloo"):
        load_config(SMOKE, ["dynamic_sampling={}", "algorithm=rloo"])
    with pytest.raises(ConfigError, match="multi_objective_aggregation: sum_then_normalize"):
        load_config(
            SMOKE, ["dynamic_sampling={metric: reward}", "trainer.multi_objective_aggregation=normalize_then_sum"]
        )
    with pytest.raises(ConfigError, match="max_rounds"):
        load_config(SMOKE, ["dynamic_sampling={max_rounds: 0}"])


def flatten(data: dict, prefix: str = "") -> dict:
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and key not in ("rewards", "dynamic_sampling"):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_dler_preset_is_the_reasoning_model_preset_plus_the_dler_recipe():
    dler = flatten(load_config("dler").model_dump())
    preset = flatten(load_config("shorten_r1_distill").model_dump())
    changed = {key for key in dler.keys() | preset.keys() if dler.get(key) != preset.get(key)}
    recipe = {"rewards", "dynamic_sampling", "trainer.max_completion_length", "trainer.scale_rewards", "trainer.epsilon_high"}
    assert changed == recipe | {"trainer.output_dir"}
    assert dler["rewards"] == {"correctness": {"weight": 1.0}} and dler["answer_checking.grade_unfinished"] is False
    assert dler["trainer.scale_rewards"] == "batch" and dler["trainer.epsilon_high"] == 0.28
    assert dler["dynamic_sampling"] == {"metric": "correctness", "max_rounds": 4}
    assert dler["trainer.max_completion_length"] < preset["trainer.max_completion_length"]
    assert not dler.get("trainer.mask_truncated_completions")  # it would take the truncation penalty out of the loss
