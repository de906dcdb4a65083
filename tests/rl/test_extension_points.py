"""Extension points: the algorithm table, the reward registry, the shared answer-checking section, the tiny-model cache key."""

import dataclasses

import pytest

import rewards
from rewards.base import RewardComponent, StatefulReward, stateful_rewards
from rl.config import ConfigError, validate
from rl.config.algorithms import ALGORITHMS, algorithm_spec


def test_every_algorithm_entry_names_real_trl_classes_and_reads_trl_defaults():
    for name, spec in ALGORITHMS.items():
        assert dataclasses.is_dataclass(spec.config_class()) and spec.trainer_class().__name__.endswith("Trainer")
        assert spec.default("num_generations") == next(
            f.default for f in dataclasses.fields(spec.config_class()) if f.name == "num_generations"
        ), name
    assert algorithm_spec("rloo").config_class().__name__ == "RLOOConfig"


def test_an_unknown_algorithm_lists_the_table():
    with pytest.raises(ConfigError, match=r"algorithm: unknown algorithm 'ppo' \(available: grpo, rloo\)"):
        validate({"algorithm": "ppo"})


def test_register_refuses_to_replace_a_name_unless_told():
    class Constant(RewardComponent):
        Params = rewards.REGISTRY["format"].Params

        def score(self, analysis, columns):
            return [1.0] * len(analysis)

    with pytest.raises(ValueError, match="'format' is already registered"):
        rewards.register("format", Constant)
    rewards.register("constant_test_reward", Constant)
    try:
        [constant], _ = rewards.build({"constant_test_reward": {}})
        assert constant(prompts=["q"], completions=["x"]) == [1.0]
        rewards.register("constant_test_reward", Constant)  # the same class again is fine
    finally:
        rewards.REGISTRY.pop("constant_test_reward")


def test_answer_checking_is_one_section_shared_by_every_component():
    functions, _ = rewards.build({"cosine_length": {}, "length": {}}, {"timeout_s": 0.5, "fallback": "last_number", "workers": 2})
    assert {id(f.analyzer) for f in functions} == {id(functions[0].analyzer)}
    assert functions[0].analyzer.options.timeout_s == 0.5 and functions[0].analyzer.options.workers == 2
    with pytest.raises(rewards.RewardSpecError, match="answer_checking.timout_s: unknown option; did you mean 'timeout_s'"):
        rewards.build({"correctness": {}}, {"timout_s": 1})
    with pytest.raises(rewards.RewardSpecError, match="rewards.correctness.timeout_s: .* answer_checking.timeout_s"):
        rewards.build({"correctness": {"timeout_s": 1.0}})
    with pytest.raises(ConfigError, match="answer_checking: workers must be >= 1"):
        validate({"answer_checking": {"workers": 0}})


def test_stateful_rewards_are_found_by_the_declared_protocol():
    functions, _ = rewards.build({"correctness": {}, "length": {}, "format": {}})
    assert list(stateful_rewards(functions)) == ["length"]
    assert isinstance(functions[1], StatefulReward) and not isinstance(functions[0], StatefulReward)


def test_the_tiny_model_cache_is_keyed_by_the_tokenizer_corpus(tmp_path, monkeypatch):
    import rl.data.models as models

    first = models.build_tiny_model("test", tmp_path)
    assert models.build_tiny_model("test", tmp_path) == first  # reused
    monkeypatch.setattr(models, "tokenizer_corpus", lambda seed=0: ["a different corpus 1 + 2 = 3"] * 50)
    assert models.build_tiny_model("test", tmp_path) != first
