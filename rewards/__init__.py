"""Composable rule-based rewards for RL on reasoning models: correctness, format, language, length.

`build(spec)` turns a config's `rewards:` section into TRL reward functions and their weights.
Usable from any TRL script; imports nothing from `rl`.
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from rewards.analysis import AnalysisOptions, Analyzer
from rewards.base import RewardComponent
from rewards.baselines import CosineLength, KimiLength, LengthTarget, Overlong
from rewards.correctness import Correctness
from rewards.extract import extract_answer
from rewards.format import Format
from rewards.language import LanguageConsistency
from rewards.length import LengthPenalty
from rewards.verify import answers_match, warm_up

__all__ = [
    "AnalysisOptions", "REGISTRY", "RewardComponent", "RewardSpecError", "answers_match", "build", "components", "extract_answer",
    "register", "weight_invariant_violation", "weight_problems",
]  # fmt: skip

REGISTRY: dict[str, type[RewardComponent]] = {
    "correctness": Correctness,
    "format": Format,
    "language": LanguageConsistency,
    "length": LengthPenalty,
    "kimi_length": KimiLength,
    "cosine_length": CosineLength,
    "overlong": Overlong,
    "length_target": LengthTarget,
}


class RewardSpecError(ValueError):
    """A `rewards:` section that cannot be built; the message names the bad key."""


def register(name: str, component: type[RewardComponent], replace: bool = False) -> None:
    """Add a user component to the registry so configs can name it; an existing name needs `replace=True`."""
    if name in REGISTRY and REGISTRY[name] is not component and not replace:
        raise ValueError(f"reward {name!r} is already registered ({REGISTRY[name].__name__}); pass replace=True to replace it")
    REGISTRY[name] = component


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


MOVED_TO_CHECKING = ("answer_column", "fallback", "timeout_s")


def _params(name: str, component: type[RewardComponent], raw: dict[str, Any]):
    valid = [field.name for field in fields(component.Params)]
    for key in raw:
        if key in MOVED_TO_CHECKING and key not in valid:
            raise RewardSpecError(
                f"rewards.{name}.{key}: answer-checking options are their own section now: answer_checking.{key} "
                "(shared by every reward)"
            )
        if key not in valid:
            raise RewardSpecError(
                f"rewards.{name}.{key}: unknown parameter{_suggest(key, valid + ['weight'])} "
                f"(valid: weight, {', '.join(valid) or 'none'})"
            )
    try:
        return component.Params(**raw)
    except (TypeError, ValueError) as error:
        raise RewardSpecError(f"rewards.{name}: {error}") from None


def checking_options(checking: AnalysisOptions | dict[str, Any] | None) -> AnalysisOptions:
    """`AnalysisOptions` from the `answer_checking` section (a dict), validated with key names in errors."""
    if checking is None:
        return AnalysisOptions()
    if isinstance(checking, AnalysisOptions):
        return checking
    if not isinstance(checking, dict):
        raise RewardSpecError(f"answer_checking: expected a mapping, got {checking!r}")
    valid = [field.name for field in fields(AnalysisOptions)]
    for key in checking:
        if key not in valid:
            raise RewardSpecError(f"answer_checking.{key}: unknown option{_suggest(str(key), valid)} (valid: {', '.join(valid)})")
    try:
        return AnalysisOptions(**checking)
    except (TypeError, ValueError) as error:
        raise RewardSpecError(f"answer_checking: {error}") from None


def components(
    spec: dict[str, dict[str, Any] | None], checking: AnalysisOptions | dict[str, Any] | None = None
) -> tuple[list[RewardComponent], list[float]]:
    """Validate `spec` (and the `answer_checking` options) and instantiate its components (starts no workers)."""
    if not isinstance(spec, dict) or not spec:
        raise RewardSpecError(f"rewards: expected a mapping of reward names to settings, got {spec!r}")
    weights, params = [], {}
    for name, values in spec.items():
        if name not in REGISTRY:
            raise RewardSpecError(
                f"rewards.{name}: unknown reward{_suggest(str(name), list(REGISTRY))} (registered: {', '.join(REGISTRY)})"
            )
        if values is not None and not isinstance(values, dict):
            raise RewardSpecError(f"rewards.{name}: expected a mapping like {{weight: 1.0}}, got {values!r}")
        values = dict(values or {})
        weight = values.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise RewardSpecError(f"rewards.{name}.weight: expected a number, got {weight!r}")
        weights.append(float(weight))
        params[name] = _params(name, REGISTRY[name], values)
    analyzer = Analyzer(checking_options(checking))  # one per stack: the components share each batch's analysis
    return [REGISTRY[name](name, analyzer, params[name]) for name in spec], weights


def build(
    spec: dict[str, dict[str, Any] | None], checking: AnalysisOptions | dict[str, Any] | None = None, warn: bool = True
) -> tuple[list[Callable], list[float]]:
    """Reward functions and weights from `{name: {weight: w, **params}}`, in spec order.

    Every function has `__name__` == its config name (TRL logs `rewards/<name>/mean`) and shares
    one analysis of each batch, so an answer is extracted and checked once per step. Warns (unless
    `warn=False`, for a caller that checked the spec already) when the weights let an incorrect
    completion outscore a correct one, or a negative weight inverts a component.
    """
    functions, weights = components(spec, checking)
    if any(function.needs_correctness for function in functions):
        warm_up()  # the first worker now; a batch starts the rest of its workers itself
    if warn:
        for problem in weight_problems(functions, weights):
            warnings.warn(problem, stacklevel=2)
    return functions, weights


def weight_problems(functions: list[RewardComponent], weights: list[float]) -> list[str]:
    """Everything about the weights that likely means something else than the user meant."""
    problems = []
    for function, weight in zip(functions, weights):
        if weight >= 0:
            continue
        low = min(function.bounds(True)[0], function.bounds(False)[0])
        high = max(function.bounds(True)[1], function.bounds(False)[1])
        if high <= 0:
            turned = "its penalty into a bonus"
        elif low >= 0:
            turned = "its reward into a penalty"
        else:
            turned = "its sign"
        problems.append(
            f"rewards.{function.__name__}.weight is negative ({weight:g}): {function.__name__} scores lie in "
            f"[{low:g}, {high:g}], so the weight flips {turned}; use a positive weight unless that is meant"
        )
    violation = weight_invariant_violation(functions, weights)
    if violation:
        problems.append(violation)
    return problems


def weight_invariant_violation(functions: list[RewardComponent], weights: list[float]) -> str | None:
    """Why the weights may rank an incorrect completion at or above a correct one, or None if they cannot."""
    if not any(f.signals_correctness for f in functions):
        return None  # no correctness signal at all: nothing to keep ordered
    worst_correct = best_incorrect = 0.0
    for function, weight in zip(functions, weights):
        low_c, high_c = function.bounds(correct=True)
        low_i, high_i = function.bounds(correct=False)
        worst_correct += min(weight * low_c, weight * high_c)
        best_incorrect += max(weight * low_i, weight * high_i)
    if worst_correct > best_incorrect:
        return None
    return (
        f"reward weights allow an incorrect completion to score at least as high as a correct one "
        f"(worst correct total {worst_correct:.3g} <= best incorrect total {best_incorrect:.3g}); "
        "raise the correctness weight or lower the others"
    )
