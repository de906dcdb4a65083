"""The shipped synthetic tasks: multi-step integer arithmetic with verifiable answers and R1-Zero traces, and
two-step word problems for real instruct models (`generated:word_problems`).

Three reasoning modes share one format: an answer-first guess (short, often wrong), a step-by-step
derivation (longer, reliable) and a derivation followed by redundant re-checks (longest, no more
reliable). A model warm-started on a mix of them has the behaviours RL should choose between.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ArithmeticTask:
    min_terms: int = 2
    max_terms: int = 4
    max_operand: int = 9
    operators: str = "+-*"  # the operators questions draw from

    def question(self, rng: random.Random) -> tuple[list[int], list[str]]:
        terms = rng.randint(self.min_terms, self.max_terms)
        numbers = [rng.randint(1, self.max_operand) for _ in range(terms)]
        operators = [rng.choice(self.operators) for _ in range(terms - 1)]
        return numbers, operators


def expression_text(numbers: list[int], operators: list[str]) -> str:
    parts = [str(numbers[0])]
    for operator, number in zip(operators, numbers[1:]):
        parts += [operator, str(number)]
    return " ".join(parts)


def solution_steps(
    numbers: list[int], operators: list[str], slip: int | None = None, delta: int = 0
) -> list[tuple[int, str, int, int]]:
    """(left, op, right, result) steps: multiplications first, then left to right, as taught.

    `slip`: the index of a step whose result is off by `delta`, the error carried forward.
    """
    numbers, operators, steps = list(numbers), list(operators), []

    def record(left: int, op: str, right: int, exact: int) -> int:
        result = exact + (delta if len(steps) == slip else 0)
        steps.append((left, op, right, result))
        return result

    while "*" in operators:
        i = operators.index("*")
        numbers[i : i + 2] = [record(numbers[i], "*", numbers[i + 1], numbers[i] * numbers[i + 1])]
        del operators[i]
    while operators:
        op = operators.pop(0)
        exact = numbers[0] + numbers[1] if op == "+" else numbers[0] - numbers[1]
        numbers[0:2] = [record(numbers[0], op, numbers[1], exact)]
    return steps


def is_test_question(expression: str) -> bool:
    """A fixed quarter of all questions is held out, whatever the sizes asked for."""
    return random.Random(expression).random() < 0.25


def distinct_rows(size: int, split: str, seed: int, draw, id_prefix: str, widen: str) -> list[dict]:
    """`size` distinct rows of `split` (`train` or `test`) from `draw(rng) -> (question, answer)`; the splits never share one.

    A fixed quarter of all questions is held out (`is_test_question`), whatever the sizes asked for.

    Raises:
        ValueError: the task has too few distinct questions of `split`; the message names what to widen (`widen`).
    """
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    for _ in range(200 * (size + 10)):
        if len(rows) == size:
            return rows
        question, answer = draw(rng)
        if question in seen or is_test_question(question) != (split == "test"):
            continue
        seen.add(question)
        rows.append({"id": f"{id_prefix}-{split}-{seed}-{len(rows):05d}", "question": question, "answer": str(answer)})
    raise ValueError(f"cannot draw {size} distinct {split} questions from this task; widen it ({widen})")


def generate_rows(size: int, split: str, task: ArithmeticTask, seed: int = 0) -> list[dict]:
    """`size` distinct arithmetic questions of `split` (`distinct_rows`); held out by their expression."""

    def draw(rng: random.Random) -> tuple[str, int]:
        numbers, operators = task.question(rng)
        return expression_text(numbers, operators), solution_steps(numbers, operators)[-1][3]

    rows = distinct_rows(size, split, seed, draw, "arith", "max_terms, max_operand")
    return [{**row, "question": f"Compute {row['question']} ."} for row in rows]


NAMES = ("Tom", "Anna", "Sara", "Ben", "Lily", "Max", "Emma", "Jack", "Mia", "Leo", "Zoe", "Sam")
ITEMS = ("apples", "pencils", "stickers", "marbles", "cookies", "books", "cards", "balloons", "shells", "stamps")
# Two operations on three small quantities: has a, gains b, loses c (a + b - c); or has a, loses b, gains c (a - b + c).
GAINS = ("buys {n} more", "finds {n} more", "gets {n} more from a friend", "is given {n} more")
LOSSES = ("gives away {n}", "loses {n}", "gives {n} to a friend", "uses {n}")


@dataclass(frozen=True)
class WordProblemTask:
    """Two-step word problems with small numbers: "Tom has 7 apples. Tom buys 5 more and then gives away 3. How many ...?"

    Chosen for a real 135M instruct model by measurement (see the real-model suite's report): it
    solves some of them (greedy 0.13, sampled pass@8 0.41 on 256 held-out questions) and writing the two
    steps pays over a bare answer (+10.9 points). The answer is never negative.
    """

    max_operand: int = 10

    def question(self, rng: random.Random) -> tuple[str, int]:
        name, item = rng.choice(NAMES), rng.choice(ITEMS)
        if rng.random() < 0.5:
            a, b = rng.randint(2, self.max_operand), rng.randint(2, self.max_operand)
            c = rng.randint(1, a + b - 1)
            first, second, answer = rng.choice(GAINS).format(n=b), rng.choice(LOSSES).format(n=c), a + b - c
        else:
            a = rng.randint(3, self.max_operand)
            b, c = rng.randint(1, a - 1), rng.randint(2, self.max_operand)
            first, second, answer = rng.choice(LOSSES).format(n=b), rng.choice(GAINS).format(n=c), a - b + c
        return f"{name} has {a} {item}. {name} {first} and then {second}. How many {item} does {name} have now?", answer


def generate_word_problems(size: int, split: str, task: WordProblemTask, seed: int = 0) -> list[dict]:
    """`size` distinct word problems of `split` (`distinct_rows`)."""
    return distinct_rows(size, split, seed, task.question, "word", "max_operand")


def parse_question(question: str) -> tuple[list[int], list[str]]:
    tokens = question.replace("Compute", "").replace(".", "").split()
    return [int(t) for t in tokens[0::2]], tokens[1::2]


def closing(answer: str) -> str:
    return f" So the answer is {answer} . </think> <answer> {answer} </answer>"


def guess_trace(question: str, accuracy: float, rng: random.Random) -> tuple[str, str]:
    """An answer-first trace with no steps: right with probability `accuracy`, else off by 1-3."""
    numbers, operators = parse_question(question)
    exact = solution_steps(numbers, operators)[-1][3]
    answer = exact if rng.random() < accuracy else exact + rng.choice((-3, -2, -1, 1, 2, 3))
    return closing(str(answer)), str(answer)


def reasoning_trace(question: str, double_checks: int, wrong: bool, rng: random.Random) -> tuple[str, str]:
    """(completion text after the prompt's `<think>`, its final answer). `wrong` slips one step."""
    numbers, operators = parse_question(question)
    slip = rng.randrange(len(operators)) if wrong else None
    steps = solution_steps(numbers, operators, slip=slip, delta=rng.choice((-2, -1, 1, 2)))
    lines = [f"{a} {op} {b} = {r} ." for a, op, b, r in steps]
    body = " ".join(lines)
    for _ in range(double_checks):
        body += " Let me double-check . " + " ".join(lines)
    answer = str(steps[-1][3])
    return f" {body}" + closing(answer), answer



# The trace's phrases in Chinese: R1-Zero's reasoning drifts between Chinese and English (DeepSeek-R1,
# arXiv 2501.12948, sec. 2.3.3). Short ones, since every Han character costs three byte-level tokens here:
# "验算" (check the calculation), and "答" ("Answer:", as a Chinese worksheet concludes), which puts the
# answer as many tokens after the last step as "So the answer is" does, so copying it is the same skill.
RECHECK, CONCLUSION = "Let me double-check", "So the answer is"
SWITCHED_PHRASES = {RECHECK: "验算", CONCLUSION: "答"}


def switch_language(completion: str, phrases: dict[str, str] = SWITCHED_PHRASES) -> str:
    """A trace whose reasoning drifts into another language part-way: after its first derivation, every
    re-check and the conclusion are written with `phrases` (Chinese by default).

    The maths (digits, operators) and the `<answer>` are untouched, so the answer is the same. No English
    phrase stays in a switched trace, so the two languages' phrases are never reinforced together: RL
    that pays a switched trace pays Chinese, one that pays an English trace pays English.

    >>> switch_language(" 1 + 2 = 3 . Let me double-check . 1 + 2 = 3 . So the answer is 3 . </think> <answer> 3 </answer>")
    ' 1 + 2 = 3 . 验算 . 1 + 2 = 3 . 答 3 . </think> <answer> 3 </answer>'
    """
    reasoning, close, rest = completion.partition("</think>")
    for english, other in phrases.items():
        reasoning = reasoning.replace(english, other)
    return reasoning + close + rest
