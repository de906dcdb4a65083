"""The answer checker's process pool (rewards/verify/sandbox.py): start-up, recovery, honest counts. Real processes, no mocks."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rewards.verify import sandbox
from rewards.verify.normalize import DEFAULT_TOLERANCE
from rewards.verify.sandbox import CheckerPool, CheckReport

ROOT = Path(__file__).resolve().parents[2]
SYMBOLIC = [(r"x^2+2x+1", "(x+1)^2"), (r"\sqrt{8}", r"2\sqrt{2}")]
# None of these is decided by the in-process fast path: every one needs a sympy worker.
MANY_SYMBOLIC = [
    (r"x^2+2x+1", "(x+1)^2"), (r"\sqrt{8}", r"2\sqrt{2}"), (r"\frac{x}{2}+\frac{x}{2}", "x"), (r"\sqrt{16}", "4"),
    (r"\sin^2(x)+\cos^2(x)", "1"), (r"\{1,2,3\}", r"\{3,2,1\}"), (r"[0,1)", r"(0,1]"), (r"\sqrt{2}", "1.5"),
    (r"(x-1)(x+1)", "x^2-1"), (r"\frac{1}{\sqrt{2}}", r"\frac{\sqrt{2}}{2}"), ("2x+3y=1", "-4x-6y+2=0"), (r"\pi", "3"),
]  # fmt: skip
EXPECTED = [True, True, True, True, True, True, False, False, True, True, True, False]


def run_fresh(code: str, timeout: float) -> subprocess.CompletedProcess:
    """`code` in a new interpreter (its own process-wide pool, nothing warm), from the checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout)


def wait_until_ready_line_is_waiting(pool: CheckerPool, limit_s: float = 120.0) -> None:
    """Block until the zygote has written `ready` into its socket (nobody has read it yet)."""
    import select

    deadline = time.monotonic() + limit_s
    while not select.select([pool._zygote.control], [], [], 0.1)[0]:
        assert time.monotonic() < deadline, "the checker never started"


@pytest.mark.integration
def test_first_use_35_s_after_warm_up_decides_every_pair_on_that_call_and_later_ones():
    # The reproduction, verbatim: the stack is built, the first step takes 35 s, then checking starts.
    code = f"""
import time
from rewards.verify import warm_up, check_answers
warm_up()
time.sleep(35)
first = check_answers({SYMBOLIC!r}, 1.0, 1, 60)
later = check_answers([(r"\\frac{{x}}{{2}}+\\frac{{x}}{{2}}", "x"), (r"\\sqrt{{2}}", "1.5")], 1.0, 1, 60)
print(first, later)
"""
    result = run_fresh(code, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[True, True] [True, False]", result.stderr[-2000:]
    assert "no checker worker" not in result.stderr


def test_the_start_up_bound_counts_time_spent_waiting_not_the_checkers_age(monkeypatch):
    monkeypatch.setattr(sandbox, "_STARTUP_TIMEOUT_S", 1.0)
    pool = CheckerPool()
    try:
        pool.warm_up()
        wait_until_ready_line_is_waiting(pool)
        time.sleep(1.5)  # now older than its start-up bound, and never waited for
        assert pool.check_many(SYMBOLIC, DEFAULT_TOLERANCE, timeout_s=30.0) == [True, True]
        assert pool.check_many([(r"\sqrt{16}", "4")], DEFAULT_TOLERANCE, timeout_s=30.0) == [True]
        assert pool.failures == 0 and pool.restarts == 0
    finally:
        pool.close()


def test_a_silent_checker_is_given_up_after_the_bound_and_a_later_call_starts_a_new_one(monkeypatch, caplog):
    monkeypatch.setattr(sandbox, "_STARTUP_TIMEOUT_S", 2.0)
    pool = CheckerPool()
    try:
        pool.warm_up()
        silent = pool._zygote
        os.kill(silent.process.pid, signal.SIGSTOP)  # alive, but will never say `ready`
        report = CheckReport()
        with caplog.at_level(logging.WARNING, logger="rewards.verify"):
            started = time.monotonic()
            assert pool.check_many(SYMBOLIC, DEFAULT_TOLERANCE, timeout_s=5.0, report=report) == [None, None]
            assert time.monotonic() - started < 10  # one bound of waiting, not one per pair
        assert report.unavailable == 2 and "silent for 2 s" in report.reason
        assert not silent.alive() or silent.process.wait(timeout=5) is not None  # killed, not left stopped
        monkeypatch.setattr(sandbox, "_STARTUP_TIMEOUT_S", 120.0)
        with caplog.at_level(logging.WARNING, logger="rewards.verify"):
            assert pool.check_many(SYMBOLIC, DEFAULT_TOLERANCE, timeout_s=30.0) == [True, True]
        assert pool._zygote is not silent and pool.restarts == 1
        messages = [record.getMessage() for record in caplog.records]
        assert sum("no checker worker" in m for m in messages) == 1 and any("are back" in m for m in messages)
    finally:
        pool.close()


def test_a_checker_killed_while_idle_is_replaced_on_the_next_call():
    pool = CheckerPool()
    try:
        assert pool.check_many(SYMBOLIC, DEFAULT_TOLERANCE, timeout_s=30.0) == [True, True]
        zygote, idle = pool._zygote, list(pool._idle)
        assert idle
        zygote.process.kill()
        zygote.process.wait(timeout=5)
        for worker in idle:
            os.kill(worker.pid, signal.SIGKILL)
        time.sleep(0.2)
        report = CheckReport()
        assert pool.check_many([(r"\sqrt{16}", "4"), (r"\pi", "3")], DEFAULT_TOLERANCE, timeout_s=30.0, report=report) == [True, False]
        assert pool._zygote is not zygote and pool.restarts == 1
        assert report == CheckReport()  # nothing unchecked, nothing failed: the dead processes were simply replaced
    finally:
        pool.close()


@pytest.mark.integration
def test_symbolic_checks_in_a_fresh_process_with_both_cores_busy_are_all_decided():
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(max(2, os.cpu_count() or 2))]
    try:
        code = f"""
import json
from rewards.verify import check_answers, CheckReport
report = CheckReport()
print(json.dumps([check_answers({MANY_SYMBOLIC!r}, 1.0, None, 60, report=report), report.describe()]))
"""
        result = run_fresh(code, timeout=300)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert result.returncode == 0, result.stderr[-2000:]
    verdicts, described = json.loads(result.stdout)
    assert verdicts == EXPECTED, described
