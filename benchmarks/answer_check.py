"""Answer checking: `rewards.answers_match` vs math-verify, measured in one run.

(a) agreement with the labelled pairs in ../shared/bench/answer_pairs.jsonl (Math-Verify's own
    regression cases), per category, with our misses listed;
(b) a GRPO-like workload (8 completions per question, mostly integers and fractions, some LaTeX
    expressions, a few hostile strings): throughput and latency, extraction included for both;
(c) one GPU-sized step: 1024 completions (128 questions x 8) with MATH-like LaTeX answers, checked
    as `BatchAnalysis` checks a step (`check_answers`) with 1 worker process and with N, next to
    math-verify one by one.

    python benchmarks/answer_check.py [--pairs PATH] [--questions 300] [--misses] [--workers N]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


import rewards  # noqa: E402
from rewards.extract import final_answer  # noqa: E402
from rewards.verify.check import DEFAULT_TIMEOUT_S, check_answers, clear_cache, warm_up  # noqa: E402

DEFAULT_PAIRS = ROOT.parent / "shared" / "bench" / "answer_pairs.jsonl"


def bare_answer(text: str) -> str:
    """The answer a raw labelled string states, found by the library's own prose rules (`final_answer`)."""
    return final_answer(text) or text


def math_verify_check(gold: str, pred: str, options: dict | None = None) -> bool:
    from math_verify import parse, verify

    options = options or {}
    return verify(
        parse(gold), parse(pred),
        float_rounding=options.get("precision", 6),
        allow_set_relation_comp=options.get("allow_set_relation_comp", False),
    )  # fmt: skip


# ---------------------------------------------------------------- (a) labelled pairs


def agreement(pairs: list[dict]) -> tuple[dict, dict, list[dict]]:
    """Per category: (cases, ours agreeing, math-verify agreeing); and our misses."""
    ours, theirs = defaultdict(int), defaultdict(int)
    totals: dict[str, int] = defaultdict(int)
    misses = []
    for pair in pairs:
        category = pair["test"]
        totals[category] += 1
        precision = (pair.get("options") or {}).get("precision")  # the case's own rounding, given to both checkers
        mine = rewards.answers_match(bare_answer(pair["pred"]), bare_answer(pair["gold"]), precision=precision if precision != 6 else None)
        peer = math_verify_check(pair["gold"], pair["pred"], pair.get("options"))
        ours[category] += mine == pair["expected"]
        theirs[category] += peer == pair["expected"]
        if mine != pair["expected"]:
            misses.append({**pair, "ours": mine, "math_verify": peer})
    return {c: (totals[c], ours[c], theirs[c]) for c in sorted(totals)}, totals, misses


# ---------------------------------------------------------------- (b) GRPO-like workload

HOSTILE = [
    r"9^{9^{9^9}}",
    r"(10^{100})!",
    "__import__('os').system('echo pwned')",
    r"\frac{" * 5000,
    "7" * 100_000,
]
EXPRESSIONS = [
    (r"2\sqrt{3}", [r"\sqrt{12}", r"2 \sqrt{3}", r"3\sqrt{2}"]),
    (r"\frac{x+1}{2}", [r"\frac{x}{2}+\frac{1}{2}", r"\frac{x+1}{2}", r"x+1"]),
    (r"3\pi", [r"3 \pi", r"\pi \cdot 3", r"9.42"]),
    (r"x^2-1", [r"(x-1)(x+1)", r"x^2 - 1", r"x^2+1"]),
    (r"(1, 2)", [r"(1,2)", r"(2, 1)", r"\left(1, 2\right)"]),
    (r"\{1, 2, 3\}", [r"\{3, 2, 1\}", r"1, 2, 3", r"\{1, 2\}"]),
]


