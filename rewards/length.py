"""`length`: penalise a correct answer for being longer than the per-question mean correct length.

The reference length of each question is state that lives across steps, is identical on every
rank (records are gathered before the update) and is saved with every checkpoint.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass

from rewards.base import RewardComponent
from rewards.distributed import gather_records

STATE_VERSION = 1


@dataclass
class LengthParams:
    """Parameters of `length`."""

    reference: str = "running"  # running (EMA across steps) | group (this step only) | cumulative (all steps)
    momentum: float = 0.9  # EMA momentum of the running reference and running accuracy
    cap: float = 1.0  # largest penalty: -cap
    shape: str = "linear"  # linear: -min(cap, (L-ref)/ref) | sigmoid: -cap*sigmoid((L-mean)/std) of the group
    penalise_incorrect: bool = False  # apply the same penalty to incorrect completions
    start_step: int = 0  # no penalty before this trainer step (references still warm up)
    min_accuracy: float = 0.0  # no penalty for a question until its running accuracy reaches this

    def __post_init__(self) -> None:
        if self.reference not in ("running", "group", "cumulative"):
            raise ValueError(f"reference must be running, group or cumulative, got {self.reference!r}")
        if self.shape not in ("linear", "sigmoid"):
            raise ValueError(f"shape must be linear or sigmoid, got {self.shape!r}")
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {self.momentum}")
        if not self.cap > 0:
            raise ValueError(f"cap must be > 0, got {self.cap}")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError(f"min_accuracy must be in [0, 1], got {self.min_accuracy}")


@dataclass
class QuestionStats:
    """What `length` remembers about one question."""

    ref_tokens: float | None = None  # reference length (mean correct completion tokens)
    correct_count: int = 0  # correct completions seen (for `cumulative`)
    correct_tokens_sum: float = 0.0
    accuracy: float | None = None  # running accuracy (EMA with `momentum`)


class LengthPenalty(RewardComponent):
    r"""`length`: over-length penalty relative to the question's mean correct length (in tokens).

    $$ r(y) = -\min\left(\text{cap}, \max\left(0, \frac{L(y) - \text{ref}_q}{\text{ref}_q}\right)\right)
       \text{ if } y \text{ is correct, else } 0 $$

    `ref_q` is the mean token length of the correct completions of question q: an EMA across
    steps (`reference: running`, $\text{ref}_q \leftarrow m\,\text{ref}_q + (1-m)\,\overline{L}_{\text{step}}$,
    first value the step's mean), this step's group only (`group`), or all steps (`cumulative`).
    This step's completions update `ref_q` before they are scored. No reference yet: 0.
    Range [-cap, 0].

    >>> from rewards import build
    >>> [_, length], _ = build({"correctness": {"weight": 1.0}, "length": {"weight": 0.5}})
    >>> done = "<think>...</think><answer>4</answer>"
    >>> length(prompts=["q"] * 4, completions=[done, done, done, "<answer>5</answer>"],
    ...        completion_ids=[[0] * 100, [0] * 200, [0] * 300, [0] * 50], answer=["4"] * 4, id=["q1"] * 4)
    [0.0, 0.0, -0.5, 0.0]
    """

    Params = LengthParams
    needs_correctness = True

    def __init__(self, name: str, analyzer, params: LengthParams) -> None:
        super().__init__(name, analyzer, params)
        self.questions: dict[str, QuestionStats] = defaultdict(QuestionStats)
        self.calls = 0

    def bounds(self, correct: bool) -> tuple[float, float]:
        if correct or self.params.penalise_incorrect:
            return (-self.params.cap, 0.0)
        return (0.0, 0.0)

    # ------------------------------------------------------------ scoring

    def score(self, analysis, columns: dict) -> list[float]:
        self.calls += 1
        local = list(zip(analysis.question_ids, analysis.completion_tokens, analysis.correct))
        records = gather_records(local)  # every rank sees every completion of every group
        group_stats = self._update(records)
        step = self.step_of(columns)
        step = self.calls - 1 if step is None else step
        active = step >= self.params.start_step
        scores = [self._penalty(qid, tokens, correct, group_stats) if active else 0.0 for qid, tokens, correct in local]
        refs = [self.questions[qid].ref_tokens for qid in set(analysis.question_ids)]
        refs = [ref for ref in refs if ref is not None]
        if refs:
            self.log(columns, "length/ref_mean", sum(refs) / len(refs))
        self.log(columns, "length/penalised_frac", sum(score < 0 for score in scores) / max(len(scores), 1))
        return scores

    def _update(self, records: list[tuple[str, int, bool]]) -> dict[str, tuple[float, float]]:
        """Fold this step's records into the per-question state; return each group's (mean, std) correct tokens."""
        by_question: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for qid, tokens, correct in records:
            by_question[qid].append((tokens, correct))
        momentum = self.params.momentum
        group_stats = {}
        for qid, items in by_question.items():
            stats = self.questions[qid]
            accuracy = sum(correct for _, correct in items) / len(items)
            stats.accuracy = accuracy if stats.accuracy is None else momentum * stats.accuracy + (1 - momentum) * accuracy
            correct_tokens = [tokens for tokens, correct in items if correct]
            if not correct_tokens:
                if self.params.reference == "group":
                    stats.ref_tokens = None
                continue
            mean = sum(correct_tokens) / len(correct_tokens)
            std = math.sqrt(sum((t - mean) ** 2 for t in correct_tokens) / len(correct_tokens))
            group_stats[qid] = (mean, std)
            stats.correct_count += len(correct_tokens)
            stats.correct_tokens_sum += sum(correct_tokens)
            if self.params.reference == "group" or stats.ref_tokens is None:
                stats.ref_tokens = mean
            elif self.params.reference == "running":
                stats.ref_tokens = momentum * stats.ref_tokens + (1 - momentum) * mean
            else:
                stats.ref_tokens = stats.correct_tokens_sum / stats.correct_count
        return group_stats

    def _penalty(self, qid: str, tokens: int, correct: bool, group_stats: dict) -> float:
        if not (correct or self.params.penalise_incorrect):
            return 0.0
        stats = self.questions[qid]
        if stats.accuracy is None or stats.accuracy < self.params.min_accuracy:
            return 0.0
        if self.params.shape == "sigmoid":
            if qid not in group_stats:
                return 0.0
            mean, std = group_stats[qid]
            if std == 0:
                return 0.0
            return -self.params.cap / (1.0 + math.exp(-(tokens - mean) / std))
        ref = stats.ref_tokens
        if not ref:
            return 0.0
        return 0.0 - min(self.params.cap, max(0.0, (tokens - ref) / ref))  # 0.0 - : no "-0.0" in logs

    # ------------------------------------------------------------ state

    def state_dict(self) -> dict:
        """JSON-serialisable state: saved in every checkpoint, restored on resume."""
        return {
            "version": STATE_VERSION,
            "params": asdict(self.params),
            "calls": self.calls,
            "questions": {qid: asdict(stats) for qid, stats in self.questions.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"length reward state version {state.get('version')!r}; this code reads {STATE_VERSION}")
        self.calls = int(state.get("calls", 0))
        self.questions = defaultdict(QuestionStats)
        for qid, stats in state["questions"].items():
            self.questions[qid] = QuestionStats(**stats)
