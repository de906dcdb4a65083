"""Validating a `rewards:` section and its `answer_checking` options into parsed entries (nothing built).

Every problem is a `RewardSpecError` whose one-line message names the key, with the closest valid
key; renamed keys name their new spelling.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rewards.analysis import AnalysisOptions
from rewards.base import RewardComponent
from rewards.registry import UnknownReward, component_class, did_you_mean

BUDGET_FIELD = "max_completion_length"  # a Params field of this name defaults to the trainer's completion budget
MOVED_TO_CHECKING = ("gold_column", "answer_column", "fallback", "timeout_s")
RENAMED_CHECKING = {"answer_column": "gold_column"}  # answer_checking options that changed name


class RewardSpecError(ValueError):
    """A `rewards:` section that cannot be built; the message names the bad key."""


@dataclass(frozen=True)
class RewardEntry:
    """One validated line of `rewards:`: its name, component class, parameters and weight."""

    name: str
    component: type[RewardComponent]
    params: Any
    weight: float


def default_completion_budget() -> int:
    """TRL's own default `max_completion_length` (what a trainer uses when the config leaves it unset)."""
    from trl import GRPOConfig

    return next(field.default for field in fields(GRPOConfig) if field.name == BUDGET_FIELD)


def parse_params(name: str, component: type[RewardComponent], raw: dict[str, Any], max_completion_length: int | None = None):
    """`component.Params` from the raw mapping; a `max_completion_length` left unset takes the completion budget."""
    valid = [field.name for field in fields(component.Params)]
    for key in raw:
        if key in valid:
            continue
        if key in component.renamed_params:
            raise RewardSpecError(f"rewards.{name}.{key}: renamed to rewards.{name}.{component.renamed_params[key]}")
        if key in MOVED_TO_CHECKING:
            new_key = RENAMED_CHECKING.get(key, key)
            raise RewardSpecError(
                f"rewards.{name}.{key}: answer-checking options are their own section now: answer_checking.{new_key} "
                "(shared by every reward)"
            )
        raise RewardSpecError(
            f"rewards.{name}.{key}: unknown parameter{did_you_mean(key, valid + ['weight'])} (valid: weight, {', '.join(valid) or 'none'})"
        )
    values = dict(raw)
    if BUDGET_FIELD in valid and values.get(BUDGET_FIELD) is None:
        values[BUDGET_FIELD] = max_completion_length or default_completion_budget()
    try:
        return component.Params(**values)
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
        if key in RENAMED_CHECKING:
            raise RewardSpecError(f"answer_checking.{key}: renamed to answer_checking.{RENAMED_CHECKING[key]}")
        if key not in valid:
            raise RewardSpecError(f"answer_checking.{key}: unknown option{did_you_mean(key, valid)} (valid: {', '.join(valid)})")
    try:
        return AnalysisOptions(**checking)
    except (TypeError, ValueError) as error:
        raise RewardSpecError(f"answer_checking: {error}") from None


def parse_spec(spec: dict[str, dict[str, Any] | None], max_completion_length: int | None = None) -> list[RewardEntry]:
    """Validate `{name: {weight: w, **params}}` into entries, in spec order.

    Args:
        spec: the `rewards:` section; a name is a registered reward or a user's `module:Class`
            (`rewards.registry.component_class`).
        max_completion_length: the trainer's completion budget in tokens, the default of every
            `max_completion_length` parameter; None: TRL's default.

    Raises:
        RewardSpecError: naming the first bad key.
    """
    if not isinstance(spec, dict) or not spec:
        raise RewardSpecError(f"rewards: expected a mapping of reward names to settings, got {spec!r}")
    entries = []
    for name, values in spec.items():
        try:
            component = component_class(name)  # a registered name, or a user's module:Class
        except UnknownReward as error:
            raise RewardSpecError(f"rewards.{name}: {error}") from None
        if values is not None and not isinstance(values, dict):
            raise RewardSpecError(f"rewards.{name}: expected a mapping like {{weight: 1.0}}, got {values!r}")
        values = dict(values or {})
        weight = values.pop("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise RewardSpecError(f"rewards.{name}.weight: expected a number, got {weight!r}")
        entries.append(RewardEntry(name, component, parse_params(name, component, values, max_completion_length), float(weight)))
    return entries

