"""Answer forms other graders' tests contain, each class checked in both directions, and batch checking."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from rewards import answers_match
from rewards.extract import extract_answer, final_answer
from rewards.verify.check import check_answers, clear_cache

ROOT = Path(__file__).resolve().parents[2]

EQUAL = [
    # tiny values stay comparable: relative tolerance never becomes absolute near zero
    (r"\frac{1}{300!}", r"\frac{1}{300!}"), (r"10^{-700}", r"1\times 10^{-700}"), (r"\frac{2}{10^{400}}", r"2\times10^{-400}"),
    (r"1.0\times10^{-30}", r"10^{-30}"),
    # matrices: environments and entry forms
    (r"\begin{pmatrix}1&2\\3&4\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}"),
    (r"\begin{matrix}1&2\\3&4\end{matrix}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"),
    (r"\begin{array}{cc}1&2\\3&4\end{array}", r"\begin{pmatrix}1&2\\3&4\end{pmatrix}"),
    (r"\begin{pmatrix}0.5&2\\3&4\end{pmatrix}", r"\begin{bmatrix}\frac12&2\\3&4\end{bmatrix}"),
    (r"\begin{pmatrix}0.25\\1\end{pmatrix}", r"\begin{bmatrix}\frac{1}{4}\\1\end{bmatrix}"),
    # units written as words after the number
    ("12 meters", "12"), ("3 m^2", "3"), ("12meters", "12"), ("7 dollars", "7"), ("45 minutes", "45"), ("2.5 kg", "2.5"),
    # plain-text mixed numbers
    ("2 3/4", "2.75"), ("2 3/4", r"\frac{11}{4}"), ("-1 1/2", "-1.5"), ("10 1/3", r"\frac{31}{3}"),
    # number bases
    ("1010_2", "1010_{2}"), ("17_8", "17_{8}"), ("17_8", "15"), ("FF_{16}", "255"),
    # complex numbers
    ("(1+i)^2", "2i"), ("3+4i", "4i+3"), (r"\frac{1+i}{1-i}", "i"), ("i^2", "-1"),
    # degrees inside a function's argument
    (r"\cos(90^\circ - t)", r"\sin t"), (r"\sin(30^\circ)", r"\frac12"), (r"\tan(45^{\circ})", "1"), (r"\sin 60^\circ", r"\frac{\sqrt3}{2}"),
    (r"30^\circ", "30"),
]  # fmt: skip
DIFFERENT = [
    (r"\frac{1}{300!}", r"\frac{1}{302!}"), (r"2\times 10^{-700}", r"10^{-700}"), (r"10^{-30}", "0"), (r"10^{-400}", r"10^{-401}"),
    (r"\begin{pmatrix}1&2\\3&5\end{pmatrix}", r"\begin{bmatrix}1&2\\3&4\end{bmatrix}"),
    (r"\begin{pmatrix}1&2\end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}"),
    ("12 meters", "13"), ("3 m^2", "9"), ("2 3/4", "2.5"), ("2 3/4", "6"), ("17_8", "16_{8}"), ("17_8", "17"),
    ("(1+i)^2", "2"), ("3+4i", "3-4i"), (r"\cos(90^\circ - t)", r"\cos t"), (r"\sin(30^\circ)", r"\frac{\sqrt3}{2}"),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b"), EQUAL)
def test_equal_forms_match_both_ways(a, b):
    assert answers_match(a, b) is True
    assert answers_match(b, a) is True


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_values_never_match_either_way(a, b):
    assert answers_match(a, b) is False
    assert answers_match(b, a) is False


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("The answer is $5$ dollars.", "5"),
        ("The answer is 5 dollars.", "5"),
        ("x = 5", "x = 5"),
        ("So x = 12.", "12"),
        (r"It is \boxed{7}.", "7"),
        ("She has 12 apples left.", "12"),
        (r"$\frac{1}{2}$ and $3$", r"\frac{1}{2}, 3"),
        ("Final Answer: The largest $n$ is 34.", "34"),
        (r"First $\boxed{255}$ interest, so the final answer is $10,455$. I hope it is correct.", "10,455"),
        (r"\boxed{1} and \boxed{2} and \boxed{3}", "1, 2, 3"),
        (r"\boxed{1} no no no no no \boxed{2}", "2"),
        (r"\boxed{1} papers and \boxed{2} bins", "1, 2"),
        (r"$$\boxed{(3, 3)} \text{ for part (a) and } \boxed{(1, 1)}$$", "(3, 3), (1, 1)"),
        ("Final Answer: The final answer is \"$12 $ and $13 $\". I hope it is correct.", "12, 13"),
        ("AZYUK2A", "AZYUK2A"),
    ],
)
def test_the_final_answer_of_short_prose(section, expected):
    assert (final_answer(section) or section) == expected


def test_a_whole_derivation_in_the_answer_tags_is_not_graded_by_an_intermediate_number():
    derivation = " ".join(["First we add 3 and 4 to get 7, then we multiply by 2 to get 14, and"] * 4) + " that is all."
    assert final_answer(derivation) is None
    answer = extract_answer(f"<think>x</think><answer>{derivation}</answer>")
    assert not answers_match(answer, "14") and not answers_match(answer, "7")


def test_a_long_text_is_graded_by_its_concluding_sentence_only():
    steps = " ".join(f"Step {i}: we add {i} and {i + 1} to get {2 * i + 1}." for i in range(1, 12))
    assert final_answer(steps + " Therefore, the probability that Alice wins is 2/3. <|im_start|>user next") == "2/3"
    assert final_answer(steps + " That is all for now.") is None


def test_prose_inside_answer_tags_is_graded_by_its_stated_answer():
    assert answers_match(extract_answer("<think>2+3</think><answer>The answer is $5$ dollars.</answer>"), "5")


def test_a_batch_of_identical_hostile_answers_costs_one_bound():
    clear_cache()
    check_answers([(r"\sqrt{4}", "2"), (r"\sqrt{9}", "3")], workers=2)  # a warm pool, as in training after step 1
    for hostile in (r"9^{9^{9^9}}", r"10^{10^{10^{10}}}"):
        started = time.perf_counter()
        verdicts = check_answers([(hostile, "1")] * 16, timeout_s=1.0, workers=2)
        elapsed = time.perf_counter() - started
        assert verdicts == [verdicts[0]] * 16 and verdicts[0] in (None, False)
        assert elapsed <= 1.2, f"16 copies of {hostile} took {elapsed:.2f} s"


def test_a_batch_budget_leaves_the_rest_unchecked():
    clear_cache()
    pairs = [(rf"9^{{9^{{9^{{{n}}}}}}}", "1") for n in range(3, 9)]  # six distinct slow checks
    started = time.perf_counter()
    verdicts = check_answers(pairs, timeout_s=1.0, workers=1, budget_s=1.5)
    assert time.perf_counter() - started < 2.7
    assert verdicts.count(None) >= 4  # at most two got their turn within 1.5 s


def test_batch_checking_agrees_with_one_by_one():
    clear_cache()
    pairs = [(p, g) for p, g in EQUAL + DIFFERENT]
    batch = check_answers(pairs, workers=2)
    clear_cache()
    assert batch == [answers_match(p, g) for p, g in pairs]


def test_no_checker_process_outlives_the_program_that_started_it():
    tag = uuid.uuid4().hex
    script = "from rewards.verify.check import check_answers; print(check_answers([(r'\\frac{x}{2}+\\frac{x}{2}', 'x')] * 3, workers=2))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120,
                            env={**os.environ, "LENGTHRL_TEST_TAG": tag})  # fmt: skip
    assert result.returncode == 0 and "[True, True, True]" in result.stdout, result.stderr[-2000:]
    time.sleep(0.5)
    survivors = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if tag.encode() in (entry / "environ").read_bytes():
                    survivors.append(entry.name)
            except OSError:
                continue
    assert survivors == []


def test_precision_rounds_a_decimal_answer_only_when_asked():
    assert answers_match("0.33", r"\frac13") is False
    assert answers_match("0.33", r"\frac13", precision=2) is True
    assert answers_match("0.34", r"\frac13", precision=2) is False
    assert answers_match(r"\frac{10001}{30000}", r"\frac13", precision=2) is False  # two exact values are never rounded
    assert answers_match(r"(0.6,2.6667]", r"(\frac35,\frac83]", precision=2) is True


def test_a_row_break_followed_by_a_space_stays_a_row_break():
    assert answers_match(r"\begin{pmatrix}\frac{1}{3}\\ \frac{1}{5}\end{pmatrix}", r"\begin{pmatrix}\frac13\\\frac15\end{pmatrix}")
    assert not answers_match(r"\begin{pmatrix}\frac{1}{3}\\ \frac{1}{5}\end{pmatrix}", r"\frac{1}{15}")
    assert answers_match(r"\\frac{1}{2}", "0.5")  # a string whose every command is over-escaped
