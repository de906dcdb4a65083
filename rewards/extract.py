"""Find the final answer of a completion: `<answer>` sections, `\\boxed{}` groups, prose.

Pure string scanning (no regex backtracking on untrusted text), so it is safe on any input size.
"""

from __future__ import annotations

import re

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"
ANSWER_OPEN, ANSWER_CLOSE = "<answer>", "</answer>"
TAGS = (THINK_OPEN, THINK_CLOSE, ANSWER_OPEN, ANSWER_CLOSE)  # the R1-Zero layout; `format` and the tiny tokenizer use these
# What to grade when a completion has no tags and no box: nothing, its last number (GSM8K-style), or the
# answer its prose states ("the answer is 29", a concluding "So ... is 29.").
FALLBACKS = (None, "last_number", "stated")
_BOX = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_LAST_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
# Inline and display math; a `$` escaped as `\$` (money) neither opens nor closes a span.
_MATH_SPAN = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\((.+?)\\\)|\\\[(.+?)\\\]", re.DOTALL)
_ANSWER_PHRASE = re.compile(r"(?:final answer|the answer|answer)\s*(?:is|:|=)?\s*[:=]?", re.IGNORECASE)
_SEPARATORS_ONLY = re.compile(r"[\s,;.:]*(?:(?:and|or)[\s,;.:]*)*")
_WORD = re.compile(r"(?<![\\A-Za-z\d_^{])[A-Za-z]{2,}(?![A-Za-z(}])")
_MATH_WORDS = {"pi", "sin", "cos", "tan", "cot", "sec", "csc", "log", "ln", "exp", "sqrt", "inf", "oo", "mod", "gcd", "lcm", "max", "min"}
_NUMBER_WITH_UNIT = re.compile(r"(?<![A-Za-z_\d.])-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")  # not inside a name (`x2`, `H2O`)
_STATED = re.compile(r"=|\bis\b")
# What may stand between boxes that together are one answer: `\boxed{1} and \boxed{2}`, `\boxed{1},\boxed{2}`.
_BOX_GAP = re.compile(r"(?:[\s,;.$()\[\]]|\\[()\[\]]|\\q?quad|\\[,;!]|\\text\{\s*(?:and|or|,)?\s*\}|\b(?:and|or)\b)*")
_CONJUNCTION = re.compile(r"\band\b|\bor\b|[,;]")
_GAP_WORD = re.compile(r"[A-Za-z]\w*")
_CONCLUSION = re.compile(r"(?:^|[.!?]\s+)((?:therefore|thus|hence|so)\b[^.!?]*)[.!?]?\s*$", re.IGNORECASE)
_CHAT_MARKER = re.compile(r"<\|[a-z_]+\|>.*$", re.DOTALL)
SHORT_PROSE_WORDS = 40  # an answer section longer than this is a derivation, not an answer in prose
# Markdown emphasis around a value (`**73**`, `__73__`, `*73*`, `_73_`, `***73***`, `` `73` ``). An opening
# marker follows no word character or bracket and a closing one precedes none, so `2**3`, `x_1` and
# `a * b * c` are left alone. Emphasised text holds no marker and no line break, so each opening
# marker scans only to the next marker: linear time on any input.
_EMPHASIS = re.compile(r"(?<![\w\\*_`)\]}])(\*{1,3}|_{1,3}|`)(?=[^\s*_`])([^\n*_`]{1,200}?)(?<=[^\s*_`\\])\1(?![\w*_`({\[])")
# LaTeX commands that only change how a value looks: `\textbf{73}` is 73.
_STYLE_COMMAND = re.compile(r"\\(?:textbf|textit|emph|underline|boldsymbol|bm|mathbf|mathit|mathrm|fbox|boxed)\s*\{")
# A stated value written as LaTeX without delimiters starts with a command (`\frac`, `\sqrt`, `\pi`); `\(` and
# `\[` open math spans instead.
_LEADING_COMMAND = re.compile(r"[\s:=]*([-+]?\s*\\[A-Za-z]+)")
_FOLLOWING_WORD = re.compile(r"\s+[A-Za-z]{2,}\b(?!\s*[=^_{(])")  # ` dollars`, ` of the cake`; not ` dx`-like maths
_DECORATION_LAYERS = 8  # `**$\textbf{73}$.**` has four; a deeper pile is not decoration (and costs linear time each)
_WRAPPING_DELIMITERS = (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]"))


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


def is_prose(text: str) -> bool:
    """Whether an answer section holds words (two letters or more; not LaTeX commands, names or functions)."""
    return any(word.group(0).lower() not in _MATH_WORDS for word in _WORD.finditer(_MATH_SPAN.sub(" ", text)))


