"""Test-time strategies of `rl eval --strategy`: greedy, sample (pass@k, maj@k), best_of_n and beam, with their token cost.

Every strategy reports the accuracy of the answer it returns and the tokens it generated per
question, the discarded samples and pruned beams included: the cost axis of test-time compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rl.errors import ConfigError
from rl.testtime.search import BeamSettings
from rl.testtime.selection import StepScoring, StepVerifier

STRATEGIES = ("greedy", "sample", "best_of_n", "beam")


@dataclass(frozen=True)
class Strategy:
    """How `rl eval` turns generations into one answer per question.

    Args:
        name: `greedy` (one greedy answer), `sample` (K samples: pass@k and the majority vote, maj@k),
            `best_of_n` (N samples, the verifier's highest-scored one; also the verifier-weighted vote) or
            `beam` (step-level beam search guided by a process verifier). Default `sample`.
        verifier: a verifier checkpoint (`rl prm train`'s output) for `best_of_n` and `beam`.
        scoring: how a process verifier's step scores are aggregated, and the step separator.
        beam: N, M and the limits of `beam`.
    """

    name: str = "sample"
    verifier: str | None = None
    scoring: StepScoring = field(default_factory=StepScoring)
    beam: BeamSettings = field(default_factory=BeamSettings)

    def __post_init__(self) -> None:
        if self.name not in STRATEGIES:
            raise ConfigError(f"--strategy: unknown {self.name!r} (choose from {', '.join(STRATEGIES)})")

    @property
    def needs_verifier(self) -> bool:
        return self.name in ("best_of_n", "beam")

    def check(self, settings, verifier: StepVerifier | None) -> None:
        """Reject settings that do not fit the strategy (`settings`: the eval's `EvalSettings`), naming the flag to change."""
        if self.needs_verifier and verifier is None and self.verifier is None:
            raise ConfigError(f"--strategy {self.name} needs --verifier DIR (a checkpoint of `rl prm train`)")
        if self.name == "greedy" and settings.samples != 1:
            raise ConfigError("--strategy greedy gives one answer per question; drop --samples")
        if settings.greedy and self.name != "greedy":
            raise ConfigError(f"--greedy decodes one answer per question; it does not fit --strategy {self.name}")
        if self.name == "beam" and settings.samples != 1:
            raise ConfigError("--strategy beam sets its budget with --beams (N), not --samples")


def choose_best_of_n(per_question: list[list[dict]], scores: list[float], same) -> dict:
    """Mark each question's best-of-N sample and the verifier-weighted vote; returns their accuracies.

    `scores` are the verifier's, one per sample in the order of `per_question` (flattened). Each
    sample gets `verifier_score` and `chosen` (the verifier's pick).
    """
    from rl.eval.metrics import mean
    from rl.testtime.selection import best_of_n, weighted_vote

    index, picked, voted = 0, [], []
    for samples in per_question:
        question_scores = scores[index : index + len(samples)]
        index += len(samples)
        for sample, score in zip(samples, question_scores):
            sample["verifier_score"] = score
            sample["chosen"] = False
        if not samples:
            picked.append(False)
            voted.append(False)
            continue
        best = best_of_n(question_scores)
        samples[best]["chosen"] = True
        picked.append(samples[best]["correct"])
        vote = weighted_vote([s["answer"] for s in samples], question_scores, same)
        voted.append(vote is not None and same(vote, samples[0]["gold"]))
    return {"best_of_n_accuracy": mean(picked), "weighted_vote_accuracy": mean(voted)}


def load_strategy_verifier(strategy: Strategy, verifier: StepVerifier | None) -> StepVerifier | None:
    """The verifier object the strategy uses: the one given, else loaded from `strategy.verifier`."""
    if not strategy.needs_verifier or verifier is not None:
        return verifier
    from pathlib import Path

    from rl.testtime.verifiers import load_verifier

    if not Path(strategy.verifier).is_dir():
        raise ConfigError(f"--verifier {strategy.verifier}: not a directory (train one with `python -m rl prm train`)")
    return load_verifier(strategy.verifier)


def budget_curve(per_question: list[list[dict]], ks: list[int], same, scores: list[list[float]] | None = None) -> list[dict]:
    """Accuracy against tokens when only the first k samples of each question had been drawn, for each k in `ks`.

    Per k: `tokens` (mean over questions of the first k samples' tokens: what drawing them cost),
    `majority` (maj@k), and with verifier `scores` (per question, per sample) `best_of_n` (the
    verifier's pick among the k) and `weighted_vote`. One sampled eval gives the whole curve, so every
    k is judged on the same draws.
    """
    from rl.eval.metrics import majority_answer, mean
    from rl.testtime.selection import best_of_n, weighted_vote

    def right(answer, samples) -> bool:
        return answer is not None and same(answer, samples[0]["gold"])

    curve = []
    for k in ks:
        firsts = [samples[:k] for samples in per_question if samples]
        point = {"k": k, "tokens": mean([sum(s["tokens"] for s in first) for first in firsts]),
                 "majority": mean([right(majority_answer([s["answer"] for s in first], same), first) for first in firsts])}  # fmt: skip
        if scores is not None:
            firsts_scores = [question_scores[:k] for samples, question_scores in zip(per_question, scores) if samples]
            point["best_of_n"] = mean([first[best_of_n(s)]["correct"] for first, s in zip(firsts, firsts_scores)])
            point["weighted_vote"] = mean([right(weighted_vote([x["answer"] for x in first], s, same), first) for first, s in zip(firsts, firsts_scores)])
        curve.append(point)
    return curve
