"""Choosing among sampled answers with a verifier: step-score aggregation, best-of-N, the verifier-weighted vote.

The verifier is anything with the `rl.testtime.verifiers.Verifier` interface (a trained checkpoint, or a scripted one in tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from rl.errors import ConfigError

AGGREGATIONS = ("last", "min", "product")


@dataclass(frozen=True)
class StepScoring:
    """How a process verifier's step scores become one score for a (partial) solution.

    Args:
        aggregation: `last`, `min` or `product` (`aggregate_scores`); default `last`, as search-and-learn.
        step_separator: the text that ends a step, as the verifier's training steps were split
            (None: the verifier's own `step_separator`, else a newline).
    """

    aggregation: str = "last"
    step_separator: str | None = None

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            raise ConfigError(f"--aggregation: unknown {self.aggregation!r} (choose from {', '.join(AGGREGATIONS)})")
        if self.step_separator == "":
            raise ConfigError("--step-separator must not be empty")

    def separator_for(self, verifier: object) -> str:
        """The separator to split completions at for `verifier`: ours if set, else the verifier's, else a newline."""
        return self.step_separator or getattr(verifier, "step_separator", None) or "\n"


class StepVerifier(Protocol):
    """What search and selection need from a verifier (`rl.testtime.verifiers.Verifier` implements it).

    `kind` is "process" (a score after every step) or "outcome" (one score for the whole completion).
    """

    kind: str

    def score_steps(self, prompts: list[str], steps: list[list[str]]) -> list[list[float]]: ...

    def score(self, prompts: list[str], completions: list[str]) -> list[float]: ...


def aggregate_scores(step_scores: Sequence[float], aggregation: str = "last") -> float:
    r"""One score for a (partial) solution from its per-step scores $s_1..s_T$ in [0, 1].

    `last`: $s_T$; `min`: $\min_t s_t$ (a solution is as good as its worst step, Lightman et al. 2023,
    arXiv:2305.20050); `product`: $\prod_t s_t$ (every step must be right). The choice follows
    Snell et al. 2024 (arXiv:2408.03314) and HF search-and-learn, which search with `last`.

    Args:
        step_scores: the verifier's score after each step (at least one).
        aggregation: `last`, `min` or `product`.

    Returns:
        A score in [0, 1].

    Raises:
        ValueError: no step scores, or an unknown aggregation.

    >>> aggregate_scores([0.9, 0.5, 0.8], "last"), aggregate_scores([0.9, 0.5, 0.8], "min"), round(aggregate_scores([0.9, 0.5, 0.8], "product"), 2)
    (0.8, 0.5, 0.36)
    """
    if not step_scores:
        raise ValueError("aggregate_scores needs at least one step score")
    if aggregation == "last":
        return float(step_scores[-1])
    if aggregation == "min":
        return float(min(step_scores))
    if aggregation == "product":
        return float(math.prod(step_scores))
    raise ValueError(f"unknown aggregation {aggregation!r} (choose from {', '.join(AGGREGATIONS)})")


def split_completion(completion: str, separator: str) -> list[str]:
    """The steps of a completion as the verifiers were trained on them (`rl.testtime.verifiers.split_steps`)."""
    from rl.testtime.verifiers import split_steps

    return split_steps(completion, separator)


def completion_scores(verifier: StepVerifier, prompts: list[str], completions: list[str], scoring: StepScoring = StepScoring()) -> list[float]:
    """One verifier score in [0, 1] per completion.

    A process verifier scores the completion's steps (split at `scoring`'s separator) and the scores
    are aggregated (`aggregate_scores`); an outcome verifier scores the whole completion.
    """
    if verifier.kind == "outcome":
        return [float(score) for score in verifier.score(prompts, completions)]
    separator = scoring.separator_for(verifier)
    steps = [split_completion(completion, separator) or [completion] for completion in completions]
    return [aggregate_scores(scores, scoring.aggregation) for scores in verifier.score_steps(prompts, steps)]


def best_of_n(scores: Sequence[float]) -> int:
    """Index of the completion the verifier scores highest (best-of-N; ties: the first sampled).

    >>> best_of_n([0.2, 0.9, 0.9, 0.1])
    1
    """
    if not scores:
        raise ValueError("best_of_n needs at least one scored completion")
    return max(range(len(scores)), key=lambda index: (scores[index], -index))


def weighted_vote(answers: Sequence[str | None], scores: Sequence[float], same: Callable[[str, str], bool]) -> str | None:
    r"""The answer whose cluster has the largest summed verifier score (verifier-weighted majority vote).

    $\hat a = \arg\max_a \sum_{i: a_i \equiv a} r_i$ (Li et al. 2023, arXiv:2206.02336; Uesato et al. 2022,
    arXiv:2211.14275): self-consistency where each sample votes with its verifier score. Answers are
    clustered by `same` (equivalence, as `rl.eval.metrics.majority_answer` does); samples without an
    answer do not vote; ties go to the cluster seen first.

    >>> weighted_vote(["1", "2", "2", None], [0.9, 0.3, 0.4, 1.0], str.__eq__)
    '1'
    """
    clusters: list[tuple[str, float]] = []
    for answer, score in zip(answers, scores, strict=True):
        if answer is None:
            continue
        for index, (representative, total) in enumerate(clusters):
            if representative == answer or same(answer, representative):
                clusters[index] = (representative, total + score)
                break
        else:
            clusters.append((answer, float(score)))
    if not clusters:
        return None
    return max(clusters, key=lambda cluster: cluster[1])[0]
