"""Symbolic equivalence with sympy: runs inside the checker worker process, never in the trainer.

LaTeX goes through `latex2sympy2_extended`; plain text through a whitelisting `ast` walk. Nothing
from the inputs is ever passed to `eval`, `sympify` or `parse_expr`.
"""

from __future__ import annotations

import ast
import random
import re
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import sympy
from latex2sympy2_extended import latex2sympy
from sympy.core.relational import Relational

from rewards.verify.normalize import REL_TOL, choice_letter, normalize, numbers_equal, parse_number, split_percent

_REL_TOL = REL_TOL
# Decimal places a decimal answer may be rounded to (None: exact up to _REL_TOL); set per request.
_precision: int | None = None
_PRECISION = 40  # digits of the numeric comparison; sympy Floats have an unbounded exponent
_MAX_CHARS = 1000
_MAX_NESTING = 60
_SPOT_CHECKS = 3
_CHAIN_SPLIT = re.compile(r"\\approx|≈|(?<![<>!\\])=(?!=)")
_INEQUALITY = re.compile(r"\\le(?:q)?\b|\\ge(?:q)?\b|\\ne(?:q)?\b|<=|>=|!=|<|>")
_VARIABLE = r"(?:[A-Za-z](?:_\{?\w+\}?)?(?:\([A-Za-z]\))?)"
_MEMBERSHIP = re.compile(rf"^{_VARIABLE}\s*\\in\s*(.+)$")
_LESS = r"(<|\\le(?:q)?\b|<=)"
_CHAINED_BOUNDS = re.compile(rf"^(.+?)\s*{_LESS}\s*{_VARIABLE}\s*{_LESS}\s*(.+)$")
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


class NumberValue(NamedTuple):
    """A plain number: its exact value, whether it was written as a decimal, its value / 100 if a percent."""

    value: Fraction | sympy.Basic
    is_float: bool
    percent: Fraction | sympy.Basic | None


class IntervalValue(NamedTuple):
    left: str  # `(` or `[`
    low: Answer
    high: Answer
    right: str  # `)` or `]`


class EquationValue(NamedTuple):
    """`lhs = ... = value`: the equation (two sides, else None), the last side, and whether the left side names it."""

    equation: sympy.Basic | None
    value: Answer | None
    names_value: bool


