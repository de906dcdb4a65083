"""`answers_match`: is a predicted answer the same mathematics as the gold one?

Plain numbers, choice letters and identical strings are decided here in microseconds; anything
else goes to a sympy worker process under a hard time bound (see `rewards.verify.sandbox`).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

from rewards.verify.normalize import (
    DEFAULT_TOLERANCE,
    PlainNumber,
    Tolerance,
    choice_letter,
    decimal_comma_reading,
    decimal_commas_to_points,
    normalize,
    numbers_equal,
    parse_number,
    split_percent,
)
from rewards.verify.sandbox import CheckReport, get_pool

DEFAULT_TIMEOUT_S = 1.0
MAX_ANSWER_CHARS = 1000  # longer "answers" are not answers; never hand them to sympy
_MEMO_SIZE = 200_000
_memo: OrderedDict[tuple[str, str, Tolerance], bool] = OrderedDict()
_memo_lock = threading.Lock()


def answers_match(
    pred: str, gold: str, timeout_s: float = DEFAULT_TIMEOUT_S, precision: int | None = None, decimal_comma: bool = False
) -> bool:
    r"""Whether `pred` is mathematically equivalent to `gold`. Never raises, never hangs.

    $\text{match}(p, g) = [\text{parse}(p) \equiv \text{parse}(g)]$: numbers exactly (a decimal within a
    relative error of 1e-6), expressions symbolically, sets, tuples, intervals, inequalities (an
    inequality in one variable is the set it describes), equations, choices and matrices by kind.

    A comma is read as MATH and GSM8K write it: between groups of three digits it separates
    thousands (`1,000` is 1000), else it separates list items (`0,1` is the list 0, 1, never 0.1).
    A predicted `2,74` is still read as 2.74 against a gold that is a decimal written with a point
    (no list answers a single number). With `decimal_comma=True` (datasets written that way) a
    comma between digits is a decimal point on both sides (`0,5` is 0.5, `1,000` is 1) unless it is
    part of a longer comma list (`1,2,3`).

    Args:
        pred: the predicted answer (as `extract_answer` returns it).
        gold: the reference answer.
        timeout_s: hard bound on the check, seconds; an overrun is a mismatch.
        precision: decimal places to which a decimal answer may be rounded (`0.33` for `1/3` at 2);
            None (default) asks for a relative error of at most 1e-6.
        decimal_comma: read `digits,digits` as a decimal number on both sides.

    Returns:
        True if equivalent; False otherwise, and when either side is not a string, is blank, cannot
        be read, or the check overran `timeout_s`.

    >>> answers_match("0.5", r"\frac{1}{2}")
    True
    >>> answers_match("x=5", "5")
    True
    >>> answers_match("6", "5")
    False
    >>> answers_match("0.1", "0,1"), answers_match("0,1", "0.1", decimal_comma=True)
    (False, True)
    """
    return bool(check_answers([(pred, gold)], timeout_s, workers=1, precision=precision, decimal_comma=decimal_comma)[0])


MAX_DEFAULT_WORKERS = 16


def default_workers() -> int:
    """Checker processes per batch: this process's share of the cores (launched ranks split a node), minus one, 1 to 16."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    ranks_here = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, min(MAX_DEFAULT_WORKERS, cores // max(1, ranks_here) - 1))