def strip_emphasis(text: str) -> str:
    """`text` without the markdown emphasis markers around its words and values (math spans kept as they are).

    >>> strip_emphasis("The answer is **73**, not *72*; 2**3 stays")
    'The answer is 73, not 72; 2**3 stays'
    """
    if "*" not in text and "_" not in text and "`" not in text:
        return text
    pieces, start = [], 0
    for span in _MATH_SPAN.finditer(text):
        pieces.append(_strip_emphasis_outside_math(text[start : span.start()]))
        pieces.append(span.group(0))
        start = span.end()
    pieces.append(_strip_emphasis_outside_math(text[start:]))
    return "".join(pieces)


def _strip_emphasis_outside_math(text: str) -> str:
    for _ in range(3):  # `***73***` is bold italic: one marker pair per pass
        stripped = _EMPHASIS.sub(lambda match: match.group(2), text)
        if stripped == text:
            break
        text = stripped
    return text


def undecorate(answer: str) -> str:
    r"""An extracted answer without the decoration around the whole of it: surrounding space, a trailing
    full stop, markdown emphasis, math delimiters and style commands (`\textbf{}`, `\boxed{}`), repeatedly.

    >>> undecorate(r"**$\textbf{73}$.**")
    '73'
    >>> undecorate(r"\textbf{1} + \textbf{2}")
    '\\textbf{1} + \\textbf{2}'
    """
    for _ in range(_DECORATION_LAYERS):
        previous = answer
        answer = answer.strip()
        if answer.endswith(".") and not answer.endswith(".."):
            answer = answer[:-1].rstrip()
        emphasis = _EMPHASIS.fullmatch(answer)
        if emphasis:
            answer = emphasis.group(2)
        for opening, closing in _WRAPPING_DELIMITERS:
            inner = answer[len(opening) : -len(closing)]
            if len(answer) > len(opening) + len(closing) and answer.startswith(opening) and answer.endswith(closing) and opening not in inner:
                answer = inner
                break
        command = _STYLE_COMMAND.match(answer)
        if command and _matching_braces(answer).get(command.end() - 1) == len(answer) - 1:
            answer = answer[command.end() : -1]
        if answer == previous:
            break
    return answer


def final_answer(text: str) -> str | None:
    r"""The final answer stated in a piece of prose (an answer section, a solution), or None.

    Markdown emphasis is dropped first (`**73**` is 73). Rules, first that applies:
    0. bare maths (no words, boxes or math delimiters): the text itself;
    1. after the last "answer is" / "answer:" phrase (when it comes after the last box): its boxes,
       else its first math span or number;
    2. the last `\boxed{}`, with the boxes chained to it by separators or a short phrase with
       "and"/"or" (`\boxed{3}, \boxed{5}`): a list;
    3. math spans (`$..$`, `\(..\)`, `\[..\]`): joined when only separators lie between them
       (`$1$ and $2$`), else the last one, unless a number follows it in the prose;
    4. prose without math: its only number; in short prose (at most `SHORT_PROSE_WORDS` words), the
       value after the last `=` / `is`, else its last number. A longer text with several numbers is
       graded only by a concluding last sentence ("Therefore, ... is 2/3."), else None: a number that
       may be an intermediate step is never graded.
    The answer found is returned without the decoration around it (`undecorate`: `$73$.` is 73).

    Args:
        text: the prose, e.g. the inside of `<answer>...</answer>`.

    Returns:
        The answer string (a list of values joined by ", "), or None when the text states none.

    >>> final_answer("The answer is $5$ dollars.")
    '5'
    >>> final_answer("So x = 12.")
    '12'
    >>> final_answer(r"$\frac{1}{2}$ and $3$")
    '\\frac{1}{2}, 3'
    >>> final_answer(r"\boxed{3}, \boxed{5}, \boxed{7}")
    '3, 5, 7'
    >>> final_answer("First 2 + 3 = 5 apples, then 5 * 4 = 20 apples, and after that 20 - 1 = 19 apples remain in the big basket on the table by the door of the house next to the road that leads to town where many people live and work every day of the week.") is None
    True
    """
    if not isinstance(text, str):
        return None
    found = _stated_answer(strip_emphasis(text))
    found = undecorate(found) if found is not None else None
    return found or None