class Answer:
    """A parsed answer: kind in {number, expr, relation, tuple, set, interval, choice, equation}.

    `value` by kind: number `NumberValue`, interval `IntervalValue`, equation `EquationValue`,
    set/tuple a list of `Answer`, choice a letter, expr/relation a sympy object.
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
        value, is_float = number
        if is_percent:
            return Answer("number", NumberValue(value, is_float, value / 100), text)
        return Answer("number", NumberValue(value, is_float, None), text)
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
        return Answer("equation", EquationValue(equation, last, _is_symbol(sides[0]) or _is_label(sides[0]) or _is_symbol(sides[-2])), text)
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


# ---------------------------------------------------------------- equivalence


def equivalent(pred: str, gold: str, precision: int | None = None) -> bool:
    """Whether `pred` and `gold` denote the same mathematics (decimals rounded to `precision` places, if given)."""
    global _precision
    _precision = precision
    try:
        return _equivalent(pred, gold)
    finally:
        _precision = None


def _equivalent(pred: str, gold: str) -> bool:
    try:
        gold_answer = parse_answer(gold)
    except (Unparseable, RecursionError):
        return normalize(pred) == normalize(gold)
    try:
        pred_answer = parse_answer(pred)
    except (Unparseable, RecursionError):
        return False
    return answers_equal(pred_answer, gold_answer)


def answers_equal(pred: Answer, gold: Answer) -> bool:
    if pred.text == gold.text:
        return True
    if gold.kind == "choice" or pred.kind == "choice":
        return pred.kind == gold.kind and pred.value == gold.value
    if pred.kind == "equation" and gold.kind == "equation":
        return _equations_equal(pred.value, gold.value)
    if pred.kind == "equation":
        # `x = 5` answers `5`; `7 = 11a + c` does not answer `11a + c`.
        _, last, lhs_is_symbol = pred.value
        return lhs_is_symbol and last is not None and answers_equal(last, gold)
    if gold.kind == "equation":
        # The gold is trusted: `x = 5`, `(p, q) = (3, 2)` or `|AB| = 1` name their value on the right;
        # `2x + 4y - 3 = 0` and `2x + z = 1` are equations, answered by an equation only.
        _, last, lhs_is_symbol = gold.value
        if last is None or not lhs_is_symbol:
            return False
        return answers_equal(pred, last)
    if gold.kind == "interval" or pred.kind == "interval":
        return _intervals_equal(pred, gold)  # `(0, 1)` as a tuple is also the open interval
    if gold.kind in ("set", "tuple") or pred.kind in ("set", "tuple"):
        return _collections_equal(pred, gold)
    if gold.kind == "relation" or pred.kind == "relation":
        return pred.kind == gold.kind and _relations_equal(pred.value, gold.value)
    return values_equal(_value(pred), _value(gold), percent=(pred, gold))


def _nonzero_constant(answer: Answer) -> bool:
    """A number, or a tuple/set of numbers, that is not zero: the value a labelled gold names."""
    if answer.kind == "number":
        return answer.value[0] != 0
    if answer.kind in ("tuple", "set"):
        return all(item.kind == "number" for item in answer.value)
    if answer.kind == "expr" and isinstance(answer.value, sympy.Expr):
        return not answer.value.free_symbols and answer.value != 0
    return False


def _value(answer: Answer) -> sympy.Basic:
    if answer.kind == "number":
        value = answer.value[0]
        return sympy.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else value
    return answer.value


def values_equal(a: sympy.Basic, b: sympy.Basic, percent: tuple[Answer, Answer] | None = None) -> bool:
    if percent is not None:
        pred, gold = percent
        if pred.kind == "number" and gold.kind == "number":
            return _number_values_equal(pred.value, gold.value)
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)) or a.shape != b.shape:
            return False
        return all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, sympy.Set) or isinstance(b, sympy.Set):
        return isinstance(a, sympy.Set) and isinstance(b, sympy.Set) and bool(a == b or a.symmetric_difference(b).is_empty)
    if a == b:
        return True
    try:
        if a.is_number and b.is_number:
            return numbers_close(a, b)
        difference = sympy.simplify(a - b)
        if difference == 0:
            return True
        return _spot_check(a, b)
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, RecursionError):
        return False


def numbers_close(a: sympy.Basic, b: sympy.Basic, rel_tol: float = _REL_TOL) -> bool:
    """Two constant values: exactly equal when both are rational, else within a relative tolerance.

    Evaluated as sympy Floats, whose exponent does not overflow or underflow, so the tolerance stays
    relative near zero (`1/300!` vs `1/302!` differ) and for huge values.
    """
    if a.is_infinite or b.is_infinite:
        return bool(a == b)
    if a.is_Rational and b.is_Rational:
        return bool(a == b)
    x, y = sympy.N(a, _PRECISION), sympy.N(b, _PRECISION)
    if not (x.is_finite and y.is_finite) or x.has(sympy.nan) or y.has(sympy.nan):
        return False
    difference = sympy.N(sympy.Abs(x - y), _PRECISION)
    scale = sympy.N(sympy.Max(sympy.Abs(x), sympy.Abs(y)), _PRECISION)
    if difference <= rel_tol * scale:
        return True
    if _precision is not None and (a.is_Float or b.is_Float) and x.is_real and y.is_real:
        return bool(sympy.Float(x).round(_precision) == sympy.Float(y).round(_precision))
    return False


def _number_values_equal(pred: NumberValue, gold: NumberValue) -> bool:
    pred_value, pred_float, pred_percent = pred
    gold_value, gold_float, gold_percent = gold
    candidates = [(pred_value, gold_value)]
    if gold_percent is not None:
        candidates.append((pred_value, gold_percent))
    if pred_percent is not None:
        candidates.append((pred_percent, gold_value))
    for x, y in candidates:
        if numbers_equal((_fraction(x), pred_float), (_fraction(y), gold_float), _REL_TOL, _precision):
            return True
    return False


def _fraction(value: Fraction | sympy.Rational | sympy.Float) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    return Fraction(str(value))


def _spot_check(a: sympy.Basic, b: sympy.Basic) -> bool:
    """Evaluate both sides at random points: catches identities `simplify` misses."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    if not symbols:
        return False
    rng = random.Random(0)
    for _ in range(_SPOT_CHECKS):
        point = {symbol: sympy.Rational(rng.randint(11, 97), rng.randint(7, 13)) for symbol in symbols}
        x, y = sympy.N(a.subs(point), _PRECISION), sympy.N(b.subs(point), _PRECISION)
        if not (x.is_number and y.is_number and x.is_finite and y.is_finite):
            return False
        # Values at these points are O(1): an absolute floor absorbs evaluation noise around 0.
        if sympy.Abs(x - y) > 1e-6 * sympy.Max(sympy.Abs(x), sympy.Abs(y), 1):
            return False
    return True


