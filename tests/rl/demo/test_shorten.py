"""The shorten suite's configs: one per method, identical but for the reward or the recipe (asserted), and its chart."""

import pytest

from rl.demo.pipeline import DemoSettings
from rl.demo.shorten import DLER_BUDGET, STEPS, check_only_reward_or_recipe_differs, flat_settings, shorten_configs
from rl.eval.plot import plot_shorten


@pytest.fixture
def configs(tmp_path):
    return shorten_configs(
        DemoSettings(out_dir=tmp_path), "tiny:test", {"every_steps": 10, "limit": 128, "max_new_tokens": 128}
    )


def test_each_method_differs_only_in_its_reward_or_recipe(configs, tmp_path):
    assert list(configs) == ["length", "length+dynamic_sampling", "dler", "kimi_length", "length_target"]
    for name, config in configs.items():
        assert config.model.name_or_path == "tiny:test" and config.trainer["max_steps"] == STEPS
        assert config.output_dir == tmp_path / name.replace("+", "_")
        assert (
            config.trainer["learning_rate"] == 2e-5 and config.trainer["temperature"] == 0.6
        )  # the demo's R1-Zero settings
    assert set(configs["length"].rewards) == {"correctness", "format", "length"}
    assert configs["length+dynamic_sampling"].rewards == configs["length"].rewards
    assert configs["length+dynamic_sampling"].dynamic_sampling.metric == "correctness"
    dler = flat_settings(configs["dler"])
    assert dler["rewards"] == {
        "correctness": {"weight": 1.0},
        "format": {"weight": 0.2},
    }  # R1-Zero's: the budget is the penalty
    assert (dler["trainer.max_completion_length"], dler["trainer.scale_rewards"], dler["trainer.epsilon_high"]) == (
        DLER_BUDGET,
        "batch",
        0.28,
    )
    assert configs["length"].trainer["max_completion_length"] == 128 and configs["length"].dynamic_sampling is None
    assert "kimi_length" in configs["kimi_length"].rewards and "length_target" in configs["length_target"].rewards


def test_a_method_that_changes_anything_else_is_refused(configs):
    changed = dict(configs)
    changed["kimi_length"] = configs["kimi_length"].model_copy(
        update={"trainer": {**configs["kimi_length"].trainer, "learning_rate": 1e-4}}
    )
    with pytest.raises(AssertionError, match="kimi_length differs from length in trainer.learning_rate"):
        check_only_reward_or_recipe_differs(changed)
    changed = dict(configs)  # dynamic sampling is a recipe key of two methods only
    changed["length_target"] = configs["length_target"].model_copy(
        update={"dynamic_sampling": configs["dler"].dynamic_sampling}
    )
    with pytest.raises(AssertionError, match="length_target differs from length in dynamic_sampling"):
        check_only_reward_or_recipe_differs(changed)


def test_shorten_chart_draws_each_methods_held_out_curve(tmp_path):
    curves = {"length": [{"step": 0, "accuracy": 0.87, "mean_tokens": 83.0}, {"step": 10, "accuracy": 0.85, "mean_tokens": 40.0}],
              "dler": [{"step": 0, "accuracy": 0.87, "mean_tokens": 83.0}, {"step": 10, "accuracy": 0.86, "mean_tokens": 33.0}]}  # fmt: skip
    out = plot_shorten(
        curves, {"accuracy": 0.871, "mean_tokens": 83.5, "questions": 256}, tmp_path / "shorten.png", 0.45, "title"
    )
    assert out == tmp_path / "shorten.png" and out.stat().st_size > 10_000


def test_the_closest_method_is_the_most_accurate_short_one():
    from rl.demo.shorten import closest_to_target

    methods = {"long": {"tokens_ratio": 0.91, "accuracy": 0.875, "accuracy_points": 0.4},
               "short": {"tokens_ratio": 0.41, "accuracy": 0.848, "accuracy_points": -2.3},
               "shorter": {"tokens_ratio": 0.37, "accuracy": 0.855, "accuracy_points": -1.6}}  # fmt: skip
    assert closest_to_target(methods) == "shorter"
    assert closest_to_target({"long": methods["long"]}) == "long"
