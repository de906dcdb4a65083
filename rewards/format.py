"""`format`: does the completion follow the layout the config asks for (`answer_checking.layout`)?

`r1_zero`: `<think>...</think><answer>...</answer>`; `think_boxed` (reasoning models): `<think>...</think>`
then a final answer holding a `\\boxed{}`; `boxed` (instruct models): plain reasoning, one final `\\boxed{}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rewards.base import RewardComponent
from rewards.extract import ANSWER_CLOSE, ANSWER_OPEN, TAGS, THINK_CLOSE, THINK_OPEN, complete_boxes, last_boxed

_STRICT = re.compile(rf"\s*{THINK_OPEN}(.*?){THINK_CLOSE}\s*{ANSWER_OPEN}(.*?){ANSWER_CLOSE}\s*", re.DOTALL)
_THINK_THEN_TEXT = re.compile(rf"\s*{THINK_OPEN}(.*?){THINK_CLOSE}(.*)", re.DOTALL)


@dataclass
class FormatParams:
    """Parameters of `format` (the layout itself is `answer_checking.layout`, shared with `rl eval`)."""

    strict: bool = True  # all-or-nothing; false gives partial credit per element of the layout present


def format_score(text: str, strict: bool = True, layout: str = "r1_zero") -> float:
    r"""Score of one completion text (with the prompt's trailing `<think>` already prepended).

    >>> format_score("<think>a</think> <answer>1</answer>")
    1.0
    >>> format_score("<think>a</think><answer>1</answer> more")
    0.0
    >>> format_score("<think>a</think> 1", strict=False)
    0.5
    >>> format_score("<think>a</think>\n\nSo it is \\boxed{1}.", layout="think_boxed")
    1.0
    >>> format_score("<think>a \\boxed{1}</think> So it is 1.", layout="think_boxed")
    0.0
    >>> format_score("2 + 3 = 5, so the answer is $\\boxed{5}$.", layout="boxed")
    1.0
    >>> format_score("The answer is \\boxed{5}. Let me check: \\boxed{6}", layout="boxed")
    0.0
    """
    if layout == "think_boxed":
        return _think_boxed_score(text, strict)
    if layout == "boxed":
        return _boxed_score(text, strict)
    if strict:
        match = _STRICT.fullmatch(text)
        if not match:
            return 0.0
        reasoning, answer = match.groups()
        if any(tag in reasoning or tag in answer for tag in TAGS) or not answer.strip():
            return 0.0
        return 1.0
    return sum(0.25 for tag in TAGS if text.count(tag) == 1)


# What may follow the final box and still leave it "at the end": closing math delimiters, punctuation, emphasis.
_BOX_TAIL = re.compile(r"(?:\s|[$.!)\]*]|\\[)\]])*")


def _boxed_score(text: str, strict: bool) -> float:
    """No tags; exactly one non-empty `\\boxed{}`, with nothing after it but delimiters and punctuation."""
    boxes = complete_boxes(text)
    one_box = len(boxes) == 1 and bool(boxes[0][2])
    at_end = bool(boxes) and bool(boxes[-1][2]) and _BOX_TAIL.fullmatch(text[boxes[-1][1] :]) is not None
    no_tags = not any(tag in text for tag in TAGS)
    if strict:
        return 1.0 if one_box and at_end and no_tags else 0.0
    return (one_box + at_end + no_tags) / 3


def _think_boxed_score(text: str, strict: bool) -> float:
    """`<think>` reasoning `</think>`, then a final answer with a non-empty `\\boxed{}` and no tags."""
    if strict:
        match = _THINK_THEN_TEXT.fullmatch(text)
        if not match:
            return 0.0
        reasoning, answer = match.groups()
        if any(tag in reasoning or tag in answer for tag in TAGS):
            return 0.0
        boxed = last_boxed(answer)
        return 1.0 if boxed is not None and boxed.strip() else 0.0
    closed = text.rfind(THINK_CLOSE)
    boxed = last_boxed(text[closed + len(THINK_CLOSE) :]) if closed >= 0 else None
    parts = (text.count(THINK_OPEN) == 1, text.count(THINK_CLOSE) == 1, bool(boxed and boxed.strip()))
    return sum(parts) / 3


class Format(RewardComponent):
    r"""`format`: the output layout of `answer_checking.layout`.

    `r1_zero`, strict (default): $r(y) = 1$ if $y$ is exactly one `<think>...</think>` followed by
    exactly one non-empty `<answer>...</answer>` and nothing after, else 0. Soft: $r(y) =
    \frac14\sum_{t} \mathbb{1}[\text{tag } t \text{ occurs exactly once}]$ over the four tags.

    `think_boxed` (reasoning models), strict: $r(y) = 1$ if $y$ is exactly one `<think>...</think>`
    followed by a final answer that holds a non-empty `\boxed{}` and no tags, else 0. Soft: a third
    each for `<think>` once, `</think>` once, and a `\boxed{}` after the last `</think>`.

    `boxed` (instruct models, no tags), strict: $r(y) = 1$ if $y$ holds no tags and exactly one non-empty
    `\boxed{}`, followed by nothing but closing delimiters and punctuation, else 0. Soft: a third each for
    one non-empty box, a box at the end, no tags.

    A prompt that ends inside `<think>` (see `rewards.layout.prompt_opens_reasoning`) counts as the
    completion's opening tag. Range [0, 1].
    """

    Params = FormatParams

    def score(self, analysis, columns: dict) -> list[float]:
        layout = analysis.options.layout
        return [format_score(text, self.params.strict, layout) for text in analysis.texts]