def _collections_equal(pred: Answer, gold: Answer) -> bool:
    pred_items = pred.value if pred.kind in ("set", "tuple") else [pred]
    gold_items = gold.value if gold.kind in ("set", "tuple") else [gold]
    if "tuple" in (pred.kind, gold.kind):
        if pred.kind != gold.kind or len(pred_items) != len(gold_items):
            return False
        return all(answers_equal(p, g) for p, g in zip(pred_items, gold_items))
    if len(pred_items) != len(gold_items):
        pred_items, gold_items = _distinct(pred_items), _distinct(gold_items)
        if len(pred_items) != len(gold_items):
            return False
    named_pred, named_gold = _values_by_name(pred_items), _values_by_name(gold_items)
    if named_pred is not None and named_gold is not None:
        # `a_3 = 2, a_{37} = 19`: each name keeps its value; `x=1, y=2` is not `x=2, y=1`.
        return named_pred.keys() == named_gold.keys() and all(
            answers_equal(named_pred[name], named_gold[name]) for name in named_gold
        )
    unmatched = list(gold_items)
    for item in pred_items:
        match = next((g for g in unmatched if answers_equal(item, g)), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


def _distinct(items: list[Answer]) -> list[Answer]:
    """A set's members without repeats (a listed solution may appear twice)."""
    kept: list[Answer] = []
    for item in items:
        if not any(answers_equal(item, other) for other in kept):
            kept.append(item)
    return kept


def _values_by_name(items: list[Answer]) -> dict[str, Answer] | None:
    """{`a_37`: 19, ...} when every item is `name = value` with distinct names, else None."""
    named = {}
    for item in items:
        if item.kind != "equation" or not item.value[2] or item.value[1] is None:
            return None
        named[re.sub(r"[{}\s]", "", _CHAIN_SPLIT.split(item.text)[0])] = item.value[1]
    return named if len(named) == len(items) else None


def _intervals_equal(pred: Answer, gold: Answer) -> bool:
    def as_interval(answer: Answer):
        if answer.kind == "interval":
            return answer.value
        if answer.kind == "tuple" and len(answer.value) == 2:
            return ("(", answer.value[0], answer.value[1], ")")
        return None

    p, g = as_interval(pred), as_interval(gold)
    if p is None or g is None:
        return pred.kind == "expr" and gold.kind == "expr" and values_equal(pred.value, gold.value)
    return p[0] == g[0] and p[3] == g[3] and answers_equal(p[1], g[1]) and answers_equal(p[2], g[2])


def _relations_equal(a: Relational, b: Relational) -> bool:
    """Same relation up to a positive factor and swapped sides (`x < 1` == `-x > -1`)."""

    def canonical(relation: Relational) -> tuple[str, sympy.Basic]:
        kind = relation.rel_op
        lhs, rhs = relation.lhs, relation.rhs
        if kind in (">", ">="):
            return ("<" if kind == ">" else "<="), rhs - lhs
        if kind in ("<", "<="):
            return kind, lhs - rhs
        return kind, lhs - rhs

    try:
        kind_a, expr_a = canonical(a)
        kind_b, expr_b = canonical(b)
    except (AttributeError, TypeError):
        return bool(a == b)
    if kind_a != kind_b:
        return False
    if kind_a in ("==", "!="):
        return _proportional(expr_a, expr_b, allow_negative=True)
    return _proportional(expr_a, expr_b, allow_negative=False)


def _proportional(a: sympy.Basic, b: sympy.Basic, allow_negative: bool) -> bool:
    if b == 0 or a == 0:
        return a == b
    ratio = sympy.simplify(a / b)
    if ratio.free_symbols or not ratio.is_number or ratio == 0:
        return False
    return bool(allow_negative or ratio.is_positive)


def _equations_equal(pred: tuple, gold: tuple) -> bool:
    pred_equation, pred_last, pred_symbol = pred
    gold_equation, gold_last, gold_symbol = gold
    if pred_symbol and gold_symbol and pred_last is not None and gold_last is not None:
        return answers_equal(pred_last, gold_last)
    if pred_equation is None or gold_equation is None:
        return False
    try:
        return _relations_equal(pred_equation, gold_equation)
    except (TypeError, ValueError, AttributeError):
        return False
