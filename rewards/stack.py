"""A reward stack from a validated spec: the components, sharing one `Analyzer`, and their weights.

`build` is what a TRL script calls; `components` the same without starting the answer checker. Each
takes the `rewards:` mapping or the entries `rewards.parse_spec` made of it (parsed once, reused).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

from rewards.analysis import AnalysisOptions, Analyzer
from rewards.base import RewardComponent
from rewards.spec import RewardEntry, checking_options, parse_spec
from rewards.verify import warm_up
from rewards.weights import weight_problems

# The `rewards:` section as written, or already parsed (`parse_spec`'s entries: nothing is parsed twice).
Spec = dict[str, dict[str, Any] | None] | Sequence[RewardEntry]


def entries_of(spec: Spec, max_completion_length: int | None = None) -> list[RewardEntry]:
    """`spec` parsed (`parse_spec`), or as given when it is parsed entries already."""
    if isinstance(spec, dict):
        return parse_spec(spec, max_completion_length)
    return list(spec)


def instantiate(entries: Sequence[RewardEntry], checking: AnalysisOptions | dict[str, Any] | None = None) -> list[RewardComponent]:
    """The components of parsed entries, in order, sharing one `Analyzer` (each batch is analysed once)."""
    analyzer = Analyzer(checking_options(checking))
    return [entry.component(entry.name, analyzer, entry.params) for entry in entries]


def components(
    spec: Spec,
    checking: AnalysisOptions | dict[str, Any] | None = None,
    max_completion_length: int | None = None,
) -> tuple[list[RewardComponent], list[float]]:
    """Validate `spec` (and the `answer_checking` options) and instantiate its components (starts no workers).

    `max_completion_length` (tokens) is the default of every component's `max_completion_length`
    parameter: pass the trainer's; None means TRL's default.
    """
    entries = entries_of(spec, max_completion_length)
    return instantiate(entries, checking), [entry.weight for entry in entries]


def build(
    spec: Spec,
    checking: AnalysisOptions | dict[str, Any] | None = None,
    warn: bool = True,
    max_completion_length: int | None = None,
) -> tuple[list[Callable], list[float]]:
    """Reward functions and weights from `{name: {weight: w, **params}}`, in spec order.

    Every function has `__name__` == its config name (TRL logs `rewards/<name>/mean`) and shares
    one analysis of each batch, so an answer is extracted and checked once per step. Warns (unless
    `warn=False`, for a caller that checked the spec already) when the weights let an incorrect
    completion outscore a correct one, or a negative weight inverts a component.
    `max_completion_length`: the trainer's completion budget, see `components`.
    """
    functions, weights = components(spec, checking, max_completion_length)
    if any(function.needs_correctness for function in functions):
        warm_up()  # the first worker now; a batch starts the rest of its workers itself
    if warn:
        for problem in weight_problems(functions, weights):
            warnings.warn(problem, stacklevel=2)
    return functions, weights


def spec_problems(
    spec: Spec,
    checking: AnalysisOptions | dict[str, Any] | None = None,
    max_completion_length: int | None = None,
) -> list[str]:
    """Check a spec before anything runs: raises `RewardSpecError` on a bad key; returns the weight problems."""
    functions, weights = components(spec, checking, max_completion_length)
    return weight_problems(functions, weights)