def check_answers(
    pairs: list[tuple[str, str]], timeout_s: float = DEFAULT_TIMEOUT_S, workers: int | None = None, budget_s: float | None = None,
    precision: int | None = None, decimal_comma: bool = False, report: CheckReport | None = None,
) -> list[bool | None]:
    """`answers_match` for a whole batch: each distinct (pred, gold) once, the sympy ones on `workers` processes at once.

    Plain numbers, letters and equal strings are decided in-process; a pair repeated in the batch
    (a policy's identical samples, a hostile answer copied 16 times) is checked once and its verdict,
    a timeout included, shared. After `budget_s` seconds the pairs not yet checked are None.
    `precision` and `decimal_comma` as in `answers_match`. `report`, if given, receives the counts of
    distinct pairs left undecided and why (`rewards.verify.sandbox.CheckReport`).
    """
    tolerance = Tolerance(precision=precision)
    if decimal_comma:
        pairs = [
            (decimal_commas_to_points(pred), decimal_commas_to_points(gold)) if isinstance(pred, str) and isinstance(gold, str) else (pred, gold)
            for pred, gold in pairs
        ]
    verdicts: dict[tuple[str, str], bool | None] = {}
    to_check: list[tuple[str, str]] = []
    for pred, gold in dict.fromkeys(pairs):
        early = _screen(pred, gold)
        if early is not None:
            verdicts[(pred, gold)] = early
            continue
        with _memo_lock:
            cached = _memo.get((pred, gold, tolerance))
        if cached is not None:
            verdicts[(pred, gold)] = cached
            continue
        try:
            fast = fast_match(pred, gold, tolerance)
        except (ValueError, ArithmeticError, RecursionError):
            fast = None
        if fast is None and len(normalize(pred)) > MAX_ANSWER_CHARS:
            fast = False
        if fast is not None:
            verdicts[(pred, gold)] = fast
        else:
            to_check.append((pred, gold))
    if to_check:
        checked = get_pool().check_many(to_check, tolerance, timeout_s, workers or default_workers(), budget_s, report)
        for pair, verdict in zip(to_check, checked):
            verdicts[pair] = verdict
            if verdict is not None:
                with _memo_lock:
                    _memo[(*pair, tolerance)] = verdict
        with _memo_lock:
            while len(_memo) > _MEMO_SIZE:
                _memo.popitem(last=False)
    return [verdicts[pair] for pair in pairs]


def _screen(pred: object, gold: object) -> bool | None:
    """False for what is never an answer (not a string, blank, absurdly long); None to go on checking."""
    if not isinstance(pred, str) or not isinstance(gold, str) or not pred.strip():
        return False
    if len(pred) > MAX_ANSWER_CHARS * 4 or len(gold) > MAX_ANSWER_CHARS * 4:
        return False
    return None


def fast_match(pred: str, gold: str, tolerance: Tolerance = DEFAULT_TOLERANCE) -> bool | None:
    """Decide in-process when both sides are plain numbers, choice letters or equal strings; else None."""
    pred_text, gold_text = normalize(pred), normalize(gold)
    if pred_text == gold_text:
        return True
    gold_letter = choice_letter(gold_text)
    if gold_letter is not None:
        return choice_letter(pred_text) == gold_letter
    pred_core, pred_percent = split_percent(pred_text)
    gold_core, gold_percent = split_percent(gold_text)
    gold_number = parse_number(gold_core)
    pred_number = parse_number(pred_core)
    # A predicted `2,74` against a gold decimal `2.74` is the decimal in European notation: no list
    # answers a single number. Never the other way round: a gold `0,1` is the list 0, 1 (MATH).
    if gold_number is not None and gold_number.is_float and pred_number is None:
        pred_number = parse_number(decimal_comma_reading(pred_core) or "")
    if gold_number is None or pred_number is None:
        return None
    candidates = [(pred_number, gold_number)]
    # "28%" answers "28" and "0.28"; percent on either side allows both readings.
    if gold_percent:
        candidates.append((pred_number, PlainNumber(gold_number.value / 100, gold_number.is_float)))
    if pred_percent:
        candidates.append((PlainNumber(pred_number.value / 100, pred_number.is_float), gold_number))
    return any(numbers_equal(a, b, tolerance) for a, b in candidates)


def warm_up(workers: int = 1) -> None:
    """Start the checker workers ahead of the first check (spares are kept warm afterwards)."""
    get_pool().warm_up(workers)


def clear_cache() -> None:
    with _memo_lock:
        _memo.clear()
