"""Evaluation metrics on hand-made samples: unbiased pass@k, maj@k over equivalent answers, length quintiles."""

import math

import pytest

import rewards
from rl.eval.metrics import accuracy_by_length_quintile, majority_answer, pass_at_k


def test_pass_at_k_matches_the_unbiased_estimator_by_hand():
    # n=5 samples, c=2 correct: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 3, 3) == 1.0  # fewer wrong samples than k: some draw must be right
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 4)


def test_pass_at_k_equals_the_brute_force_average_over_subsets():
    from itertools import combinations

    flags = [True, False, False, True, False, False]
    for k in range(1, 7):
        subsets = list(combinations(flags, k))
        brute = sum(any(subset) for subset in subsets) / len(subsets)
        assert pass_at_k(len(flags), sum(flags), k) == pytest.approx(brute)


def test_majority_vote_clusters_equivalent_answers():
    # 0.5 and \frac12 are one answer with two votes; 0.3 has two literal votes but comes later.
    answers = ["0.3", "0.5", r"\frac{1}{2}", None, "0.3", r"\dfrac{1}{2}"]
    assert majority_answer(answers, rewards.answers_match) in ("0.5",)
    assert majority_answer([None, None], rewards.answers_match) is None
    # ties go to the first cluster seen
    assert majority_answer(["7", "8"], rewards.answers_match) == "7"


def test_accuracy_by_length_quintile():
    tokens = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    correct = [True, True, True, True, True, False, False, True, False, False]
    buckets = accuracy_by_length_quintile(tokens, correct)
    assert [b["accuracy"] for b in buckets] == [1.0, 1.0, 0.5, 0.5, 0.0]
    assert buckets[0]["min_tokens"] == 10 and buckets[-1]["max_tokens"] == 100
    assert sum(b["samples"] for b in buckets) == 10
    assert accuracy_by_length_quintile([], []) == []
    assert not math.isnan(accuracy_by_length_quintile([5], [True])[0]["accuracy"])
