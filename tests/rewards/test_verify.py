import os
import threading
import time

import pytest

from rewards import answers_match
from rewards.verify.check import clear_cache, fast_match


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        # numbers: exact rationals, float tolerance 1e-6, percentages, separators, sci notation
        ("0.5", r"\frac{1}{2}", True),
        ("1/3", r"\frac{1}{3}", True),
        ("0.3333", r"\frac{1}{3}", False),
        ("0.333333333", r"\frac{1}{3}", True),
        ("1,000,000", "1000000", True),
        ("-5", "−5", True),
        ("50\\%", "0.5", True),
        ("28 percent", "28\\%", True),
        ("3 \\times 10^{5}", "300000", True),
        ("1.5e3", "1500", True),
        ("12.", "12", True),
        (r"10\text{ cm}", "10", True),
        (r"90^\circ", "90", True),
        (r"\dfrac{3}{4}", r"\tfrac{3}{4}", True),
        ("7", "8", False),
        ("3.1416", r"\pi", False),
        # expressions
        (r"\frac{x}{7}+\frac{2}{7}", r"\frac{x+2}{7}", True),
        (r"\sec^2(y)", r"\tan^2(y)+1", True),
        (r"\frac{\sqrt{2}}{2}", r"\frac{1}{\sqrt{2}}", True),
        ("2*x+1", "2x+1", True),
        ("sqrt(2)", r"\sqrt{2}", True),
        ("x^2+1", "x^2-1", False),
        (r"\left( 2 \right)", "2", True),
        # equations
        ("x=5", "5", True),
        ("y=2x+1", "2x+1", True),
        ("7 = 11a+c", "11a+c", False),
        (r"2x+4y-3=0", r"y=-\frac{1}{2}x+\frac{3}{4}", True),
        # a labelled gold names its value; an implicit equation is not answered by its right side
        ("(3, 2)", "(p,q)=(3,2)", True),
        ("1", "|AB|=1", True),
        (r"\frac{1}{\sqrt{6}}", r"\frac{NO}{BO}=\frac{1}{\sqrt{6}}", True),
        ("0", "2x+4y-3=0", False),
        ("(3, 1)", "(p,q)=(3,2)", False),
        # sets, lists, tuples, intervals
        (r"\{3, 1, 2\}", r"\{1,2,3\}", True),
        ("3, 1, 2", "1, 2, 3", True),
        ("1, 2", "1, 2, 3", False),
        ("(1, 2)", "(1, 2)", True),
        ("(2, 1)", "(1, 2)", False),
        ("[0, 1)", "[0,1)", True),
        ("(0, 1)", "[0, 1)", False),
        ("(0, 1]", "(0, 1)", False),
        # lists written with words, semicolons, repeats or names; a predicted decimal comma against a decimal
        ("1,2", "1, 2", True),
        (r"6 \text{ and } 8", "6, 8", True),
        ("(11,7)or(7,11)", "(7,11), (11,7)", True),
        ("-12;-11;-10", r"\{-12, -11, -10\}", True),
        ("{2, 3, 5}", "2, 3, 5", True),
        ("(3,1,2), (1,2,3), (3,1,2)", "(1,2,3), (3,1,2)", True),
        ("4, 5", "AB=4, CD=5", True),
        (r"a_{37} = 19, \quad a_3 = 2", "a_3 = 2, a_{37} = 19", True),
        ("x=2, y=1", "x=1, y=2", False),
        (r"(x, y) = (5, 8) \quad \text{and} \quad (8, 5)", "(5, 8), (8, 5)", True),
        ("2,74", "2.74", True),
        ("0,111", "0.111", True),
        ("0.111", "0,111", False),  # a gold `0,111` is the list 0, 111 (MATH): never paid to a decimal
        ("1,5", "2.5", False),
        (r"11,\! 111,\! 100", "11111100", True),
        # malformed LaTeX and units, fixed by latex2sympy2_extended's normaliser
        (r"\sqrt3", r"\sqrt{3}", True),
        (r"\frac94\pi", r"\frac{9}{4}\pi", True),
        (r"\frac{1}{3} \textbf{meters}", "1/3", True),
        (r"125\textnormal{ miles}", "125", True),
        (r"x=1/3\approx 0.33", "1/3", True),
        (r"x\approx11", "11", True),
        # chained bounds are intervals
        (r"-2 \le x \le 7", r"x \in [-2,7]", True),
        ("0<f(x)<1", "(0,1)", True),
        (r"-2 < x \le 7", "[-2,7]", False),
        # relations
        (r"x \geq 5", "x >= 5", True),
        ("-x > -1", "x < 1", True),
        ("x > -1", "x < 1", False),
        # multiple choice
        ("(B)", "B", True),
        (r"\text{(B)}", "B", True),
        ("B", "(C)", False),
        # infinity and matrices
        (r"\infty", r"\infty", True),
        (r"-\infty", r"\infty", False),
        (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", True),
        (r"\begin{pmatrix}1&2\\3&5\end{pmatrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", False),
        (r"\begin{pmatrix}0.5&2\end{pmatrix}", r"\begin{pmatrix}\frac{1}{2}&2\end{pmatrix}", True),
    ],
)
def test_equivalence_categories(pred, gold, expected):
    assert answers_match(pred, gold) is expected


