"""Find the final answer of a completion: `<answer>` sections and `\\boxed{}` groups.

Pure string scanning (no regex backtracking on untrusted text), so it is safe on any input size.
"""

from __future__ import annotations

import re

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_LAST_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")


def last_boxed(text: str) -> str | None:
    r"""Content of the last complete `\boxed{...}` (or `\fbox{...}`) in `text`, nested braces handled.

    Linear time: braces are matched in one pass, so thousands of unclosed boxes cost nothing extra.

    >>> last_boxed(r"so \boxed{\frac{1}{2}} and then \boxed{3}")
    '3'
    >>> last_boxed(r"\boxed{\frac{1}{2}}")
    '\\frac{1}{2}'
    """
    starts = [match.end() for match in _BOX.finditer(text)]
    if not starts:
        return None
    closing = _matching_braces(text)
    for after_command in reversed(starts):
        i = after_command
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            if i in closing:
                return text[i + 1 : closing[i]]
        elif i > after_command and i < len(text):  # `\boxed 5`
            token = re.match(r"[^\s$]+", text[i:])
            if token:
                return token.group(0)
    return None


def _matching_braces(text: str) -> dict[int, int]:
    """Index of each `{` that is closed -> index of its `}`."""
    closing, stack = {}, []
    for index, char in enumerate(text):
        if char == "{":
            stack.append(index)
        elif char == "}" and stack:
            closing[stack.pop()] = index
    return closing


def answer_section(text: str) -> str | None:
    """Content of the last complete `<answer>...</answer>` section, or None if there is none."""
    end = text.rfind(ANSWER_CLOSE)
    if end < 0:
        return None
    start = text.rfind(ANSWER_OPEN, 0, end)
    if start < 0:
        return None
    return text[start + len(ANSWER_OPEN) : end]


def reasoning_section(text: str) -> str:
    """The reasoning part: inside `<think>...</think>` if present, else everything before `<answer>`."""
    start = text.find(THINK_OPEN)
    start = 0 if start < 0 else start + len(THINK_OPEN)
    end = text.find(THINK_CLOSE, start)
    if end < 0:
        end = text.find(ANSWER_OPEN, start)
    return text[start:] if end < 0 else text[start:end]


def extract_answer(completion: str, fallback: str | None = None) -> str | None:
    r"""The final answer of a completion, or None if it gives none.

    Order: the last `\boxed{}` inside the `<answer>` section, else the whole `<answer>` section,
    else the last `\boxed{}` anywhere. A number that only appears inside `<think>` is never an
    answer, unless `fallback="last_number"` (GSM8K-style plain outputs) is asked for and the
    completion has no `<think>` block.

    >>> extract_answer("<think>2+2=4</think><answer>4</answer>")
    '4'
    >>> extract_answer(r"<think>so 5</think><answer>It is \boxed{5}.</answer>")
    '5'
    >>> extract_answer("<think>maybe 7</think><answer></answer>") is None
    True
    """
    if fallback not in (None, "last_number"):
        raise ValueError(f"unknown fallback {fallback!r}; use None or 'last_number'")
    if not isinstance(completion, str) or not completion:
        return None
    section = answer_section(completion)
    if section is not None:
        boxed = last_boxed(section)
        answer = boxed if boxed is not None else section
        answer = answer.strip()
        return answer or None
    boxed = last_boxed(completion)
    if boxed is not None:
        return boxed.strip() or None
    if fallback == "last_number" and THINK_OPEN not in completion and THINK_CLOSE not in completion:
        numbers = _LAST_NUMBER.findall(completion[-2000:])
        return numbers[-1] if numbers else None
    return None
