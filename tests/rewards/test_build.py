import pickle
import warnings

import pytest

from rewards import REGISTRY, RewardSpecError, build


def test_names_weights_and_order():
    functions, weights = build({"correctness": {"weight": 1.0}, "length": {"weight": 0.5}})
    assert [f.__name__ for f in functions] == ["correctness", "length"]
    assert weights == [1.0, 0.5]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"lenght": {}}, "rewards.lenght: unknown reward; did you mean 'length'?"),
        ({"length": {"refrence": "group"}}, "rewards.length.refrence: unknown parameter; did you mean 'reference'?"),
        ({"length": {"reference": "median"}}, "rewards.length: reference must be"),
        ({"length": {"weight": "high"}}, "rewards.length.weight: expected a number"),
        ({"format": 3}, "rewards.format: expected a mapping"),
        ({}, "rewards: expected a mapping"),
    ],
)
def test_bad_specs_name_the_key(spec, message):
    with pytest.raises(RewardSpecError) as error:
        build(spec)
    assert message in str(error.value)
    if "unknown reward" in message:
        assert all(name in str(error.value) for name in REGISTRY)


def test_components_share_one_analysis_per_batch(monkeypatch):
    import rewards.analysis as analysis_module

    calls = []
    original = analysis_module.check_answers
    monkeypatch.setattr(analysis_module, "check_answers", lambda pairs, *a: calls.append(list(pairs)) or original(pairs, *a))
    functions, _ = build({"correctness": {}, "length": {}, "kimi_length": {}, "cosine_length": {}})
    batch = dict(prompts=["q"] * 3, completions=["<answer>4</answer>"] * 3, completion_ids=[[0], [0, 0], [0] * 3], answer=["4"] * 3)
    for function in functions:
        function(**batch)
    assert calls == [[("4", "4")] * 3]  # one batch check per step, however many rewards read it


def test_reward_functions_pickle_for_worker_processes():
    functions, _ = build({"correctness": {}, "format": {}, "length": {}})
    restored = pickle.loads(pickle.dumps(functions))
    assert [f.__name__ for f in restored] == ["correctness", "format", "length"]


def test_failure_scores_zero_and_counts_an_error():
    [length], _ = build({"length": {}})
    logged = {}
    scores = length(prompts=["q"], completions=["x"], completion_ids=None, log_metric=logged.__setitem__)
    assert scores == [0.0] and logged["rewards/errors"] == 1.0


def test_weight_invariant_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build({"correctness": {"weight": 1.0}, "format": {"weight": 0.6}, "length": {"weight": 0.5}})
    assert any("incorrect completion" in str(w.message) for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build({"correctness": {"weight": 1.0}, "format": {"weight": 0.2}, "length": {"weight": 0.5}})