@pytest.mark.parametrize(
    "hostile",
    [
        r"9^{9^{9^9}}",
        r"(10^{100})!",
        "9" * 100_000,
        r"\frac{" * 5000,
        "(" * 3000 + "1" + ")" * 3000,
        "x" * 100_000,
    ],
)
def test_hostile_inputs_return_false_within_the_bound(hostile):
    clear_cache()
    start = time.perf_counter()
    assert answers_match(hostile, "1", timeout_s=1.0) is False
    assert time.perf_counter() - start < 1.5


def test_code_injection_is_neither_executed_nor_matched(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {marker}')",
        f"exec(\"open('{marker}','w')\")",
        f"(lambda: __import__('os').system('touch {marker}'))()",
        f"\\text{{__import__('os').system('touch {marker}')}}",
    ]
    for payload in payloads:
        assert answers_match(payload, "0") is False
        assert answers_match(payload, "1") is False
    assert not marker.exists()


def test_never_raises_on_garbage():
    for pred in [None, 3, "", "   ", "\\", "{", "}}}", "\\frac{}{}", "=", "<>", "\x00", "∑∫"]:
        assert answers_match(pred, "1") in (True, False)


def test_threaded_calls_are_bounded_and_correct():
    results = {}

    def work(index: int) -> None:
        start = time.perf_counter()
        results[index] = (answers_match(rf"\frac{{{index}}}{{2}}+x-x", f"{index / 2}"), time.perf_counter() - start)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(1, 7)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(match for match, _ in results.values()) and len(results) == 6


def test_timeout_from_a_non_main_thread():
    outcome = {}

    def work() -> None:
        start = time.perf_counter()
        outcome["match"] = answers_match(r"(10^{100})! + 9^{9^{9^9}}", "2", timeout_s=0.5)
        outcome["seconds"] = time.perf_counter() - start

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=20)
    assert outcome["match"] is False and outcome["seconds"] < 1.5


def _check_in_dataloader_worker(index):
    return answers_match(r"\frac{x}{2}+\frac{x}{2}", "x"), os.getpid()


def test_inside_a_dataloader_worker():
    from torch.utils.data import DataLoader

    loader = DataLoader(list(range(2)), batch_size=1, num_workers=1, collate_fn=lambda batch: _check_in_dataloader_worker(batch[0]))
    for match, pid in loader:
        assert match is True and pid != os.getpid()


def test_plain_numbers_never_reach_sympy():
    assert fast_match("1,234", "1234") is True
    assert fast_match("0.25", r"\frac{1}{4}") is True
    assert fast_match("2", "3") is False
    assert fast_match("x+1", "1") is None


