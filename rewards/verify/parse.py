"""Parse an answer string into a typed `Answer` (number, expression, set, interval, relation, ...) with sympy.

Runs inside the checker worker process, never in the trainer. LaTeX goes through
`latex2sympy2_extended`; plain text through a whitelisting `ast` walk. Nothing from the inputs is
ever passed to `eval`, `sympify` or `parse_expr`. Comparing parsed answers is `rewards.verify.compare`.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import sympy
from latex2sympy2_extended import latex2sympy
from sympy.core.relational import Relational

from rewards.verify.normalize import choice_letter, normalize, parse_number, split_percent

_MAX_CHARS = 1000
_MAX_NESTING = 60
_CHAIN_SPLIT = re.compile(r"\\approx|≈|(?<![<>!\\])=(?!=)")
_INEQUALITY = re.compile(r"\\le(?:q)?\b|\\ge(?:q)?\b|\\ne(?:q)?\b|<=|>=|!=|<|>")
_VARIABLE = r"(?:[A-Za-z](?:_\{?\w+\}?)?(?:\([A-Za-z]\))?)"
_MEMBERSHIP = re.compile(rf"^{_VARIABLE}\s*\\in\s*(.+)$")
_LESS = r"(<|\\le(?:q)?\b|<=)"
_GREATER = r"(>|\\ge(?:q)?\b|>=)"
_CHAINED_BOUNDS = re.compile(rf"^(.+?)\s*{_LESS}\s*{_VARIABLE}\s*{_LESS}\s*(.+)$")
_CHAINED_BOUNDS_DOWN = re.compile(rf"^(.+?)\s*{_GREATER}\s*{_VARIABLE}\s*{_GREATER}\s*(.+)$")
# `normalize` writes "and"/"or" between inequalities as these (a list word elsewhere).
_OR, _AND = "\\lor", "\\land"
_CONNECTIVE = re.compile(r"\\lor\b|\\land\b")
_NAME = r"[A-Za-z](?:_\{?\w+\}?)?"
_SYMBOL = re.compile(rf"{_NAME}|\\[a-zA-Z]+|[A-Za-z]\([A-Za-z]\)|\(\s*{_NAME}(?:\s*,\s*{_NAME})+\s*\)")
_PLAIN_TEXT = re.compile(r"^[\w\s.+\-*/^()]*$")
_FUNCTIONS = {
    "sqrt": sympy.sqrt, "exp": sympy.exp, "log": sympy.log, "ln": sympy.log, "sin": sympy.sin,
    "cos": sympy.cos, "tan": sympy.tan, "abs": sympy.Abs,
}  # fmt: skip
# `i` is the imaginary unit in an answer (`(1+i)^2` = `2i`), as in math-verify.
_CONSTANTS = {"pi": sympy.pi, "e": sympy.E, "oo": sympy.oo, "inf": sympy.oo, "infinity": sympy.oo, "i": sympy.I}
_IMAGINARY = sympy.Symbol("i")


class Unparseable(ValueError):
    """An answer string that is not mathematics we can read."""


# ---------------------------------------------------------------- parsing


def parse_plain(text: str) -> sympy.Basic:
    """Parse `2*x + sqrt(3)/2`-style plain text by walking a whitelisted Python AST."""
    tree = ast.parse(text.replace("^", "**"), mode="eval")

    def walk(node: ast.AST) -> sympy.Basic:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return sympy.Rational(str(node.value)) if isinstance(node.value, float) else sympy.Integer(node.value)
        if isinstance(node, ast.Name):
            return _CONSTANTS.get(node.id, sympy.Symbol(node.id))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = walk(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            left, right = walk(node.left), walk(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
            if isinstance(node.op, ast.Pow):
                return sympy.Pow(left, right, evaluate=False) if _too_big(left, right) else left**right
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in _FUNCTIONS
            and len(node.args) == 1
            and not node.keywords
        ):
            return _FUNCTIONS[node.func.id](walk(node.args[0]))
        raise Unparseable(f"disallowed syntax: {type(node).__name__}")

    return walk(tree)


def _too_big(base: sympy.Basic, exponent: sympy.Basic) -> bool:
    return bool(exponent.is_Number and abs(exponent) > 10_000 and base.is_Number)


def parse_expression(text: str) -> sympy.Basic:
    """One mathematical object (number, expression, set, interval, matrix, relation)."""
    if not text:
        raise Unparseable("empty")
    if _PLAIN_TEXT.match(text) and "\\" not in text:
        try:
            return parse_plain(text)
        except (SyntaxError, Unparseable, TypeError, ValueError, RecursionError):
            pass  # plain-looking but not Python syntax (`2x`): latex2sympy reads implicit products
    try:
        value = latex2sympy(text, convert_degrees=True)  # a degree left in an expression is an angle
    except Exception as error:  # latex2sympy raises many kinds; all mean "cannot read this"
        raise Unparseable(str(error)[:200]) from None
    if isinstance(value, sympy.Basic) and _IMAGINARY in value.free_symbols:
        value = value.subs(_IMAGINARY, sympy.I)
    if isinstance(value, sympy.MatrixExpr) and not isinstance(value, sympy.MatrixBase):
        value = value.doit()  # `A + B`, `A B` of explicit matrices: the matrix they make
    return value


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split on `separator` outside any bracket pair."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        if char == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts]


@dataclass(frozen=True, slots=True)
class NumberValue:
    """A plain number: its exact value, whether it was written as a decimal, its value / 100 if a percent."""

    value: Fraction | sympy.Basic
    is_float: bool
    percent: Fraction | sympy.Basic | None = None


@dataclass(frozen=True, slots=True)
class IntervalValue:
    """`[low, high)` and the like: each bracket, `(` / `[` on the left and `)` / `]` on the right."""

    left: str
    low: Answer
    high: Answer
    right: str


@dataclass(frozen=True, slots=True)
class EquationValue:
    """`lhs = ... = value`: the equation (two sides, else None), the last side, and the name the left
    side gives it (`x`, `a_{37}`, `|AB|`; None when the left side computes rather than names)."""

    equation: sympy.Basic | None
    value: Answer | None
    name: str | None

    @property
    def names_value(self) -> bool:
        return self.name is not None


class Answer:
    """A parsed answer: kind in {number, expr, relation, tuple, set, interval, choice, equation}.

    `value` by kind: number `NumberValue`, interval `IntervalValue`, equation `EquationValue`,
    set/tuple a list of `Answer`, choice a letter, expr a sympy object, relation a sympy relation
    (`x \\le 3`) or a conjunction/disjunction of them (`x < 1 \\lor x > 3`).
    """

    __slots__ = ("kind", "value", "text")

    def __init__(self, kind: str, value: object, text: str):
        self.kind, self.value, self.text = kind, value, text

    def __repr__(self) -> str:
        return f"Answer({self.kind}, {self.value!r})"


@lru_cache(maxsize=4096)
def parse_answer(raw: str) -> Answer:
    """Turn a normalised answer string into an `Answer`; cached, since a gold is shared by a group."""
    text = normalize(raw)
    if len(text) > _MAX_CHARS or _nesting(text) > _MAX_NESTING:
        raise Unparseable("too large")
    letter = choice_letter(text)
    if letter:
        return Answer("choice", letter, text)
    text, is_percent = split_percent(text)
    number = parse_number(text)
    if number is not None:
        percent = number.value / 100 if is_percent else None
        return Answer("number", NumberValue(number.value, number.is_float, percent), text)
    text = re.sub(r"^\\text\{\s*\}|\\text\{([^{}]*)\}", lambda m: m.group(1) or "", text)
    top_items = split_top_level(text)
    if len(top_items) > 1 and all(top_items) and not (text[:1] in "([" and _balanced_outer(text)):
        # A list before anything else: `AB=4, CD=5` is two equations, not `AB = (4, CD) = 5`.
        return Answer("set", [parse_answer(item) for item in top_items], text)
    membership = _MEMBERSHIP.match(text)
    if membership:  # `x \in [-2, 7]` answers `[-2, 7]`
        return parse_answer(membership.group(1))
    bounds = _CHAINED_BOUNDS.match(text)
    if bounds:  # `-2 \le x < 7` is the interval [-2, 7)
        low, low_op, high_op, high = bounds.groups()
        low_bracket = "(" if low_op == "<" else "["
        high_bracket = ")" if high_op == "<" else "]"
        return Answer("interval", IntervalValue(low_bracket, parse_answer(low), parse_answer(high), high_bracket), text)
    bounds = _CHAINED_BOUNDS_DOWN.match(text)
    if bounds:  # `7 > x \ge -2` is the interval [-2, 7)
        high, high_op, low_op, low = bounds.groups()
        low_bracket = "(" if low_op == ">" else "["
        high_bracket = ")" if high_op == ">" else "]"
        return Answer("interval", IntervalValue(low_bracket, parse_answer(low), parse_answer(high), high_bracket), text)
    if _CONNECTIVE.search(text):  # `x < 1 \lor x > 3`, `x > 1 \land x < 3`
        return Answer("relation", parse_connectives(text), text)
    # Relations: `x = 5` and `x = 1+1 = 2` keep their last side as the value; inequalities stay.
    if _INEQUALITY.search(text) and not text.startswith(("(", "[")):
        return Answer("relation", parse_expression(text), text)
    exact, *approximations = re.split(r"\\approx|≈", text)
    if approximations and _CHAIN_SPLIT.search(exact):
        text = exact.strip()  # `x = 1/3 \approx 0.33`: the exact value is the answer
    sides = [side.strip() for side in _CHAIN_SPLIT.split(text)]
    if len(sides) > 1:
        equation = None
        if len(sides) == 2 and sides[0] and sides[1]:
            try:
                equation = sympy.Eq(parse_expression(sides[0]), parse_expression(sides[1]), evaluate=False)
            except Unparseable:
                equation = None
        last = parse_answer(sides[-1]) if sides[-1] else None
        names_value = _is_symbol(sides[0]) or _is_label(sides[0]) or _is_symbol(sides[-2])
        name = re.sub(r"[{}\s]", "", sides[0]) if names_value else None
        return Answer("equation", EquationValue(equation, last, name), text)
    set_match = re.fullmatch(r"\\\{(.*)\\\}", text) or re.fullmatch(r"\{([^{}]*,[^{}]*)\}", text)  # `{1, 2}` too
    if set_match:
        items = [parse_answer(item) for item in split_top_level(set_match.group(1)) if item]
        return Answer("set", items, text)
    if text[:1] in "([" and text[-1:] in ")]" and _balanced_outer(text):
        items = split_top_level(text[1:-1])
        if len(items) == 2 and (text[0] == "[" or text[-1] == "]"):
            return Answer("interval", IntervalValue(text[0], parse_answer(items[0]), parse_answer(items[1]), text[-1]), text)
        if len(items) >= 2:
            return Answer("tuple", [parse_answer(item) for item in items], text)
    value = parse_expression(text)
    if isinstance(value, Relational):
        return Answer("relation", value, text)
    if isinstance(value, (sympy.Set, sympy.MatrixBase)):
        return Answer("expr", value, text)
    if not isinstance(value, sympy.Basic):
        raise Unparseable(f"not a mathematical object: {type(value).__name__}")
    if value.is_Number and value.is_finite:
        return Answer("number", NumberValue(sympy.Rational(value) if value.is_Rational else value, value.is_Float, None), text)
    return Answer("expr", value, text)


def parse_connectives(text: str) -> sympy.Basic:
    """`a \\lor b \\land c` (relations joined by "or"/"and", as `normalize` writes them): a sympy Or of Ands."""
    alternatives = []
    for alternative in text.split(_OR):
        conditions = [parse_expression(condition.strip()) for condition in alternative.split(_AND)]
        if not all(isinstance(condition, (Relational, sympy.And, sympy.Or)) for condition in conditions):
            raise Unparseable("'and'/'or' joins something that is not a relation")
        alternatives.append(sympy.And(*conditions))
    return sympy.Or(*alternatives)


_ARITHMETIC = re.compile(r"[-+]|\\pm\b|\d\s*[A-Za-z\\(]|^\s*[\d.]+\s*$")


def _is_label(text: str) -> bool:
    """A left side that names a quantity rather than computes one: `|AB|`, `\\angle ABC`, `f(2)`, `P(A)`.

    A sum or difference (`2x + z`), a coefficient (`2x`) or a bare number makes it one side of an
    equation instead.
    """
    stripped = text.strip()
    return bool(stripped) and not _ARITHMETIC.search(stripped) and len(stripped) <= 40


def _is_symbol(text: str) -> bool:
    """`x`, `a_{37}`, `\\theta`, `f(x)` or `(x, y)`: a left side that names the value on its right."""
    return bool(_SYMBOL.fullmatch(text.strip()))


def _nesting(text: str) -> int:
    depth = deepest = 0
    for char in text:
        if char in "({[":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")}]":
            depth -= 1
    return deepest


def _balanced_outer(text: str) -> bool:
    """Whether the first and last bracket of `text` enclose all of it (`(1,2)` yes, `(1)+(2)` no)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0 and index != len(text) - 1:
                return False
    return depth == 0
