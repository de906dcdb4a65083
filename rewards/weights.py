"""Weight arithmetic of a reward stack: does every correct completion still outscore every incorrect one?

Reads each component's score bounds (`RewardComponent.bounds`) and the weights TRL will apply.
"""

from __future__ import annotations

from rewards.base import RewardComponent


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
    r"""Why the weights may rank an incorrect completion at or above a correct one, or None if they cannot.

    $$ \sum_i \min(w_i l^+_i, w_i h^+_i) > \sum_i \max(w_i l^-_i, w_i h^-_i) $$

    with $[l^+_i, h^+_i]$ / $[l^-_i, h^-_i]$ the bounds of component i on a correct / incorrect completion.
    """
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