def _stated_answer(text: str) -> str | None:
    """`final_answer`'s rules 0-4 on text without emphasis markers."""
    if not is_prose(text) and last_boxed(text) is None and not _MATH_SPAN.search(text):
        return text.strip() or None  # already bare maths: `x = 5`, `\frac{1}{2}`
    phrases = list(_ANSWER_PHRASE.finditer(text))
    boxes = list(_BOX.finditer(text))
    if phrases and (not boxes or phrases[-1].start() > boxes[-1].start()):
        found = _first_value(text[phrases[-1].end() :])  # the last statement of the answer wins
        if found is not None:
            return found
    chained = final_boxes(text)
    if chained:
        return ", ".join(chained) or None
    spans = [next(part for part in span if part).strip() for span in _MATH_SPAN.findall(text)]
    spans = [span for span in spans if span]
    if spans:
        if _SEPARATORS_ONLY.fullmatch(_MATH_SPAN.sub(" ", text)):
            return ", ".join(spans)
        last = list(_MATH_SPAN.finditer(text))[-1]
        trailing = _NUMBER_WITH_UNIT.findall(text[last.end() :])
        return trailing[-1].rstrip(",") if trailing else spans[-1]
    numbers = _NUMBER_WITH_UNIT.findall(text)
    if len(numbers) == 1:
        return numbers[0].rstrip(",")
    if len(text.split()) > SHORT_PROSE_WORDS:
        concluding = _CONCLUSION.search(_CHAT_MARKER.sub("", text).rstrip())
        # A long text is graded only by a concluding sentence ("Therefore, the probability ... is 2/3.").
        return _first_value(concluding.group(1)) if concluding else None
    statements = list(_STATED.finditer(text))
    if statements:
        found = _first_value(text[statements[-1].end() :])
        if found is not None:
            return found
    return numbers[-1].rstrip(",") if numbers else None


def stated_answer(text: str) -> str | None:
    r"""The answer a whole plain-text completion states, or None: after its last "the answer is" / "answer:"
    phrase, else in a concluding last sentence ("So the total is 29."). Never a number from mid-derivation.

    >>> stated_answer("18 + 11 = 29. So, the final answer is 29 apples.")
    '29'
    >>> stated_answer("First 18 + 11 = 29, then")
    >>> stated_answer(r"We add them. Therefore the sum is $\frac{3}{4}$.")
    '\\frac{3}{4}'
    """
    if not isinstance(text, str):
        return None
    text = _CHAT_MARKER.sub("", strip_emphasis(text)).rstrip()
    phrases = list(_ANSWER_PHRASE.finditer(text))
    found = _first_value(text[phrases[-1].end() :]) if phrases else None
    if found is None:
        concluding = _CONCLUSION.search(text)
        found = _first_value(concluding.group(1)) if concluding else None
    found = undecorate(found) if found is not None else None
    return found or None


def joins_a_list(gap: str) -> bool:
    """Whether the text between two boxes makes them one list: separators only, or a short phrase with a
    conjunction (`\\boxed{1} papers and \\boxed{2}`, `\\text{ for part (a) and }`), not `no no no no no`."""
    if _BOX_GAP.fullmatch(gap):
        return True
    plain = re.sub(r"\\text\{([^{}]*)\}", r"\1", gap)
    words = [w for w in _GAP_WORD.findall(plain) if w not in ("and", "or", "text", "quad", "qquad")]
    return bool(_CONJUNCTION.search(plain)) and len(words) <= 3


