import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewards import build

DONE = "<think>...</think><answer>4</answer>"
WRONG = "<think>...</think><answer>5</answer>"
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def length_reward(**params):
    functions, _ = build({"correctness": {"weight": 1.0}, "length": {"weight": 0.5, **params}})
    return functions[1]


def score(reward, lengths, correct, qid="q1", step=None, **extra):
    completions = [DONE if ok else WRONG for ok in correct]
    columns = {"answer": ["4"] * len(lengths), "id": [qid] * len(lengths), **extra}
    if step is not None:
        columns["trainer_state"] = SimpleNamespace(global_step=step)
    return reward(prompts=["q"] * len(lengths), completions=completions, completion_ids=[[0] * n for n in lengths], **columns)


def test_issue_example_scores_exactly():
    assert score(length_reward(), [100, 200, 300, 50], [True, True, True, False]) == [0.0, 0.0, -0.5, 0.0]


def test_running_reference_is_an_ema_updated_before_scoring():
    reward = length_reward(momentum=0.9)
    score(reward, [100, 300], [True, True])  # ref = 200
    assert reward.questions["q1"].ref_tokens == 200
    scores = score(reward, [400, 400], [True, True])  # ref = 0.9*200 + 0.1*400 = 220
    assert reward.questions["q1"].ref_tokens == pytest.approx(220)
    assert scores == pytest.approx([-(400 - 220) / 220] * 2)


def test_group_reference_forgets_previous_steps():
    reward = length_reward(reference="group")
    score(reward, [100, 100], [True, True])
    assert score(reward, [400, 200], [True, True]) == [pytest.approx(-1 / 3), 0.0]
    assert score(reward, [400], [False]) == [0.0]
    assert reward.questions["q1"].ref_tokens is None


def test_cumulative_reference_is_the_mean_of_all_correct():
    reward = length_reward(reference="cumulative")
    score(reward, [100, 200], [True, True])
    score(reward, [600], [True])
    assert reward.questions["q1"].ref_tokens == pytest.approx(300)


def test_cap_incorrect_and_no_reference():
    reward = length_reward(cap=0.25)
    assert score(reward, [10, 20], [False, False]) == [0.0, 0.0]  # no reference yet
    assert score(reward, [100, 1000], [True, True]) == [0.0, -0.25]
    assert score(reward, [5000], [False]) == [0.0]
    strict = length_reward(penalise_incorrect=True)
    assert score(strict, [100, 300], [True, False]) == [0.0, -1.0]


def test_questions_are_kept_apart():
    reward = length_reward()
    score(reward, [100], [True], qid="short")
    score(reward, [1000], [True], qid="long")
    assert score(reward, [1000], [True], qid="short") == [-1.0]
    assert score(reward, [1000], [True], qid="long") == [0.0]


def test_question_id_falls_back_to_prompt_hash():
    reward = length_reward()
    reward(prompts=["a", "a", "b"], completions=[DONE] * 3, completion_ids=[[0] * 10, [0] * 30, [0] * 90], answer=["4"] * 3)
    assert sorted(s.ref_tokens for s in reward.questions.values()) == [20, 90]


def test_sigmoid_shape_over_the_group():
    reward = length_reward(shape="sigmoid")
    scores = score(reward, [100, 200, 300], [True, True, True])
    assert scores[1] == pytest.approx(-0.5) and scores[0] > scores[1] > scores[2]


def test_warm_up_by_step_and_by_accuracy():
    reward = length_reward(start_step=5)
    assert score(reward, [100, 300], [True, True], step=4) == [0.0, 0.0]
    assert reward.questions["q1"].ref_tokens == 200  # references warm up meanwhile
    assert score(reward, [100, 300], [True, True], step=5)[1] < 0
    gated = length_reward(min_accuracy=0.6, momentum=0.5)
    assert score(gated, [100, 300, 50, 50], [True, True, False, False]) == [0.0] * 4  # accuracy 0.5
    assert score(gated, [100, 300], [True, True])[1] < 0  # accuracy 0.75


def test_state_round_trip_is_json_and_continues_identically():
    reward = length_reward()
    score(reward, [100, 300], [True, True], qid="a")
    score(reward, [50], [True], qid="b")
    state = json.loads(json.dumps(reward.state_dict()))
    restored = length_reward()
    restored.load_state_dict(state)
    assert restored.state_dict() == reward.state_dict()
    assert score(restored, [400, 100], [True, True], qid="a") == score(reward, [400, 100], [True, True], qid="a")


def test_metrics_are_logged():
    reward = length_reward()
    logged = {}
    score(reward, [100, 300], [True, True], log_metric=logged.__setitem__)
    assert logged["length/ref_mean"] == 200 and logged["length/penalised_frac"] == 0.5


def _preset_rewards(path: Path) -> dict:
    from rl.config import read_yaml  # presets `extends:` each other

    return read_yaml(path)["rewards"]


PRESETS = [CONFIGS / "dont_overthink.yaml", CONFIGS / "demo" / "dont_overthink.yaml", CONFIGS / "demo" / "smoke.yaml"]
completion_st = st.tuples(st.integers(1, 4000), st.booleans(), st.booleans(), st.sampled_from(["en", "zh", "mixed"]))


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: str(p.relative_to(CONFIGS)))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(groups=st.lists(st.lists(completion_st, min_size=2, max_size=8), min_size=1, max_size=4))
def test_correct_always_outscores_incorrect_with_shipped_weights(preset, groups):
    functions, weights = build(_preset_rewards(preset))
    reasoning = {"en": "we add them", "zh": "我们加起来", "mixed": "we 加"}
    for step, group in enumerate(groups):
        completions, ids, correct = [], [], []
        for tokens, ok, formatted, language in group:
            text = f"<think>{reasoning[language]}</think><answer>{4 if ok else 5}</answer>"
            completions.append(text if formatted else text + " extra")
            ids.append([0] * tokens)
            correct.append(ok)
        columns = {"answer": ["4"] * len(group), "id": ["q"] * len(group), "trainer_state": SimpleNamespace(global_step=10_000 + step)}
        scores = [f(prompts=["q"] * len(group), completions=completions, completion_ids=ids, **columns) for f in functions]
        totals = [sum(w * s[i] for w, s in zip(weights, scores)) for i in range(len(group))]
        right = [t for t, ok in zip(totals, correct) if ok]
        wrong = [t for t, ok in zip(totals, correct) if not ok]
        if right and wrong:
            assert min(right) > max(wrong)