# An inequality in one variable is the set it describes, whichever side writes which; bounds keep
# their strictness. Against an interval the variable's name does not matter; between two inequalities it does.
SOLUTION_SETS = [
    (r"m \geq \sqrt{2}", r"[\sqrt{2}, +\infty)", True),
    (r"m > \sqrt{2}", r"[\sqrt{2}, +\infty)", False),
    ("x > 2", r"(2, \infty)", True),
    ("x > 2", r"[2, \infty)", False),
    (r"x \le 3", r"(-\infty, 3]", True),
    ("x < 3", r"(-\infty, 3]", False),
    (r"3 \ge x", r"(-\infty, 3]", True),
    ("-x > -1", r"(-\infty, 1)", True),
    ("1 < x < 3", "(1, 3)", True),
    (r"3 > x \ge 1", "[1, 3)", True),
    (r"3 > x > 1", "[1, 3)", False),
    (r"x < 1 \text{ or } x > 3", r"(-\infty, 1) \cup (3, \infty)", True),
    (r"x<1 \text{ or } x \ge 3", r"(-\infty, 1) \cup (3, \infty)", False),
    ("x < 1, x > 3", r"(-\infty, 1) \cup (3, \infty)", True),
    (r"x \le -2 \lor x \ge 2", r"(-\infty, -2] \cup [2, \infty)", True),
    (r"x > 1 \text{ and } x < 3", "(1, 3)", True),
    (r"x > 1 \text{ and } x < 3", r"(-\infty, 1) \cup (3, \infty)", False),
    (r"x \ne 2", r"(-\infty, 2) \cup (2, \infty)", True),
    (r"1 \le |z| \le \frac{3}{2}", r"[-\frac{3}{2}, -1] \cup [1, \frac{3}{2}]", True),
    (r"x \le 3", r"3 \ge x", True),
    (r"x \le 3", r"y \le 3", False),
    ("x > 0.333", r"(\frac{1}{3}, \infty)", False),
]


@pytest.mark.parametrize(("pred", "gold", "expected"), SOLUTION_SETS)
def test_an_inequality_equals_the_set_it_describes_both_ways(pred, gold, expected):
    assert answers_match(pred, gold, timeout_s=5.0) is expected
    assert answers_match(gold, pred, timeout_s=5.0) is expected


def test_a_rounded_bound_matches_only_at_the_asked_precision():
    assert answers_match("x > 0.333", r"(\frac{1}{3}, \infty)", timeout_s=5.0, precision=3) is True


# A comma as MATH and GSM8K write it: thousands between groups of three digits, else a list separator.
COMMAS = [
    ("0.1", "0,1", False),  # the gold lists 0 and 1: paying 0.1 would be a false positive
    ("1.22", "1,22", False),
    ("0, 1", "0,1", True),
    ("1, 0", "0,1", True),
    ("1,000", "1000", True),
    ("1000", "1,000", True),
    ("12,345,678", "12345678", True),
    ("1,000", "1", False),
    ("0,1", "0.1", True),  # a predicted decimal comma against a decimal gold: no list answers one number
    ("1000,99", "1000.99", True),
    ("1,2", "1.3", False),
]


@pytest.mark.parametrize(("pred", "gold", "expected"), COMMAS)
def test_a_comma_is_read_as_math_and_gsm8k_write_it(pred, gold, expected):
    assert answers_match(pred, gold) is expected


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [("0.1", "0,1", True), ("0,1", "0.1", True), ("1,5", "1.50", True), ("1,000", "1", True), ("1,2,3", "3, 2, 1", True), ("0,2", "0.1", False)],
)
def test_decimal_comma_datasets_read_a_comma_between_digits_as_a_point(pred, gold, expected):
    assert answers_match(pred, gold, decimal_comma=True) is expected


@pytest.mark.parametrize(
    ("pred", "gold", "expected"),
    [
        ("(5,2),(7,2)", "p=5,q=2;p=7,q=2", True),
        ("(7,2),(5,2)", "p=5,q=2;p=7,q=2", True),
        ("(2,5),(2,7)", "p=5,q=2;p=7,q=2", False),
        ("(1,2)", "x=1, y=2", True),
        ("(2,1)", "x=1, y=2", False),
        ("x=1, y=2", "(1,2)", True),
    ],
)
def test_named_values_group_into_tuples_in_the_order_of_their_names(pred, gold, expected):
    assert answers_match(pred, gold, timeout_s=5.0) is expected


def test_a_dead_template_process_is_replaced_and_checking_goes_on():
    from rewards.verify.normalize import DEFAULT_TOLERANCE
    from rewards.verify.sandbox import CheckerPool

    pool = CheckerPool()
    try:
        assert pool.check_many([(r"\frac{x}{2}+\frac{x}{2}", "x")], DEFAULT_TOLERANCE, timeout_s=30.0) == [True]
        zygote = pool._zygote
        zygote.process.kill()
        zygote.process.wait()
        # the idle worker overruns and is killed: the next check needs a new fork, from a new zygote
        assert pool.check_many([(r"9^{9^{9^9}}", "1")], DEFAULT_TOLERANCE, timeout_s=0.5) in ([None], [False])
        assert pool.check_many([(r"\sqrt{16}", "4")], DEFAULT_TOLERANCE, timeout_s=30.0) == [True]
        assert pool._zygote is not zygote and pool.failures == 0
    finally:
        pool.close()
