"""Evaluation metrics over sampled answers: pass@k, maj@k (self-consistency), length quintiles."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def pass_at_k(n: int, c: int, k: int) -> float:
    r"""Unbiased pass@k (Chen et al. 2021): $1 - \binom{n-c}{k} / \binom{n}{k}$ for n samples, c correct.

    >>> pass_at_k(4, 1, 1), pass_at_k(4, 1, 4), round(pass_at_k(4, 1, 2), 4)
    (0.25, 1.0, 0.5)
    """
    if not 0 < k <= n:
        raise ValueError(f"need 0 < k <= n, got k={k}, n={n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def majority_answer(answers: Sequence[str | None], same: Callable[[str, str], bool]) -> str | None:
    """The most common answer, clustering answers that `same` calls equivalent (`0.5` and `\\frac12`).

    Ties go to the cluster seen first; samples without an answer do not vote.
    """
    clusters: list[tuple[str, int]] = []
    for answer in answers:
        if answer is None:
            continue
        for index, (representative, votes) in enumerate(clusters):
            if representative == answer or same(answer, representative):
                clusters[index] = (representative, votes + 1)
                break
        else:
            clusters.append((answer, 1))
    if not clusters:
        return None
    return max(clusters, key=lambda cluster: cluster[1])[0]


def accuracy_by_length_quintile(tokens: Sequence[int], correct: Sequence[bool]) -> list[dict]:
    """Accuracy within each fifth of samples sorted by length: does longer reasoning mean lower accuracy?"""
    order = sorted(range(len(tokens)), key=lambda i: tokens[i])
    if not order:
        return []
    buckets = []
    for q in range(5):
        members = order[q * len(order) // 5 : (q + 1) * len(order) // 5]
        if not members:
            continue
        buckets.append({
            "quintile": q + 1,
            "min_tokens": tokens[members[0]],
            "max_tokens": tokens[members[-1]],
            "samples": len(members),
            "accuracy": sum(correct[i] for i in members) / len(members),
        })  # fmt: skip
    return buckets


def mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def paired_difference(first: Sequence[bool], second: Sequence[bool], z: float = 1.96) -> dict:
    r"""Paired accuracy difference `second - first` on the same questions, with a normal-approximation interval.

    With per-question differences $d_i = s_i - f_i \in \{-1, 0, 1\}$: $\bar d \pm z \cdot sd(d) / \sqrt{n}$
    (z = 1.96: 95%). Pairing removes the between-question variance that two independent accuracies
    would carry, so the interval is what a "within 2 points" statement should be read against.

    Args:
        first, second: correctness of each question under two models, in the same question order (length n >= 2).
        z: the normal quantile of the interval.

    Returns:
        `{"points", "ci95_low", "ci95_high", "questions", "first_only", "second_only"}`; the first three in
        accuracy points (100 x), the last two count questions only one model got right.

    Raises:
        ValueError: the sequences differ in length or hold fewer than 2 questions.

    >>> paired_difference([1, 1, 0, 0], [1, 0, 1, 1])["points"]
    25.0
    """
    if len(first) != len(second) or len(first) < 2:
        raise ValueError(f"need two equally long sequences of >= 2 questions, got {len(first)} and {len(second)}")
    differences = [int(bool(s)) - int(bool(f)) for f, s in zip(first, second)]
    n = len(differences)
    centre = sum(differences) / n
    spread = math.sqrt(sum((d - centre) ** 2 for d in differences) / (n - 1))
    half_width = z * spread / math.sqrt(n)
    return {
        "points": round(100 * centre, 2), "ci95_low": round(100 * (centre - half_width), 2),
        "ci95_high": round(100 * (centre + half_width), 2), "questions": n,
        "first_only": differences.count(-1), "second_only": differences.count(1),
    }  # fmt: skip
