"""`format`: does the completion follow the R1-Zero `<think>...</think><answer>...</answer>` layout?"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.base import RewardComponent

_STRICT = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL)
_TAGS = ("<think>", "</think>", "<answer>", "</answer>")


@dataclass
class FormatParams:
    """Parameters of `format`."""

    strict: bool = True  # all-or-nothing; false gives 0.25 per tag that appears exactly once


def format_score(text: str, strict: bool = True) -> float:
    r"""Score of one completion text (with the prompt's trailing `<think>` already prepended).

    >>> format_score("<think>a</think> <answer>1</answer>")
    1.0
    >>> format_score("<think>a</think><answer>1</answer> more")
    0.0
    >>> format_score("<think>a</think> 1", strict=False)
    0.5
    """
    if strict:
        match = _STRICT.fullmatch(text)
        if not match:
            return 0.0
        reasoning, answer = match.groups()
        if any(tag in reasoning or tag in answer for tag in _TAGS) or not answer.strip():
            return 0.0
        return 1.0
    return sum(0.25 for tag in _TAGS if text.count(tag) == 1)


class Format(RewardComponent):
    r"""`format`: R1-Zero output format.

    strict (default): $r(y) = 1$ if $y$ is exactly one `<think>...</think>` followed by exactly one
    non-empty `<answer>...</answer>` and nothing after, else 0. Soft: $r(y) = \frac14\sum_{t}
    \mathbb{1}[\text{tag } t \text{ occurs exactly once}]$ over the four tags. Range [0, 1].
    """

    Params = FormatParams

    def score(self, analysis, columns: dict) -> list[float]:
        return [format_score(text, self.params.strict) for text in analysis.texts]