def workload(questions: int, seed: int = 0) -> list[tuple[str, str]]:
    """(completion, gold) pairs, 8 completions per question, answers as a policy would write them."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(questions):
        kind = rng.random()
        if kind < 0.6:
            value = rng.randint(-50, 2000)
            gold = str(value)
            forms = [gold, gold, gold, f"{value:,}", f"{value}.0", str(value + rng.choice((-1, 1, 10))), str(value * 2)]
        elif kind < 0.9:
            numerator, denominator = rng.randint(1, 30), rng.randint(2, 12)
            gold = rf"\frac{{{numerator}}}{{{denominator}}}"
            forms = [gold, rf"\dfrac{{{numerator}}}{{{denominator}}}", f"{numerator}/{denominator}",
                     f"{numerator / denominator:.10g}", rf"\frac{{{numerator + 1}}}{{{denominator}}}", gold]  # fmt: skip
        else:
            gold, variants = rng.choice(EXPRESSIONS)
            forms = variants + [gold]
        for _ in range(8):
            answer = rng.choice(HOSTILE) if rng.random() < 0.01 else rng.choice(forms)
            completion = f"<think>Let me work it out step by step.</think><answer>\\boxed{{{answer}}}</answer>"
            pairs.append((completion, gold))
    return pairs


def time_checks(pairs: list[tuple[str, str]], check) -> dict:
    latencies, matches = [], 0
    started = time.perf_counter()
    for completion, gold in pairs:
        t0 = time.perf_counter()
        matches += bool(check(completion, gold))
        latencies.append(time.perf_counter() - t0)
    wall = time.perf_counter() - started
    latencies.sort()
    return {
        "checks": len(pairs), "matches": matches, "wall_s": wall, "checks_per_s": len(pairs) / wall,
        "p50_ms": 1000 * statistics.median(latencies), "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": 1000 * latencies[-1],
    }  # fmt: skip


def ours(completion: str, gold: str) -> bool:
    answer = rewards.extract_answer(completion)
    return answer is not None and rewards.answers_match(answer, gold)


def theirs(completion: str, gold: str) -> bool:
    return math_verify_check(f"${gold}$", completion)


# ---------------------------------------------------------------- (c) one step, batched


def step_batch(questions: int = 128, samples: int = 8, seed: int = 1) -> list[tuple[str, str]]:
    """(answer, gold) pairs of one step: LaTeX golds that need sympy, each answered 8 times in mixed forms."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(questions):
        a, b, c = rng.randint(2, 9), rng.choice((2, 3, 5, 6, 7)), rng.randint(2, 11)
        kind = rng.random()
        if kind < 0.4:
            gold = rf"\frac{{{a}\sqrt{{{b}}}}}{{{c}}}"
            forms = [gold, rf"\frac{{{a}}}{{{c}}}\sqrt{{{b}}}", rf"{a}\sqrt{{{b}}}/{c}", f"{a * b ** 0.5 / c:.6f}",
                     rf"\frac{{{a + 1}\sqrt{{{b}}}}}{{{c}}}", rf"\frac{{\sqrt{{{a * a * b}}}}}{{{c}}}"]  # fmt: skip
        elif kind < 0.7:
            gold = rf"{a}x^2+{c}x"
            forms = [gold, rf"x({a}x+{c})", rf"{c}x+{a}x^2", rf"{a}x^2-{c}x", rf"x\cdot({a}x+{c})"]
        elif kind < 0.85:
            gold = rf"\left[{-a}, \frac{{{c}}}{{{b}}}\right)"
            forms = [gold, rf"[{-a}, {c}/{b})", rf"{-a} \le x < \frac{{{c}}}{{{b}}}", rf"({-a}, \frac{{{c}}}{{{b}}})"]
        else:
            gold = rf"\{{{a}, {c}, {a + c}\}}"
            forms = [gold, rf"\{{{c}, {a + c}, {a}\}}", f"{a}, {c}, {a + c}", rf"\{{{a}, {c}\}}"]
        pairs += [(rng.choice(forms), gold) for _ in range(samples)]
    return pairs


def time_step(pairs: list[tuple[str, str]], workers: int) -> dict:
    """Fresh, ready workers for each timing: parse caches inside the workers must not carry over between runs."""
    from rewards.verify.sandbox import get_pool

    get_pool().close()
    clear_cache()
    warm_up(workers)
    check_answers([(rf"\sqrt{{{n * n}}}", str(n)) for n in range(2, 2 + 2 * workers)], workers=workers)  # all started
    clear_cache()
    started = time.perf_counter()
    verdicts = check_answers(pairs, DEFAULT_TIMEOUT_S, workers=workers, budget_s=None)
    wall = time.perf_counter() - started
    return {"wall_s": wall, "matches": sum(bool(v) for v in verdicts), "unresolved": verdicts.count(None)}


