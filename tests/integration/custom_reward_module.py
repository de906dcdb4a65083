"""A user's own reward, defined outside the package and named in YAML only by its path: `custom_reward_module:Brevity`.

Read by `tests/integration/test_custom_reward.py`; nothing registers it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from rewards import RewardComponent


@dataclass(frozen=True)
class BrevityParams:
    scale_tokens: int = 32  # a completion this long scores -1


class Brevity(RewardComponent):
    r"""Shorter is better, whatever the answer: $r = -\min(1, L / \text{scale\_tokens})$, in [-1, 0].

    >>> from rewards import Analyzer
    >>> Brevity("brevity", Analyzer(), BrevityParams(scale_tokens=4))(["q", "q"], ["a", "b"], [[1, 2], [1, 2, 3, 4, 5]])
    [-0.5, -1.0]
    """

    Params = BrevityParams
    score_bounds = (-1.0, 0.0)

    def score(self, analysis, columns) -> list[float]:
        return [-min(1.0, tokens / self.params.scale_tokens) for tokens in analysis.completion_tokens]
