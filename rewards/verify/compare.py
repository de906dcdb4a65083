"""Compare two parsed answers (`rewards.verify.parse.Answer`): the same mathematics, within a tolerance?

Runs inside the checker worker process, never in the trainer. The tolerance is an argument of every
function that compares numbers (`rewards.verify.normalize.Tolerance`), never a module-level setting.
"""

from __future__ import annotations

import random
from fractions import Fraction

import sympy
from sympy.core.relational import Relational

from rewards.verify.normalize import DEFAULT_TOLERANCE, PlainNumber, Tolerance, normalize, numbers_equal
from rewards.verify.parse import Answer, EquationValue, IntervalValue, NumberValue, Unparseable, parse_answer

_DIGITS = 40  # digits of the numeric comparison; sympy Floats have an unbounded exponent
_SPOT_CHECKS = 3
_INEQUALITY_TYPES = (sympy.StrictLessThan, sympy.LessThan, sympy.StrictGreaterThan, sympy.GreaterThan, sympy.Ne)


def equivalent(pred: str, gold: str, tolerance: Tolerance = DEFAULT_TOLERANCE) -> bool:
    """Whether `pred` and `gold` denote the same mathematics, numbers compared within `tolerance`.

    A gold we cannot parse is compared as a normalised string; a prediction we cannot parse is wrong.
    """
    try:
        gold_answer = parse_answer(gold)
    except (Unparseable, RecursionError):
        return normalize(pred) == normalize(gold)
    try:
        pred_answer = parse_answer(pred)
    except (Unparseable, RecursionError):
        return False
    return answers_equal(pred_answer, gold_answer, tolerance)


def answers_equal(pred: Answer, gold: Answer, tolerance: Tolerance) -> bool:
    """Whether two parsed answers are equal, by kind (see `Answer`)."""
    if pred.text == gold.text:
        return True
    if gold.kind == "choice" or pred.kind == "choice":
        return pred.kind == gold.kind and pred.value == gold.value
    solution_sets = _solution_sets(pred, gold)
    if solution_sets is not None:
        # `m \ge \sqrt{2}` is `[\sqrt{2}, \infty)`; `x < 1 or x > 3` is `(-\infty, 1) \cup (3, \infty)`.
        (pred_variable, pred_set), (gold_variable, gold_set) = solution_sets
        if pred_variable is not None and gold_variable is not None and pred_variable != gold_variable:
            return False
        return _sets_equal(pred_set, gold_set, tolerance)
    if pred.kind == "equation" and gold.kind == "equation":
        return _equations_equal(pred.value, gold.value, tolerance)
    if pred.kind == "equation":
        # `x = 5` answers `5`; `7 = 11a + c` does not answer `11a + c`.
        equation = pred.value
        return equation.names_value and equation.value is not None and answers_equal(equation.value, gold, tolerance)
    if gold.kind == "equation":
        # The gold is trusted: `x = 5`, `(p, q) = (3, 2)` or `|AB| = 1` name their value on the right;
        # `2x + 4y - 3 = 0` and `2x + z = 1` are equations, answered by an equation only.
        equation = gold.value
        if equation.value is None or not equation.names_value:
            return False
        return answers_equal(pred, equation.value, tolerance)
    if gold.kind == "interval" or pred.kind == "interval":
        return _intervals_equal(pred, gold, tolerance)  # `(0, 1)` as a tuple is also the open interval
    if gold.kind in ("set", "tuple") or pred.kind in ("set", "tuple"):
        return _collections_equal(pred, gold, tolerance)
    if gold.kind == "relation" or pred.kind == "relation":
        return pred.kind == gold.kind and _relations_equal(pred.value, gold.value)
    if pred.kind == "number" and gold.kind == "number":
        return _number_values_equal(pred.value, gold.value, tolerance)
    return values_equal(_value(pred), _value(gold), tolerance)


def _value(answer: Answer) -> sympy.Basic:
    if answer.kind == "number":
        value = answer.value.value
        return sympy.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else value
    return answer.value