def time_step_math_verify(pairs: list[tuple[str, str]]) -> dict:
    started = time.perf_counter()
    matches = sum(math_verify_check(f"${gold}$", f"${answer}$") for answer, gold in pairs)
    return {"wall_s": time.perf_counter() - started, "matches": matches, "unresolved": 0}


# ---------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS)
    parser.add_argument("--questions", type=int, default=300, help="questions in the workload (8 completions each)")
    parser.add_argument("--misses", action="store_true", help="list every labelled pair we get wrong")
    parser.add_argument("--labelled-only", action="store_true", help="run (a) only")
    parser.add_argument("--workers", type=int, default=None, help="workers for (c) (default: this machine's cores)")
    args = parser.parse_args()

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)  # it logs every timeout with the whole input
    warm_up()
    print(f"(a) labelled pairs: {args.pairs}")
    pairs = [json.loads(line) for line in args.pairs.read_text().splitlines() if line.strip()]
    per_category, totals, misses = agreement(pairs)
    print(f"{'category':44} {'cases':>5} {'ours':>7} {'math-verify':>11}")
    for category, (cases, mine, peer) in per_category.items():
        print(f"{category:44} {cases:5d} {mine / cases:7.1%} {peer / cases:11.1%}")
    all_cases = sum(totals.values())
    mine_all = sum(v[1] for v in per_category.values())
    peer_all = sum(v[2] for v in per_category.values())
    print(f"{'ALL':44} {all_cases:5d} {mine_all / all_cases:7.1%} {peer_all / all_cases:11.1%}")
    if args.misses:
        for miss in misses:
            print(f"  miss [{miss['test']}] expected={miss['expected']} mv={miss['math_verify']} "
                  f"gold={miss['gold'][:80]!r} pred={miss['pred'][:100]!r}")  # fmt: skip

    if args.labelled_only:
        return
    work = workload(args.questions)
    print(f"\n(b) GRPO-like workload: {len(work)} (completion, gold) pairs, 8 per question, extraction included")
    clear_cache()
    results = {"answers_match": time_checks(work, ours), "math-verify": time_checks(work, theirs)}
    print(f"{'checker':16} {'checks/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>9} {'matches':>8} {'wall s':>7}")
    for name, r in results.items():
        print(f"{name:16} {r['checks_per_s']:10.0f} {r['p50_ms']:8.3f} {r['p99_ms']:8.2f} {r['max_ms']:9.1f} {r['matches']:8d} {r['wall_s']:7.1f}")
    speedup = results["answers_match"]["checks_per_s"] / results["math-verify"]["checks_per_s"]
    print(f"\nthroughput ratio answers_match / math-verify: {speedup:.1f}x; "
          f"max latency {results['answers_match']['max_ms']:.0f} ms vs time bound {1000 * DEFAULT_TIMEOUT_S:.0f} ms")  # fmt: skip

    step = step_batch()
    workers = args.workers or os.cpu_count() or 1
    distinct = len(set(step))
    print(f"\n(c) one step: {len(step)} (answer, gold) pairs, 128 questions x 8, {distinct} distinct, LaTeX (sympy path)")
    timings = {"check_answers, 1 worker": time_step(step, 1), f"check_answers, {workers} workers": time_step(step, workers),
               "math-verify, sequential": time_step_math_verify(step)}  # fmt: skip
    print(f"{'checker':28} {'wall s':>8} {'matches':>8} {'unresolved':>10}")
    for name, r in timings.items():
        print(f"{name:28} {r['wall_s']:8.2f} {r['matches']:8d} {r['unresolved']:10d}")
    one, many = timings["check_answers, 1 worker"]["wall_s"], timings[f"check_answers, {workers} workers"]["wall_s"]
    print(f"\n{workers} workers vs 1: {one / many:.2f}x faster; vs math-verify sequential: "
          f"{timings['math-verify, sequential']['wall_s'] / many:.1f}x")


if __name__ == "__main__":
    main()
