"""Published length-reward baselines: Kimi k1.5, cosine (Yeo et al.), DAPO overlong, L1 target length.

All count completion tokens, and the per-question ones take statistics per question across all
ranks (open-r1's Kimi reward mixes questions and counts characters; these do not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from trl.rewards import get_soft_overlong_punishment

from rewards.base import RewardComponent
from rewards.distributed import gather_records


@dataclass
class KimiParams:
    """Parameters of `kimi_length` (none: the formula has no knobs)."""


class KimiLength(RewardComponent):
    r"""`kimi_length`: Kimi k1.5 length reward (sec. 2.3.3), per question, in tokens.

    $$ \lambda = 0.5 - \frac{L - L_{\min}}{L_{\max} - L_{\min}}, \quad
       r(y) = \lambda \text{ if correct else } \min(0, \lambda) $$

    $L_{\min}, L_{\max}$: shortest and longest completion of the same question in this step (all
    ranks). All 0 when $L_{\max} = L_{\min}$. Range [-0.5, 0.5].

    >>> from rewards import build
    >>> [kimi], _ = build({"kimi_length": {"weight": 1.0}})
    >>> ok, bad = "<answer>4</answer>", "<answer>5</answer>"
    >>> kimi(prompts=["q"] * 3, completions=[ok, ok, bad], completion_ids=[[0] * 10, [0] * 20, [0] * 30],
    ...      answer=["4"] * 3, id=["a"] * 3)
    [0.5, 0.0, -0.5]
    """

    Params = KimiParams
    score_bounds = (-0.5, 0.5)
    incorrect_bounds = (-0.5, 0.0)
    needs_correctness = True
    signals_correctness = True

    def score(self, analysis, columns: dict) -> list[float]:
        local = list(zip(analysis.question_ids, analysis.completion_tokens, analysis.correct))
        extremes: dict[str, tuple[int, int]] = {}
        for qid, tokens, _ in gather_records(local):
            low, high = extremes.get(qid, (tokens, tokens))
            extremes[qid] = (min(low, tokens), max(high, tokens))
        scores = []
        for qid, tokens, correct in local:
            low, high = extremes[qid]
            if high == low:
                scores.append(0.0)
                continue
            lam = 0.5 - (tokens - low) / (high - low)
            scores.append(lam if correct else min(0.0, lam))
        return scores


@dataclass
class CosineParams:
    """Parameters of `cosine_length` (defaults of Yeo et al. 2025 and TRL)."""

    max_completion_length: int | None = None  # L_max in tokens; default: the trainer's max_completion_length
    min_value_wrong: float = -1.0
    max_value_wrong: float = -0.5
    min_value_correct: float = 0.5
    max_value_correct: float = 1.0

    def __post_init__(self) -> None:
        if self.max_completion_length is not None and self.max_completion_length <= 0:
            raise ValueError(f"max_completion_length must be > 0, got {self.max_completion_length}")


class CosineLength(RewardComponent):
    r"""`cosine_length`: cosine length-scaled correctness (Yeo et al. 2025, App. C.1), in tokens.

    $$ r(y) = v_{\min} + \tfrac12 (v_{\max} - v_{\min})\left(1 + \cos\left(\pi \min(1, L/L_{\max})\right)\right) $$

    $L_{\max}$ is `max_completion_length` (default: the trainer's).
    Correct: $(v_{\min}, v_{\max})$ = (`min_value_correct`, `max_value_correct`), shorter is better.
    Wrong: (`max_value_wrong`, `min_value_wrong`), so a short wrong answer is punished most. Same
    formula as `trl.rewards.get_cosine_scaled_reward`, which is not called because it decides
    correctness itself with math-verify, re-parsing every completion and possibly disagreeing with
    `correctness`; here correctness comes from the shared analysis. It replaces `correctness`.

    >>> from rewards import build
    >>> [cosine], _ = build({"cosine_length": {"weight": 1.0, "max_completion_length": 100}})
    >>> cosine(prompts=["q"] * 2, completions=[r"<answer>\frac{1}{3}</answer>", r"<answer>\frac{1}{2}</answer>"],
    ...        completion_ids=[[1] * 50, [1] * 50], answer=[r"\frac{1}{3}"] * 2)
    [0.75, -0.75]
    """

    Params = CosineParams
    renamed_params = {"max_len": "max_completion_length"}
    needs_correctness = True
    signals_correctness = True

    def bounds(self, correct: bool) -> tuple[float, float]:
        p = self.params
        return (p.min_value_correct, p.max_value_correct) if correct else (p.min_value_wrong, p.max_value_wrong)

    def score(self, analysis, columns: dict) -> list[float]:
        p = self.params
        scores = []
        for tokens, correct in zip(analysis.completion_tokens, analysis.correct):
            low, high = (p.min_value_correct, p.max_value_correct) if correct else (p.max_value_wrong, p.min_value_wrong)
            progress = min(tokens / p.max_completion_length, 1.0)
            scores.append(low + 0.5 * (high - low) * (1.0 + math.cos(progress * math.pi)))
        return scores


@dataclass
class OverlongParams:
    """Parameters of `overlong` (DAPO)."""

    max_completion_length: int | None = None  # L_max in tokens; default: the trainer's max_completion_length
    soft_punish_cache: int = 256  # L_cache: the soft zone before L_max, in tokens

    def __post_init__(self) -> None:
        if self.max_completion_length is not None and not 0 <= self.soft_punish_cache <= self.max_completion_length:
            raise ValueError(
                f"need 0 <= soft_punish_cache <= max_completion_length, got {self.soft_punish_cache} and {self.max_completion_length}"
            )


class Overlong(RewardComponent):
    r"""`overlong`: DAPO soft overlong punishment (eq. 13), via `trl.rewards.get_soft_overlong_punishment`.

    $$ r(y) = 0 \text{ if } L \le L_{\max} - L_c;\ \frac{(L_{\max} - L_c) - L}{L_c} \text{ if } L \le L_{\max};\ -1 \text{ else} $$

    $L_{\max}$ is `max_completion_length` (default: the trainer's), $L_c$ `soft_punish_cache`.
    Range [-1, 0], correctness-blind.

    >>> from rewards import build
    >>> [overlong], _ = build({"overlong": {"weight": 1.0, "max_completion_length": 100, "soft_punish_cache": 20}})
    >>> overlong(prompts=["q"], completions=["x"], completion_ids=[[1] * 90])
    [-0.5]
    """

    Params = OverlongParams
    renamed_params = {"max_completion_len": "max_completion_length"}
    score_bounds = (-1.0, 0.0)

    def __init__(self, name: str, analyzer, params: OverlongParams) -> None:
        super().__init__(name, analyzer, params)
        self._trl_reward = get_soft_overlong_punishment(params.max_completion_length, params.soft_punish_cache)

    def score(self, analysis, columns: dict) -> list[float]:
        analysis.completion_tokens  # noqa: B018 - raises the clear "needs completion_ids" error
        return self._trl_reward(completion_ids=analysis.completion_ids)


@dataclass
class TargetParams:
    """Parameters of `length_target` (L1, Aggarwal & Welleck 2025)."""

    alpha: float = 0.0003  # penalty per token of distance from the target
    target_tokens: int | None = None  # the same target for every row; else each row's `target_column`
    target_column: str = "target_tokens"  # column with each row's target tokens (`rl` writes it for budget prompts)
    max_completion_length: int | None = None  # longest completion (default: the trainer's), only bounds the score

    def __post_init__(self) -> None:
        if self.alpha < 0:
            raise ValueError(f"alpha must be >= 0, got {self.alpha}")


class LengthTarget(RewardComponent):
    r"""`length_target`: L1-style distance to a target length, $r(y) = -\alpha\,|L - L_{\text{target}}|$.

    The target is the param `target_tokens`, or the row's `target_column`.
    Range [-alpha * max_completion_length, 0].

    >>> from rewards import build
    >>> [target], _ = build({"length_target": {"weight": 1.0, "alpha": 0.01, "target_tokens": 100}})
    >>> target(prompts=["q"] * 2, completions=["a", "b"], completion_ids=[[1] * 150, [1] * 100])
    [-0.5, 0.0]
    """

    Params = TargetParams
    renamed_params = {"target": "target_tokens", "max_tokens": "max_completion_length"}

    def bounds(self, correct: bool) -> tuple[float, float]:
        return (-self.params.alpha * self.params.max_completion_length, 0.0)

    def score(self, analysis, columns: dict) -> list[float]:
        if self.params.target_tokens is not None:
            targets = [self.params.target_tokens] * len(analysis)
        else:
            if self.params.target_column not in columns:
                raise KeyError(f"length_target: no param `target_tokens` and no column {self.params.target_column!r}")
            targets = columns[self.params.target_column]
        return [0.0 - self.params.alpha * abs(tokens - float(target)) for tokens, target in zip(analysis.completion_tokens, targets)]