def values_equal(a: sympy.Basic, b: sympy.Basic, tolerance: Tolerance) -> bool:
    """Two sympy values: matrices entry by entry, sets as sets, numbers within `tolerance`, expressions symbolically."""
    if isinstance(a, sympy.MatrixBase) or isinstance(b, sympy.MatrixBase):
        if not (isinstance(a, sympy.MatrixBase) and isinstance(b, sympy.MatrixBase)) or a.shape != b.shape:
            return False
        return all(values_equal(x, y, tolerance) for x, y in zip(a, b))
    if isinstance(a, sympy.Set) or isinstance(b, sympy.Set):
        return isinstance(a, sympy.Set) and isinstance(b, sympy.Set) and _sets_equal(a, b, tolerance)
    if a == b:
        return True
    try:
        if a.is_number and b.is_number:
            return numbers_close(a, b, tolerance)
        difference = sympy.simplify(a - b)
        if difference == 0:
            return True
        return _spot_check(a, b)
    except (TypeError, ValueError, AttributeError, ZeroDivisionError, RecursionError):
        return False


def numbers_close(a: sympy.Basic, b: sympy.Basic, tolerance: Tolerance) -> bool:
    """Two constant values: exactly equal when both are rational, else within `tolerance`.

    Evaluated as sympy Floats, whose exponent does not overflow or underflow, so the tolerance stays
    relative near zero (`1/300!` vs `1/302!` differ) and for huge values.
    """
    if a.is_infinite or b.is_infinite:
        return bool(a == b)
    if a.is_Rational and b.is_Rational:
        return bool(a == b)
    x, y = sympy.N(a, _DIGITS), sympy.N(b, _DIGITS)
    if not (x.is_finite and y.is_finite) or x.has(sympy.nan) or y.has(sympy.nan):
        return False
    difference = sympy.N(sympy.Abs(x - y), _DIGITS)
    scale = sympy.N(sympy.Max(sympy.Abs(x), sympy.Abs(y)), _DIGITS)
    if difference <= tolerance.rel_tol * scale:
        return True
    precision = tolerance.precision
    if precision is not None and (a.is_Float or b.is_Float) and x.is_real and y.is_real:
        return bool(sympy.Float(x).round(precision) == sympy.Float(y).round(precision))
    return False


def _number_values_equal(pred: NumberValue, gold: NumberValue, tolerance: Tolerance) -> bool:
    """Plain numbers; a percent on either side also stands for its value / 100 ("28%" answers 0.28)."""
    candidates = [(pred.value, gold.value)]
    if gold.percent is not None:
        candidates.append((pred.value, gold.percent))
    if pred.percent is not None:
        candidates.append((pred.percent, gold.value))
    for x, y in candidates:
        if numbers_equal(PlainNumber(_fraction(x), pred.is_float), PlainNumber(_fraction(y), gold.is_float), tolerance):
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
        x, y = sympy.N(a.subs(point), _DIGITS), sympy.N(b.subs(point), _DIGITS)
        if not (x.is_number and y.is_number and x.is_finite and y.is_finite):
            return False
        # Values at these points are O(1): an absolute floor absorbs evaluation noise around 0.
        if sympy.Abs(x - y) > 1e-6 * sympy.Max(sympy.Abs(x), sympy.Abs(y), 1):
            return False
    return True


# ---------------------------------------------------------------- sets of real numbers


def _solution_sets(pred: Answer, gold: Answer) -> tuple[tuple[str | None, sympy.Set], tuple[str | None, sympy.Set]] | None:
    """Both sides as (variable, set of reals) when one side is an inequality in one variable (or a list
    of them, read as "or") and the other an inequality, an interval, a union or a pair; else None."""
    pred_inequality, gold_inequality = _inequality_set(pred), _inequality_set(gold)
    if pred_inequality is None and gold_inequality is None:
        return None
    pred_set = pred_inequality or _real_set(pred)
    gold_set = gold_inequality or _real_set(gold)
    if pred_set is None or gold_set is None:
        return None
    return pred_set, gold_set


