import math

import pytest

from rewards import RewardSpecError, build

OK, BAD = "<answer>4</answer>", "<answer>5</answer>"


def call(reward, lengths, correct, ids=None):
    n = len(lengths)
    return reward(
        prompts=["q"] * n,
        completions=[OK if c else BAD for c in correct],
        completion_ids=[[0] * length for length in lengths],
        answer=["4"] * n,
        id=ids or ["a"] * n,
    )


def test_kimi_hand_computed_per_question():
    [kimi], _ = build({"kimi_length": {}})
    # question a: min 100, max 300; question b: min 1000, max 1000 (all 0)
    scores = call(kimi, [100, 200, 300, 250, 1000, 1000], [True, True, True, False, True, False], ids=list("aaaabb"))
    assert scores == pytest.approx([0.5, 0.0, -0.5, -0.25, 0.0, 0.0])


def test_kimi_incorrect_never_positive():
    [kimi], _ = build({"kimi_length": {}})
    assert call(kimi, [10, 90], [False, True]) == [0.0, -0.5]


def test_cosine_matches_the_formula_and_trl():
    from trl.rewards import get_cosine_scaled_reward

    [cosine], _ = build({"cosine_length": {"max_completion_length": 100}})
    ours = call(cosine, [0, 50, 100, 150, 50], [True, True, True, True, False])
    assert ours == pytest.approx([1.0, 0.75, 0.5, 0.5, -0.75])
    trl_reward = get_cosine_scaled_reward(max_len=100)
    theirs = trl_reward(
        completions=[[{"content": "\\boxed{4}"}]] * 4 + [[{"content": "\\boxed{5}"}]],
        solution=["4"] * 5,
        completion_ids=[[0] * n for n in (0, 50, 100, 150, 50)],
    )
    assert ours == pytest.approx(theirs)


def test_overlong_is_trls_dapo_punishment():
    [overlong], _ = build({"overlong": {"max_completion_length": 100, "soft_punish_cache": 20}})
    assert call(overlong, [80, 90, 100, 120], [True] * 4) == pytest.approx([0.0, -0.5, -1.0, -1.0])


def test_length_target_from_param_and_column():
    [by_param], _ = build({"length_target": {"alpha": 0.01, "target_tokens": 100}})
    assert call(by_param, [150, 100, 60], [True] * 3) == pytest.approx([-0.5, 0.0, -0.4])
    [by_column], _ = build({"length_target": {"alpha": 0.1}})
    scores = by_column(prompts=["q"], completions=[OK], completion_ids=[[0] * 12], target_tokens=[10])
    assert scores == pytest.approx([-0.2])


def test_token_counts_not_characters():
    [kimi], _ = build({"kimi_length": {}})
    long_text = "<answer>4</answer>" + " padding" * 500
    scores = kimi(prompts=["q", "q"], completions=[long_text, OK], completion_ids=[[0] * 10, [0] * 20], answer=["4", "4"])
    assert scores == [0.5, -0.5]
    assert not math.isnan(scores[0])


def test_the_completion_budget_defaults_to_the_trainers():
    # Passed in at build time (rl passes trainer.max_completion_length); the same number overridden per reward.
    [cosine, overlong, target], _ = build({"cosine_length": {}, "overlong": {"soft_punish_cache": 20}, "length_target": {"alpha": 0.01}},
                                          max_completion_length=100)  # fmt: skip
    assert call(cosine, [50], [True]) == pytest.approx([0.75])
    assert call(overlong, [90], [True]) == pytest.approx([-0.5])
    assert target.bounds(True) == (-1.0, 0.0)
    [own], _ = build({"cosine_length": {"max_completion_length": 200}}, max_completion_length=100)
    assert call(own, [100], [True]) == pytest.approx([0.75])
    [standalone], _ = build({"cosine_length": {}})  # no trainer: TRL's default budget
    assert standalone.params.max_completion_length == 512


@pytest.mark.parametrize(
    ("reward", "old", "new"),
    [("cosine_length", "max_len", "max_completion_length"), ("overlong", "max_completion_len", "max_completion_length"),
     ("length_target", "max_tokens", "max_completion_length"), ("length_target", "target", "target_tokens")],
)  # fmt: skip
def test_renamed_parameters_fail_naming_the_new_key(reward, old, new):
    with pytest.raises(RewardSpecError) as error:
        build({reward: {old: 100}})
    assert str(error.value) == f"rewards.{reward}.{old}: renamed to rewards.{reward}.{new}"
