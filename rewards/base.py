"""The reward component contract: a named, picklable callable that never raises.

Subclasses implement `score(analysis, columns)`; this base turns TRL's call into that, counts
failures into the `rewards/errors` metric, and logs metrics through TRL's `log_metric`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any, ClassVar, Protocol, runtime_checkable

from rewards.analysis import Analyzer, BatchAnalysis

logger = logging.getLogger(__name__)


@runtime_checkable
class StatefulReward(Protocol):
    """A reward that remembers across steps (e.g. `length`'s per-question reference lengths).

    Its state must be JSON-serialisable: it is saved into every checkpoint and restored on resume,
    so a requeued job scores exactly as the uninterrupted one would have.
    """

    __name__: str

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


def stateful_rewards(functions: list) -> dict[str, StatefulReward]:
    """The stateful reward functions of a stack, by name."""
    return {function.__name__: function for function in functions if isinstance(function, StatefulReward)}


class RewardComponent:
    """Base of every reward component: `f(prompts, completions, completion_ids, **columns) -> list[float]`.

    Never raises: a batch that fails scores 0 and is counted in `rewards/errors`, as are answers whose
    check overran its time bound and completions whose row has no gold answer (None, NaN, empty);
    a component that reads correctness scores those 0.
    """

    Params: ClassVar[type]  # a dataclass of the component's config parameters
    # (lowest, highest) score of a correct and of an incorrect completion: used to check that the
    # weights keep every correct completion above every incorrect one.
    score_bounds: ClassVar[tuple[float, float]] = (0.0, 1.0)
    incorrect_bounds: ClassVar[tuple[float, float] | None] = None
    needs_correctness: ClassVar[bool] = False  # reads the shared correctness verdicts
    # Pays a correct completion more than an incorrect one (correctness itself, Kimi, cosine): with
    # one of these in the stack, the weights must keep every correct answer above every wrong one.
    signals_correctness: ClassVar[bool] = False
    # Parameters that changed name, old -> new: a config with the old one fails naming the new one.
    renamed_params: ClassVar[dict[str, str]] = {}

    def __init__(self, name: str, analyzer: Analyzer, params: Any) -> None:
        self.__name__ = name
        self.analyzer = analyzer
        self.params = params
        self.errors = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__name__!r}, {asdict(self.params)})"

    def bounds(self, correct: bool) -> tuple[float, float]:
        """(lowest, highest) score this component can give a correct/incorrect completion."""
        if not correct and self.incorrect_bounds is not None:
            return self.incorrect_bounds
        return self.score_bounds

    def __call__(self, prompts: list, completions: list, completion_ids: list | None = None, **columns) -> list[float]:
        batch_size = len(completions)
        try:
            analysis = self.analyzer.analyse(prompts, completions, completion_ids, **columns)
            failures_before = analysis.check_failures + analysis.missing_golds
            scores = [float(score) for score in self.score(analysis, columns)]
            failures = analysis.check_failures + analysis.missing_golds - failures_before
            if len(scores) != batch_size:
                raise RuntimeError(f"{self.__name__} scored {len(scores)} of {batch_size} completions")
            if self.needs_correctness:  # no gold, no signal: neither paid nor punished for the data's gap
                scores = [0.0 if missing else score for score, missing in zip(scores, analysis.gold_missing)]
        except Exception:  # noqa: BLE001 - a reward must never take the training run down
            logger.exception("reward %r failed on a batch of %d; scoring it 0", self.__name__, batch_size)
            scores, failures = [0.0] * batch_size, batch_size
        self.errors += failures
        self.log(columns, "rewards/errors", float(failures))
        return scores

    def score(self, analysis: BatchAnalysis, columns: dict) -> list[float]:
        raise NotImplementedError

    @staticmethod
    def log(columns: dict, name: str, value: float) -> None:
        """Log a scalar through TRL's `log_metric` when running under a trainer."""
        log_metric = columns.get("log_metric")
        if log_metric is not None:
            log_metric(name, value)

    @staticmethod
    def step_of(columns: dict) -> int | None:
        state = columns.get("trainer_state")
        return getattr(state, "global_step", None)