def _inequality_set(answer: Answer) -> tuple[str, sympy.Set] | None:
    """(variable, solution set) of an inequality in one variable (`x \\le 3`, `1 < x < 3`, `x < 1 \\lor x > 3`,
    `x \\ne 2`, `1 \\le |z| \\le 2`), or of a list of them in the same variable (a union); else None."""
    if answer.kind == "set" and answer.value:
        parts = [_inequality_set(item) for item in answer.value]
        if any(part is None for part in parts) or len({variable for variable, _ in parts}) != 1:
            return None
        return parts[0][0], sympy.Union(*(part for _, part in parts))
    if answer.kind != "relation" or not _is_inequality(answer.value):
        return None
    symbols = answer.value.free_symbols
    if len(symbols) != 1:
        return None
    symbol = next(iter(symbols))
    try:
        solutions = _relation_set(answer.value, symbol)
    except (NotImplementedError, TypeError, ValueError, AttributeError, RecursionError):
        return None
    return (str(symbol), solutions) if isinstance(solutions, sympy.Set) else None


def _relation_set(relation: sympy.Basic, symbol: sympy.Symbol) -> sympy.Set:
    """The real solutions of an inequality in `symbol`, or of an and/or of inequalities, piece by piece."""
    if isinstance(relation, (sympy.And, sympy.Or)):
        parts = [_relation_set(arg, symbol) for arg in relation.args]
        return sympy.Intersection(*parts) if isinstance(relation, sympy.And) else sympy.Union(*parts)
    linear = _linear_set(relation, symbol)
    if linear is not None:
        return linear
    real = sympy.Dummy(str(symbol), real=True)  # `1 \le |z|`, `x^2 < 4`: sympy's solver, slower
    return relation.subs(symbol, real).as_set()


def _linear_set(relation: Relational, symbol: sympy.Symbol) -> sympy.Set | None:
    """The solution set of `a x + b  op  c x + d`, built directly; None if it is not linear in `symbol`."""
    difference = sympy.expand(relation.lhs - relation.rhs)
    slope = difference.coeff(symbol, 1)
    rest = difference - slope * symbol
    if slope.free_symbols or rest.free_symbols or slope == 0 or not (slope.is_extended_real and rest.is_extended_real):
        return None
    boundary = -rest / slope
    if isinstance(relation, sympy.Ne):
        return sympy.Union(sympy.Interval.open(-sympy.oo, boundary), sympy.Interval.open(boundary, sympy.oo))
    below = isinstance(relation, (sympy.StrictLessThan, sympy.LessThan))  # difference < 0 (or <= 0)
    if slope.is_negative:
        below = not below
    strict = isinstance(relation, (sympy.StrictLessThan, sympy.StrictGreaterThan))
    if below:
        return sympy.Interval(-sympy.oo, boundary, True, strict)
    return sympy.Interval(boundary, sympy.oo, strict, True)


def _is_inequality(value: object) -> bool:
    if isinstance(value, (sympy.And, sympy.Or)):
        return all(_is_inequality(arg) for arg in value.args)
    return isinstance(value, _INEQUALITY_TYPES)


def _real_set(answer: Answer) -> tuple[None, sympy.Set] | None:
    """(None, the set) of an interval, a pair `(a, b)` (the open interval), or a set expression
    (`(-\\infty, 1) \\cup (3, \\infty)`, `\\{-1\\} \\cup [0, 7)`) with constant real bounds; else None."""
    if answer.kind == "interval":
        interval: IntervalValue = answer.value
        bounds = (interval.low, interval.high, interval.left == "(", interval.right == ")")
    elif answer.kind == "tuple" and len(answer.value) == 2:
        bounds = (answer.value[0], answer.value[1], True, True)
    elif answer.kind == "expr" and isinstance(answer.value, sympy.Set):
        return None, answer.value
    else:
        return None
    low, high, left_open, right_open = bounds
    if low.kind not in ("number", "expr") or high.kind not in ("number", "expr"):
        return None
    low_value, high_value = _value(low), _value(high)
    if not all(isinstance(v, sympy.Expr) and not v.free_symbols and v.is_extended_real for v in (low_value, high_value)):
        return None
    try:
        return None, sympy.Interval(low_value, high_value, left_open, right_open)
    except (TypeError, ValueError):
        return None


