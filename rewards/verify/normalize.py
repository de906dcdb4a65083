"""Answer-string normalisation and the sympy-free fast path for plain numbers.

Most GRPO answers are integers, decimals or simple fractions; deciding those here, in-process
and exactly, keeps the slow (sympy, worker-process) path for the answers that need it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from latex2sympy2_extended.math_normalization import NormalizationConfig, normalize_latex
from latex2sympy2_extended.math_normalization import units as LATEX2SYMPY_UNITS

# latex2sympy2_extended's own clean-up (the one math-verify uses): unit words, `\sqrt3`, `\frac94`.
_LATEX_FIXES = NormalizationConfig(basic_latex=True, units=True, malformed_operators=True, nits=False, boxed="none")
_LATEX_FIXES_NO_UNITS = NormalizationConfig(basic_latex=True, units=False, malformed_operators=True, nits=False, boxed="none")
_COMMAND_AT_END = re.compile(r"\\[A-Za-z]+\s*$")
_MAX_LATEX_FIX_CHARS = 4000  # longer strings are rejected as answers anyway; spare them the regexes

_REMOVE = (
    "\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\displaystyle", "\\bigl", "\\bigr",
    "\\Bigl", "\\Bigr", "\\big", "\\Big", "\\$", "$",
    "\\(", "\\)", "\\[", "\\]", "{,}",
)  # fmt: skip
_REPLACE = {
    "\\dfrac": "\\frac", "\\tfrac": "\\frac", "−": "-", "–": "-", "\\minus": "-", "≤": "\\le ",
    "≥": "\\ge ", "≠": "\\ne ", "\\leqslant": "\\le ", "\\geqslant": "\\ge ",
    "\\lt": "<", "\\gt": ">", "×": "\\times ", "·": "\\cdot ", "÷": "\\div ", "∞": "\\infty ",
    "\\textbf": "\\text", "\\mathrm": "\\text", "\\mbox": "\\text", "\\textrm": "\\text",
    "\\mathbf": "\\text", "\\operatorname": "\\text", "\\textnormal": "\\text", "\\qquad": ", ",
    "\\quad": ", ",
}  # fmt: skip
_PERCENT_WORDS = re.compile(r"\s*(\\%|%|percentage|percent|pct)\s*$")
_TEXT_GROUP = re.compile(r"\\text\{([^{}]*)\}")
_UNIT_AFTER_NUMBER = re.compile(r"^([-+]?[\d.,/]+)\s*\\text\{[^{}]*\}(\^\{?\d\}?)?$")
_THOUSANDS = re.compile(r"^[-+]?[1-9]\d{0,2}([, ]\d{3})+(\.\d+)?$")  # `0,111` is a decimal comma
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_LIST_WORDS = re.compile(r"\s*(?:\\text\{\s*(?:and|or)\s*\}|\b(?:and|or)\b|;)\s*")
# Between inequalities "and"/"or" are logic, not a list: `x > 1 and x < 3` is (1, 3).
_INEQUALITY_SIGN = re.compile(r"[<>≤≥≠]|\\(?:leq?|geq?|neq?|lt|gt|leqslant|geqslant)(?![A-Za-z])")
_AND_WORD = re.compile(r"\s*(?:\\text\{\s*and\s*\}|\band\b|\\land(?![A-Za-z])|\\wedge(?![A-Za-z]))\s*")
_OR_WORD = re.compile(r"\s*(?:\\text\{\s*or\s*\}|\bor\b|\\lor(?![A-Za-z])|\\vee(?![A-Za-z]))\s*")
# A comma between digits as a decimal point (`decimal_comma: true` datasets): one comma, digits on
# both sides, not part of a longer comma list (`1,2,3` stays a list).
_DIGIT_COMMA_DIGIT = re.compile(r"(?<![\d,.])(\d+),(\d+)(?![\d,.])")
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")
_SLASH_FRACTION = re.compile(r"^([-+]?)(\d+)\s*/\s*(\d+)$")
_LATEX_FRACTION = re.compile(r"^([-+]?)\\frac\s*(?:\{\s*(\d+)\s*\}|(\d))\s*(?:\{\s*(\d+)\s*\}|(\d))$")
_SCIENTIFIC = re.compile(r"^([-+]?\d+\.?\d*)\s*(?:\\times|\\cdot|\*|x)\s*10\s*\^\s*\{?\s*([-+]?\d+)\s*\}?$")
_CHOICE = re.compile(r"^\(?([A-Ea-e])\)?[.:]?$|^\\text\{\(?([A-E])\)?\}$")
_MAX_FAST_DIGITS = 400
_OVER_ESCAPED = re.compile(r"\\\\[A-Za-z]")
_SINGLE_COMMAND = re.compile(r"(?<!\\)\\[A-Za-z]")
# Degrees: a trailing one is a unit (`30^\circ` answers `30`); inside an expression it is an angle
# (`\cos(90^\circ - t)`), which latex2sympy converts to radians.
_DEGREE = r"(?:\^\s*\{\s*\\circ\s*\}|\^\s*\\circ|\\circ|°|\\degree)"
_TRAILING_DEGREE = re.compile(rf"^([-+]?[\d.,]+)\s*{_DEGREE}\s*$")
# Units written as bare words after a number (`12 meters`, `3 m^2`, `12meters`, `7 dollars`):
# latex2sympy2_extended's unit vocabulary (it only strips them inside `\text{}`) plus money and time.
_UNIT_WORDS = sorted(
    {u for u in LATEX2SYMPY_UNITS if u.isalpha() and (len(u) > 1 or u in "mgsl")}
    | {"dollar", "cent", "euro", "metre", "gram", "second", "minute", "hour", "day", "week", "mile", "unit", "km", "kg", "cm"},
    key=len, reverse=True,
)  # fmt: skip
_BARE_UNIT = re.compile(rf"^([-+]?[\d.,/]+)\s*(?:{'|'.join(_UNIT_WORDS)})(?:s|es)?(?:\s*\^\s*\{{?[23]\}}?)?$")
_MIXED_NUMBER = re.compile(r"^([-+]?)(\d+)\s+(\d+)\s*/\s*(\d+)$")
_BASE_SUBSCRIPT = re.compile(r"^([0-9A-Za-z]+)_\{?\s*(\d{1,2})\s*\}?$")


@lru_cache(maxsize=8192)  # a group's 8-16 completions share one gold: normalise it once
def normalize(answer: str) -> str:
    r"""Strip LaTeX noise that never changes the value of an answer.

    >>> normalize(r"$\dfrac{1}{2}$.")
    '\\frac{1}{2}'
    >>> normalize(r"1{,}000 \text{ cm}")
    '1000'
    """
    text = answer.strip()
    if text.startswith("\\boxed{") and text.endswith("}"):
        text = text[len("\\boxed{") : -1]
    if _OVER_ESCAPED.search(text) and not _SINGLE_COMMAND.search(text):
        text = text.replace("\\\\", "\\")  # every command written `\\frac`: an over-escaped string, not line breaks
    text = re.sub(r"(\d),\\!\s*(?=\d{3})", r"\1", text)  # 11,\!111: a thousands separator, not a list
    if _INEQUALITY_SIGN.search(text):  # before latex2sympy's clean-up, which turns `\text{ and }` into a comma
        text = _OR_WORD.sub(r" \\lor ", _AND_WORD.sub(r" \\land ", text))
    if len(text) <= _MAX_LATEX_FIX_CHARS:
        with_units_removed = normalize_latex(text, _LATEX_FIXES)
        # Its unit words include single letters (`t`, `h`, `m`): `\sin t` must keep its argument.
        text = normalize_latex(text, _LATEX_FIXES_NO_UNITS) if _COMMAND_AT_END.search(with_units_removed) else with_units_removed
    for token in _REMOVE:
        text = text.replace(token, "")
    for old, new in _REPLACE.items():
        text = text.replace(old, new)
    text = re.sub(r"(?<!\\)\\ ", " ", text)  # `\ ` is a space; `\\ ` (a row break, then a space) stays
    text = " ".join(text.split()).strip().rstrip(".").strip()
    trailing_degree = _TRAILING_DEGREE.match(text)
    if trailing_degree and trailing_degree.group(1):
        text = trailing_degree.group(1)
    text = _LIST_WORDS.sub(", ", text)  # `6 and 8`, `(11,7) or (7,11)`, `-12;-11`: lists
    text = re.sub(r"\s*,(?:\s*,)+\s*", ", ", text).strip(", ")
    unit = _UNIT_AFTER_NUMBER.match(text) or _BARE_UNIT.match(text)
    if unit:
        text = unit.group(1)
    base = _BASE_SUBSCRIPT.match(text)
    if base:
        text = f"{base.group(1)}_{{{base.group(2)}}}"  # `17_8` and `17_{8}` are one form
    whole_text = re.fullmatch(r"\\text\{([^{}]*)\}", text)
    if whole_text:
        text = whole_text.group(1).strip()
    if _THOUSANDS.match(text):
        text = text.replace(",", "").replace(" ", "")
    return text


def decimal_comma_reading(text: str) -> str | None:
    """`2,74` read as the decimal 2.74 (European notation); None if `text` is not of that shape.

    Only the caller knows whether `1,2` is a list or a decimal: it asks when the other side is a decimal.
    """
    return text.replace(",", ".") if _DECIMAL_COMMA.match(text) else None


def decimal_commas_to_points(text: str) -> str:
    """Every `digits,digits` of `text` (not inside a longer comma list) with a decimal point: for
    datasets written with decimal commas (`answer_checking.decimal_comma`), on both sides of a check.

    >>> decimal_commas_to_points("0,5"), decimal_commas_to_points("1,2,3"), decimal_commas_to_points("(0,5; 2)")
    ('0.5', '1,2,3', '(0.5; 2)')
    """
    return _DIGIT_COMMA_DIGIT.sub(r"\1.\2", text) if "," in text else text


def split_percent(text: str) -> tuple[str, bool]:
    """(`text` without a trailing percent sign or word, whether there was one)."""
    stripped = _PERCENT_WORDS.sub("", text)
    return stripped, stripped != text


@dataclass(frozen=True, slots=True)
class PlainNumber:
    """A number read without sympy: its exact value and whether it was written as a decimal (so a
    float tolerance applies)."""

    value: Fraction
    is_float: bool


def parse_number(text: str) -> PlainNumber | None:
    """The exact value of a plain number (and whether it was written as a decimal), or None if `text` is not one.

    Handles integers, decimals, `a/b`, `\\frac{a}{b}`, mixed numbers (`2 3/4`), numbers in a base
    (`17_{8}` = 15), scientific notation. Exact Fractions keep rationals exact; the flag lets the
    caller apply a float tolerance when a decimal is involved.

    >>> [number.value for number in (parse_number("2 3/4"), parse_number("-1 1/2"), parse_number("17_{8}"))]
    [Fraction(11, 4), Fraction(-3, 2), Fraction(15, 1)]
    >>> parse_number("1.50")
    PlainNumber(value=Fraction(3, 2), is_float=True)
    """
    if len(text) > _MAX_FAST_DIGITS:
        return None
    mixed = _MIXED_NUMBER.match(text)
    if mixed:
        sign, whole, numerator, denominator = mixed.groups()
        if int(denominator) == 0 or int(numerator) >= int(denominator):
            return None  # `2 5/3` is not how anyone writes a mixed number
        value = int(whole) + Fraction(int(numerator), int(denominator))
        return PlainNumber(-value if sign == "-" else value, False)
    base = _BASE_SUBSCRIPT.match(text)
    if base:
        digits, radix = base.group(1), int(base.group(2))
        if not 2 <= radix <= 36:
            return None
        try:
            return PlainNumber(Fraction(int(digits, radix)), False)
        except ValueError:
            return None  # a digit the base does not have: not a number in that base
    if _NUMBER.match(text):
        return PlainNumber(Fraction(text), "." in text or "e" in text.lower())
    fraction = _SLASH_FRACTION.match(text)
    if fraction:
        sign, numerator, denominator = fraction.groups()
        if int(denominator) == 0:
            return None
        value = Fraction(int(numerator), int(denominator))
        return PlainNumber(-value if sign == "-" else value, False)
    latex = _LATEX_FRACTION.match(text)
    if latex:
        sign = latex.group(1)
        numerator = int(latex.group(2) or latex.group(3))
        denominator = int(latex.group(4) or latex.group(5))
        if denominator == 0:
            return None
        value = Fraction(numerator, denominator)
        return PlainNumber(-value if sign == "-" else value, False)
    scientific = _SCIENTIFIC.match(text)
    if scientific and abs(int(scientific.group(2))) <= 300:
        return PlainNumber(Fraction(scientific.group(1)) * Fraction(10) ** int(scientific.group(2)), True)
    return None


REL_TOL = 1e-6


@dataclass(frozen=True, slots=True)
class Tolerance:
    """How close two numbers must be to count as equal; passed down every comparison explicitly.

    `rel_tol`: relative error allowed when either side was written as a decimal (two exact values
    must be equal). `precision`: decimal places to which a decimal answer may also be rounded
    (`0.33` for `1/3` at 2); None (default) for no rounding.
    """

    rel_tol: float = REL_TOL
    precision: int | None = None


DEFAULT_TOLERANCE = Tolerance()


def numbers_equal(a: PlainNumber, b: PlainNumber, tolerance: Tolerance = DEFAULT_TOLERANCE) -> bool:
    """Exact for two rationals; within `tolerance` when either side was written as a decimal.

    The tolerance is relative at every scale (Fractions never underflow): `1/300!` and `1/302!`
    differ, however close both are to zero. With `tolerance.precision` (decimal places), a decimal
    side also matches when both round to the same value there (`0.33` for `1/3` at precision 2).

    >>> numbers_equal(parse_number("0.33"), parse_number("1/3"), Tolerance(precision=2))
    True
    >>> numbers_equal(parse_number("0.33"), parse_number("1/3"))
    False
    """
    if not (a.is_float or b.is_float):
        return a.value == b.value
    if abs(a.value - b.value) <= tolerance.rel_tol * max(abs(a.value), abs(b.value)):
        return True
    precision = tolerance.precision
    return precision is not None and round(a.value, precision) == round(b.value, precision)


def choice_letter(text: str) -> str | None:
    """The letter of a multiple-choice answer (`B`, `(B)`, `\\text{(B)}`), else None."""
    match = _CHOICE.match(text.strip())
    if not match:
        return None
    return (match.group(1) or match.group(2)).upper()