def complete_boxes(text: str) -> list[tuple[int, int, str]]:
    r"""(start, end, content) of each complete `\boxed{...}` / `\fbox{...}` in `text`, in order; content stripped.

    >>> complete_boxes(r"so \boxed{4} and \boxed{ 5 }")
    [(3, 12, '4'), (17, 28, '5')]
    """
    closing = _matching_braces(text)
    boxes = []
    for match in _BOX.finditer(text):
        i = match.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{" and i in closing:
            boxes.append((match.start(), closing[i] + 1, text[i + 1 : closing[i]].strip()))
    return boxes


def final_boxes(text: str) -> list[str]:
    """Contents of the last box and of the boxes chained to it by separators only (in order)."""
    boxes = complete_boxes(text)
    if not boxes:
        boxed = last_boxed(text)  # `\boxed 5`
        return [boxed.strip()] if boxed is not None else []
    chained = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if not joins_a_list(text[box[1] : chained[0][0]]):
            break
        chained.insert(0, box)
    return [content for _, _, content in chained]


def _first_value(text: str) -> str | None:
    """The value a statement gives: its boxes, else after its last `is`/`=`, else its first math span or number."""
    chained = final_boxes(text)
    if chained:
        return ", ".join(chained) or None
    outside_math = _MATH_SPAN.sub(lambda m: " " * len(m.group(0)), text)
    sentence_end = re.search(r"[.!?](?:\s+[A-Z<\[]|\s*$)", outside_math)
    if sentence_end:  # the statement is its first sentence: "is $10,455$. I hope it is correct."
        text, outside_math = text[: sentence_end.start() + 1], outside_math[: sentence_end.start() + 1]
    statements = list(_STATED.finditer(outside_math))
    if statements:
        text = text[statements[-1].end() :]
    spans = list(_MATH_SPAN.finditer(text))
    number = _NUMBER_WITH_UNIT.search(text)
    bare = _LEADING_COMMAND.match(text)
    if bare and not (spans and spans[0].start() < bare.start(1)):
        # LaTeX without math delimiters (`is \frac{1}{2}.`): the whole expression, never the `1` in it
        return _bare_latex(text, bare.start(1))
    if spans and (number is None or spans[0].start() <= number.start()):
        listed = [spans[0]]  # `$12$ and $13$`: spans joined by separators are one list
        for span in spans[1:]:
            if not _SEPARATORS_ONLY.fullmatch(text[listed[-1].end() : span.start()]):
                break
            listed.append(span)
        values = [next(part for part in span.groups() if part).strip() for span in listed]
        return ", ".join(value for value in values if value) or None
    return number.group(0).rstrip(",") if number else None


def _bare_latex(text: str, start: int) -> str | None:
    """The LaTeX expression starting at `start`: up to a sentence end, a list separator or a following word, outside braces."""
    depth, end = 0, start
    while end < len(text):
        char = text[end]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                break
        elif depth == 0 and (
            char == "$"
            or (char in ".,;!?" and (end + 1 == len(text) or text[end + 1].isspace()))
            or (char.isspace() and _FOLLOWING_WORD.match(text, end))
        ):
            break
        end += 1
    return text[start:end].strip() or None


def extract_answer(completion: str, fallback: str | None = None) -> str | None:
    r"""The final answer of a completion, or None if it gives none. Never raises on a string.

    When the completion closes its reasoning, only the text after the last `</think>` is read: an
    answer is never taken from inside the reasoning (a reasoning model's `...</think> So it is
    \boxed{5}.` gives `5`, a `\boxed{}` tried out while thinking gives nothing). In that text: with an
    `<answer>...</answer>` section (the last complete one), `final_answer` of that section, so every
    rule it documents applies (boxes joined into a list, a final "the answer is" after the last box,
    emphasis and `$...$` dropped). Without one, prose is not an answer and only boxes are: the last
    `\boxed{}` and the boxes chained to it, as `final_answer` reads them. With
    `fallback="last_number"` (GSM8K-style plain outputs) a completion with no reasoning block, tags
    or boxes is graded by its last number; with `fallback="stated"` (an instruct model's plain answer:
    "So, the final answer is 29.") by the answer its prose states (`stated_answer`: an "answer is"
    phrase or a concluding sentence, never a number from mid-derivation). (Reasoning that is opened and never closed is an
    unfinished completion: `correctness` pays it nothing, whatever this returns; see `rewards.layout`.)

    Args:
        completion: the completion text (the prompt's trailing `<think>` already prepended, if any).
        fallback: None, `"last_number"` or `"stated"`, for completions without tags or boxes.

    Returns:
        The answer string (a list of values joined by ", "), or None.

    Raises:
        ValueError: `fallback` is not one of `FALLBACKS`.

    >>> extract_answer("<think>2+2=4</think><answer>4</answer>")
    '4'
    >>> extract_answer(r"<think>so 5</think><answer>It is \boxed{5}.</answer>")
    '5'
    >>> extract_answer(r"<think>list</think><answer>**\boxed{3}, \boxed{5}**</answer>")
    '3, 5'
    >>> extract_answer("<think>maybe 7</think><answer></answer>") is None
    True
    >>> extract_answer(r"<think>is it \boxed{4}? no</think> So the total is \boxed{5}.")
    '5'
    >>> extract_answer("18 + 11 = 29. So, the final answer is 29.", fallback="stated")
    '29'
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; use one of {', '.join(map(repr, FALLBACKS))}")
    if not isinstance(completion, str) or not completion:
        return None
    has_reasoning = THINK_OPEN in completion or THINK_CLOSE in completion
    closed = completion.rfind(THINK_CLOSE)
    if closed >= 0:  # the answer follows the reasoning, never inside it
        completion = completion[closed + len(THINK_CLOSE) :]
        if not completion.strip():
            return None
    section = answer_section(completion)
    if section is not None:
        return final_answer(section)
    boxes = final_boxes(completion)
    if boxes:
        return undecorate(", ".join(boxes)) or None
    if fallback == "last_number" and not has_reasoning:
        numbers = _LAST_NUMBER.findall(completion[-2000:])
        return numbers[-1] if numbers else None
    if fallback == "stated" and not has_reasoning:
        return stated_answer(completion[-4000:])
    return None