def _sets_equal(a: sympy.Set, b: sympy.Set, tolerance: Tolerance) -> bool:
    """Sets of reals: piece by piece (intervals and points, endpoints within `tolerance`), else exactly."""
    pieces_a, pieces_b = _pieces(a), _pieces(b)
    if pieces_a is not None and pieces_b is not None:
        if len(pieces_a) != len(pieces_b):
            return False
        return all(
            open_a == open_b and _endpoint_close(x, y, tolerance)
            for (*ends_a, open_a), (*ends_b, open_b) in zip(pieces_a, pieces_b)
            for x, y in zip(ends_a, ends_b)
        )
    try:
        return bool(a == b or a.symmetric_difference(b).is_empty)
    except (TypeError, ValueError, AttributeError, RecursionError):
        return False


def _pieces(value: sympy.Set) -> list[tuple[sympy.Expr, sympy.Expr, tuple[bool, bool]]] | None:
    """A union of intervals and points as sorted (start, end, (left open, right open)); None for other sets."""
    parts = value.args if isinstance(value, sympy.Union) else (value,)
    pieces = []
    for part in parts:
        if isinstance(part, sympy.Interval):
            pieces.append((part.start, part.end, (bool(part.left_open), bool(part.right_open))))
        elif isinstance(part, sympy.FiniteSet) and all(point.is_extended_real for point in part):
            pieces.extend((point, point, (False, False)) for point in part)
        elif part is sympy.S.EmptySet:
            continue
        else:
            return None
    try:
        return sorted(pieces, key=lambda piece: (float(piece[0]), float(piece[1])))
    except (TypeError, ValueError):
        return None


def _endpoint_close(a: sympy.Expr, b: sympy.Expr, tolerance: Tolerance) -> bool:
    try:
        return bool(a == b) or numbers_close(a, b, tolerance)
    except (TypeError, ValueError, AttributeError):
        return False


# ---------------------------------------------------------------- collections, intervals, relations


def _collections_equal(pred: Answer, gold: Answer, tolerance: Tolerance) -> bool:
    grouped = _tuples_of_named_values(pred, gold)
    if grouped is not None:
        # `p=5, q=2; p=7, q=2` answers `(5, 2), (7, 2)`: named values grouped into tuples, names in order.
        pred_tuples, gold_tuples = grouped
        return len(pred_tuples) == len(gold_tuples) and _all_matched(pred_tuples, gold_tuples, tolerance)
    pred_items = pred.value if pred.kind in ("set", "tuple") else [pred]
    gold_items = gold.value if gold.kind in ("set", "tuple") else [gold]
    if "tuple" in (pred.kind, gold.kind):
        if pred.kind != gold.kind or len(pred_items) != len(gold_items):
            return False
        return all(answers_equal(p, g, tolerance) for p, g in zip(pred_items, gold_items))
    if len(pred_items) != len(gold_items):
        pred_items, gold_items = _distinct(pred_items, tolerance), _distinct(gold_items, tolerance)
        if len(pred_items) != len(gold_items):
            return False
    named_pred, named_gold = _values_by_name(pred_items), _values_by_name(gold_items)
    if named_pred is not None and named_gold is not None:
        # `a_3 = 2, a_{37} = 19`: each name keeps its value; `x=1, y=2` is not `x=2, y=1`.
        return named_pred.keys() == named_gold.keys() and all(
            answers_equal(named_pred[name], named_gold[name], tolerance) for name in named_gold
        )
    return _all_matched(pred_items, gold_items, tolerance)


def _all_matched(pred_items: list[Answer], gold_items: list[Answer], tolerance: Tolerance) -> bool:
    """Every predicted item equals a distinct gold item (in any order)."""
    unmatched = list(gold_items)
    for item in pred_items:
        match = next((g for g in unmatched if answers_equal(item, g, tolerance)), None)
        if match is None:
            return False
        unmatched.remove(match)
    return True


def _distinct(items: list[Answer], tolerance: Tolerance) -> list[Answer]:
    """A set's members without repeats (a listed solution may appear twice)."""
    kept: list[Answer] = []
    for item in items:
        if not any(answers_equal(item, other, tolerance) for other in kept):
            kept.append(item)
    return kept


def _values_by_name(items: list[Answer]) -> dict[str, Answer] | None:
    """{`a_37`: 19, ...} when every item is `name = value` with distinct names, else None."""
    named = {}
    for item in items:
        if item.kind != "equation" or item.value.name is None or item.value.value is None:
            return None
        named[item.value.name] = item.value.value
    return named if len(named) == len(items) else None


def _tuples_of_named_values(pred: Answer, gold: Answer) -> tuple[list[Answer], list[Answer]] | None:
    """Both sides as lists of tuples when one is a list of named values (`x=1, y=2`) that groups into
    tuples and the other is a tuple or a list of tuples; else None."""
    pred_grouped = _named_tuples(pred.value) if pred.kind == "set" else None
    gold_grouped = _named_tuples(gold.value) if gold.kind == "set" else None
    if (pred_grouped is None) == (gold_grouped is None):
        return None  # neither side, or both (then each name is compared with its namesake)

    def as_tuples(answer: Answer, grouped: list[Answer] | None) -> list[Answer] | None:
        if grouped is not None:
            return grouped
        if answer.kind == "tuple":
            return [answer]
        if answer.kind == "set" and all(item.kind == "tuple" for item in answer.value):
            return answer.value
        return None

    pred_tuples, gold_tuples = as_tuples(pred, pred_grouped), as_tuples(gold, gold_grouped)
    return (pred_tuples, gold_tuples) if pred_tuples is not None and gold_tuples is not None else None


def _named_tuples(items: list[Answer]) -> list[Answer] | None:
    """`x=1, y=2, x=3, y=4` as the tuples `(1, 2), (3, 4)`: every item `name = value`, the names repeating
    in one order (the order of their first appearance); else None."""
    if len(items) < 2 or any(item.kind != "equation" or item.value.name is None or item.value.value is None for item in items):
        return None
    names = [item.value.name for item in items]
    order = list(dict.fromkeys(names))
    if len(order) < 2 or len(names) % len(order) or names != order * (len(names) // len(order)):
        return None
    width = len(order)
    return [
        Answer("tuple", [item.value.value for item in items[start : start + width]], ", ".join(item.text for item in items[start : start + width]))
        for start in range(0, len(items), width)
    ]


def _intervals_equal(pred: Answer, gold: Answer, tolerance: Tolerance) -> bool:
    def as_interval(answer: Answer) -> IntervalValue | None:
        if answer.kind == "interval":
            return answer.value
        if answer.kind == "tuple" and len(answer.value) == 2:
            return IntervalValue("(", answer.value[0], answer.value[1], ")")
        return None

    p, g = as_interval(pred), as_interval(gold)
    if p is None or g is None:
        return pred.kind == "expr" and gold.kind == "expr" and values_equal(pred.value, gold.value, tolerance)
    return (
        p.left == g.left and p.right == g.right
        and answers_equal(p.low, g.low, tolerance) and answers_equal(p.high, g.high, tolerance)
    )  # fmt: skip


def _relations_equal(a: Relational, b: Relational) -> bool:
    """Same relation up to a positive factor and swapped sides (`x < 1` == `-x > -1`)."""

    def canonical(relation: Relational) -> tuple[str, sympy.Basic]:
        kind = relation.rel_op
        lhs, rhs = relation.lhs, relation.rhs
        if kind in (">", ">="):
            return ("<" if kind == ">" else "<="), rhs - lhs
        return kind, lhs - rhs

    try:
        kind_a, expr_a = canonical(a)
        kind_b, expr_b = canonical(b)
    except (AttributeError, TypeError):
        return bool(a == b)
    if kind_a != kind_b:
        return False
    return _proportional(expr_a, expr_b, allow_negative=kind_a in ("==", "!="))


def _proportional(a: sympy.Basic, b: sympy.Basic, allow_negative: bool) -> bool:
    if b == 0 or a == 0:
        return a == b
    ratio = sympy.simplify(a / b)
    if ratio.free_symbols or not ratio.is_number or ratio == 0:
        return False
    return bool(allow_negative or ratio.is_positive)


def _equations_equal(pred: EquationValue, gold: EquationValue, tolerance: Tolerance) -> bool:
    if pred.names_value and gold.names_value and pred.value is not None and gold.value is not None:
        return answers_equal(pred.value, gold.value, tolerance)
    if pred.equation is None or gold.equation is None:
        return False
    try:
        return _relations_equal(pred.equation, gold.equation)
    except (TypeError, ValueError, AttributeError):
        return False
