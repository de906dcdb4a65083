"""A small pool of checker worker processes with a hard, thread-safe time bound per check.

Signal-based timeouts only work on the main thread of the main process; a subprocess that is
killed on overrun works everywhere (threads, DataLoader workers, reward worker processes).
Workers are forked from one warm template process (the zygote, `rewards.verify._worker`), so a
killed worker's replacement costs milliseconds, not a second cold sympy import on busy cores.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from rewards.verify.normalize import Tolerance

logger = logging.getLogger("rewards.verify")
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding `rewards/`
# The zygote imports sympy and warms it up once per program (~2 s idle, more under load). That
# start-up is waited for separately from the per-check bound; forking a worker from it takes ms.
# The bound counts the seconds callers have *waited* for its `ready`, never the process's age: a
# zygote started when the reward stack was built and first used minutes later is ready, not late.
_STARTUP_TIMEOUT_S = 60.0
# Stop waiting this much before the bound, so that killing the worker and returning fit inside it.
_RETURN_MARGIN_S = 0.02
_FORK_TIMEOUT_S = 5.0  # a fork takes milliseconds; a zygote that does not answer in this long is replaced
PIPELINE_DEPTH = 4  # pairs sent ahead to each worker in a batch


class _LineReader:
    """Newline-terminated messages from a file descriptor, each awaited until a monotonic deadline."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buffer = b""

    def read_line(self, deadline: float) -> bytes | None:
        """The next line without its newline, or None if `deadline` passes first or the writer is gone.

        What has already arrived is always read, even when `deadline` is past: a deadline bounds how
        long to wait for a line, never whether to look at one that is waiting.
        """
        while b"\n" not in self.buffer:
            remaining = max(0.0, deadline - time.monotonic())
            readable, _, _ = select.select([self.fd], [], [], remaining)
            if not readable:
                return None
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line


class _Zygote:
    """The warm template process (`python -m rewards.verify._worker --zygote`) that checker workers are forked from.

    Started once per pool; it imports and warms sympy once, so a worker, first or replacement, starts
    in milliseconds instead of paying that start-up on the cores the running checks need.
    """

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        env.setdefault("OMP_NUM_THREADS", "1")
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        # What the zygote and its workers print (a crash, an import error) is kept to explain a failure.
        self.stderr = tempfile.TemporaryFile()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "rewards.verify._worker", "--zygote", str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self.stderr,
                env=env,
                pass_fds=(theirs.fileno(),),
            )
        finally:
            theirs.close()
        self.started = time.monotonic()
        self.ready = False
        # Seconds callers have spent waiting for `ready`, summed over calls: the start-up bound is on this.
        self.startup_waited_s = 0.0
        self.failed: str | None = None  # why this zygote was given up (silent past the bound, no reply to a fork)
        self._replies = _LineReader(self.control.fileno())
        self._pidfds: list[int] = []
        self._lock = threading.Lock()

    def alive(self) -> bool:
        return self.process.poll() is None

    def describe_failure(self) -> str:
        """Why this zygote gave no worker: its exit status and the end of what it printed."""
        code = self.process.poll()
        try:
            self.stderr.seek(0, os.SEEK_END)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - 2000))
            printed = self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            printed = ""
        state = "running" if code is None else f"exited with status {code}"
        if self.failed:
            state += f", {self.failed}"
        last = printed.splitlines()[-1] if printed else "nothing printed"
        return f"checker process {self.process.pid} {state}, ready={self.ready}: {last}"

    def usable(self) -> bool:
        """Alive and not given up: worth forking from (else the pool starts a new zygote)."""
        return self.failed is None and self.alive()

    def still_starting(self) -> bool:
        """Alive, not ready yet, and callers have waited less than the start-up bound for it: slow, not broken."""
        return not self.ready and self.usable() and self.startup_waited_s < _STARTUP_TIMEOUT_S

    def fork(self, deadline: float = float("inf")) -> _Worker | None:
        """A new worker, waiting for the zygote's start-up until `deadline` at most; None if it is not ready or died."""
        # Another thread may hold the lock while waiting for the start-up, or for a fork (milliseconds).
        wait = min(deadline - time.monotonic(), _STARTUP_TIMEOUT_S + _FORK_TIMEOUT_S)
        if not self._lock.acquire(timeout=max(0.001, wait)):
            return None
        try:
            return self._fork_locked(deadline)
        finally:
            self._lock.release()

    def _await_ready(self, deadline: float) -> bool:
        """Read the zygote's `ready` line, waiting until `deadline` or the rest of the start-up bound, whichever is first.

        A line already waiting is read at once, however late. Only time spent waiting counts against
        the bound; a zygote silent for the whole bound, or dead, is given up (and killed) so the pool
        starts a new one on the next call.
        """
        waited_from = time.monotonic()
        allowance = max(0.0, _STARTUP_TIMEOUT_S - self.startup_waited_s)
        line = self._replies.read_line(min(deadline, waited_from + allowance))
        self.startup_waited_s += time.monotonic() - waited_from
        if line == b"ready":
            self.ready = True
            return True
        if line is None and self.alive() and self.startup_waited_s < _STARTUP_TIMEOUT_S:
            return False  # the caller's own deadline came first: still starting
        if line is not None:
            self.failed = f"said {line[:80]!r} instead of ready"
        elif self.alive():
            self.failed = f"silent for {self.startup_waited_s:.0f} s of waiting for its start-up"
        self.process.kill()
        return False

    def _fork_locked(self, deadline: float) -> _Worker | None:
        if not self.ready and not self._await_ready(deadline):
            return None
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            socket.send_fds(self.control, [b"f"], [request_read, reply_write])
        except OSError:
            os.close(request_write)
            os.close(reply_read)
            return None
        finally:
            os.close(request_read)
            os.close(reply_write)
        # The reply's pidfd arrives with its first bytes; collect it before reading the line.
        line = self._read_reply(time.monotonic() + _FORK_TIMEOUT_S)
        if line is None:
            os.close(request_write)
            os.close(reply_read)
            if self.alive():
                self.failed = f"no reply to a fork request in {_FORK_TIMEOUT_S:.0f} s"
            self.process.kill()  # hung or dead; a late reply would pair with the next request: start afresh
            return None
        pidfd = self._pidfds.pop() if self._pidfds else None
        return _Worker(int(line), pidfd, request_write, reply_read)

    def _read_reply(self, deadline: float) -> bytes | None:
        reader = self._replies
        while b"\n" not in reader.buffer:
            remaining = max(0.0, deadline - time.monotonic())  # a reply already waiting is read even when late
            if not select.select([self.control], [], [], remaining)[0]:
                return None
            try:
                chunk, fds, _, _ = socket.recv_fds(self.control, 64, 1)
            except OSError:
                return None
            if not chunk:
                return None
            reader.buffer += chunk
            self._pidfds.extend(fds)
        line, reader.buffer = reader.buffer.split(b"\n", 1)
        return line

    def close(self) -> None:
        """Close the control socket (the zygote exits on it) and reap the zygote; its workers go with their pipes."""
        try:
            self.control.close()
        except OSError:
            pass
        if not self.ready:
            self.process.kill()  # still importing sympy: it would read the closed socket only after warming up
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.stderr.close()


class _Worker:
    """One checker process forked from the zygote, spoken to in JSON lines over two pipes."""

    def __init__(self, pid: int, pidfd: int | None, request_fd: int, reply_fd: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.request_fd = request_fd
        self.reply_fd = reply_fd
        self._replies = _LineReader(reply_fd)
        self.killed = False

    def fileno(self) -> int:
        """The reply pipe, for select()."""
        return self.reply_fd

    def exited(self) -> bool:
        """The process is gone (killed while idle, say); known only where there is a pidfd, else False."""
        if self.killed:
            return True
        if self.pidfd is None:
            return False  # a dead worker then shows itself by a failed send, and is replaced there
        try:
            return bool(select.select([self.pidfd], [], [], 0)[0])  # a pidfd turns readable when its process exits
        except (OSError, ValueError):
            return True

    def read_message(self, deadline: float) -> dict | None:
        """The next JSON reply, or None if `deadline` (monotonic seconds) passes first or the worker died."""
        line = self._replies.read_line(deadline)
        return None if line is None else json.loads(line)

    def has_line(self) -> bool:
        """A whole reply is already read into the buffer (select would not report it)."""
        return b"\n" in self._replies.buffer

    def send(self, request: dict) -> bool:
        try:
            os.write(self.request_fd, (json.dumps(request) + "\n").encode())
            return True
        except OSError:
            return False

    def kill_now(self) -> None:
        """SIGKILL, at once: through the pidfd where there is one, so a reused pid is never hit."""
        if self.killed:
            return
        self.killed = True
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            else:
                os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, OSError):
            pass  # it had exited already

    def kill(self) -> None:
        """Kill and release the descriptors (the zygote reaps the process)."""
        self.kill_now()
        self.close_pipes()

    def close_pipes(self) -> None:
        """Close this side's descriptors; an idle worker exits on its request pipe's EOF."""
        for fd in (self.request_fd, self.reply_fd, self.pidfd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.request_fd = self.reply_fd = -1
        self.pidfd = None


@dataclass
class CheckReport:
    """What one `check_many` call left undecided, and why: the reason behind an honest `rewards/errors`.

    `timeouts`: checks that overran their bound (killed); `unchecked`: pairs the batch's time budget
    did not reach; `unavailable`: pairs left because no checker process could be had (`reason` says
    why); `failures`: workers lost or checks that raised (those answers count as mismatches).
    """

    timeouts: int = 0
    unchecked: int = 0
    unavailable: int = 0
    failures: int = 0
    reason: str | None = None

    def add(self, other: CheckReport) -> None:
        self.timeouts += other.timeouts
        self.unchecked += other.unchecked
        self.unavailable += other.unavailable
        self.failures += other.failures
        self.reason = other.reason or self.reason

    def describe(self) -> str:
        """One line: the counts that are not zero, and the reason a checker was missing."""
        parts = [f"{count} {what}" for count, what in (
            (self.timeouts, "overran the per-check bound"),
            (self.unchecked, "not reached within the batch budget"),
            (self.unavailable, "had no checker process"),
        ) if count]
        text = ", ".join(parts) or "none left unchecked"
        return f"{text} ({self.reason})" if self.reason else text


class CheckerPool:
    """Hands out warm workers forked from one zygote; a worker that overruns is killed and replaced by a new fork."""

    def __init__(self) -> None:
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._zygote: _Zygote | None = None
        self._lock = threading.Lock()
        self.timeouts = 0
        self.failures = 0
        self.unchecked = 0  # pairs a batch's time budget left unchecked
        self.unavailable = 0  # pairs left unchecked because no checker process could be had
        self.last_failure: str | None = None  # why the last worker could not be had (see `_Zygote.describe_failure`)
        self.restarts = 0  # zygotes started after the first (one died or was given up)
        self._failing = False  # inside a run of failures: warned once, until a worker is had again

    def _running_zygote(self) -> _Zygote:
        """The zygote, started (again, if it died or was given up) without waiting for it (lock held)."""
        if self._zygote is None or not self._zygote.usable():
            if self._zygote is not None:
                self._zygote.close()
                self.restarts += 1
            self._zygote = _Zygote()
        return self._zygote

    def _acquire(self, deadline: float) -> _Worker | None:
        """An idle worker, else a new fork (waiting for the zygote's start-up until `deadline`); None if none came."""
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if not worker.exited():
                    return worker
                worker.kill()  # died while idle: release its pipes, fork a fresh one
                self._all.discard(worker)
            zygote = self._running_zygote()
        worker = zygote.fork(deadline)
        if worker is not None:
            with self._lock:
                self._all.add(worker)
                if self._failing:
                    self._failing = False
                    logger.warning("answer checking: checker workers are back (after: %s)", self.last_failure)
        elif not zygote.still_starting():
            self.last_failure = zygote.describe_failure()
            with self._lock:
                first = not self._failing
                self._failing = True
            if first:  # once per run of failures; the next call starts a new zygote and tries again
                logger.warning(
                    "answer checking: no checker worker (%s); such answers count as unchecked until a new checker starts",
                    self.last_failure,
                )
        return worker

    def _starting(self) -> bool:
        """The zygote is still within its start-up: a batch that ran out of time waited for it, nothing broke."""
        with self._lock:
            return self._zygote is not None and self._zygote.still_starting()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        """Kill an overrun worker now (SIGKILL returns at once, so the check returns within its bound)."""
        worker.kill()
        with self._lock:
            self._all.discard(worker)

    def warm_up(self, workers: int = 1) -> None:
        """Start the zygote now rather than on the first check (it pays the sympy start-up once; `workers` is kept for API compatibility)."""
        del workers  # every worker is forked warm on demand
        with self._lock:
            self._running_zygote()

    def check_many(
        self, pairs: list[tuple[str, str]], tolerance: Tolerance, timeout_s: float, workers: int = 1, budget_s: float | None = None,
        report: CheckReport | None = None,
    ) -> list[bool | None]:
        """Check `pairs` on up to `workers` worker processes at once; None for an overrun, a crash or no time left.

        Each worker gets up to `PIPELINE_DEPTH` pairs ahead, so it never waits for the parent between
        checks. Each check keeps its own hard bound `timeout_s` (counted from when the worker reaches
        it); an overrunning worker is killed, its other queued pairs go to another worker. The whole
        call returns within `budget_s` (plus one kill), leaving the pairs it did not get to as None.
        `tolerance` travels with each request (`rewards.verify.compare.equivalent` takes it as an argument).
        `report`, if given, is filled with this call's counts of what was left unchecked and why.
        """
        outcome = CheckReport()
        tolerance_fields = {"rel_tol": tolerance.rel_tol, "precision": tolerance.precision}
        results: list[bool | None] = [None] * len(pairs)
        # Pairs with the same gold go to the same worker, one gold at a time: its parse is cached there.
        by_gold: dict[str, list[int]] = {}
        for index, (_, gold) in enumerate(pairs):
            by_gold.setdefault(gold, []).append(index)
        groups = deque(by_gold.values())
        pending: deque[int] = deque()  # pairs put back by a killed worker: first served
        backlog: dict[_Worker, deque[int]] = {}
        lanes: dict[_Worker, deque[int]] = {}
        head_deadline: dict[_Worker, float] = {}
        bound = max(0.0, timeout_s - _RETURN_MARGIN_S)
        batch_deadline = time.monotonic() + budget_s if budget_s is not None else float("inf")
        self.warm_up(workers)

        def next_pair(worker: _Worker) -> int | None:
            if pending:
                return pending.popleft()
            own = backlog.setdefault(worker, deque())
            if not own and groups:
                own.extend(groups.popleft())
            return own.popleft() if own else None

        def feed(worker: _Worker) -> bool:
            lane = lanes[worker]
            while len(lane) < PIPELINE_DEPTH and time.monotonic() < batch_deadline:
                index = next_pair(worker)
                if index is None:
                    break
                if not worker.send({"pred": pairs[index][0], "gold": pairs[index][1], "tolerance": tolerance_fields}):
                    pending.appendleft(index)
                    return False
                if not lane:
                    head_deadline[worker] = time.monotonic() + bound
                lane.append(index)
            return True

        def drop(worker: _Worker) -> None:
            """Kill a worker: the pair it was on stays None, the ones queued behind it go back to the queue."""
            lane = lanes.pop(worker)
            head_deadline.pop(worker, None)
            if lane:
                lane.popleft()
            pending.extendleft(reversed([*lane, *backlog.pop(worker, ())]))
            self._discard(worker)

        def work_left() -> bool:
            return bool(pending or groups or any(backlog.values()))

        no_checker = False  # the checker could not be started in this call: the next call starts a new one
        while work_left() or any(lanes.values()):
            while (pending or groups) and len(lanes) < max(1, workers) and time.monotonic() < batch_deadline and not no_checker:
                worker = self._acquire(batch_deadline)
                if worker is None:
                    if not self._starting():
                        # Dead or silent past its bound (given up, so a later call restarts it). Waiting
                        # for another start-up here would stall the batch by a whole bound again.
                        outcome.failures += 1
                        no_checker = True
                    break  # else the batch ran out of time first: the zygote stays for the next one
                lanes[worker] = deque()
                if not feed(worker):
                    outcome.failures += 1
                    drop(worker)
            active = [worker for worker, lane in lanes.items() if lane]
            if not active:
                if no_checker:
                    outcome.unavailable += len(pending) + sum(len(g) for g in groups) + sum(len(b) for b in backlog.values())
                elif time.monotonic() >= batch_deadline or work_left():
                    outcome.unchecked += len(pending) + sum(len(g) for g in groups) + sum(len(b) for b in backlog.values())
                break
            now = time.monotonic()
            wake = min(min(head_deadline[w] for w in active), batch_deadline)
            buffered = [w for w in active if w.has_line()]
            ready_fds = {w.fileno() for w in buffered}
            if not buffered:
                ready, _, _ = select.select([w.fileno() for w in active], [], [], max(0.0, wake - now))
                ready_fds = set(ready)
            for worker in [w for w in active if w.fileno() in ready_fds]:
                while worker in lanes and lanes[worker]:
                    reply = worker.read_message(head_deadline[worker])
                    if reply is None:
                        outcome.timeouts += 1
                        drop(worker)
                        break
                    index = lanes[worker].popleft()
                    results[index] = bool(reply.get("match"))
                    if "error" in reply:
                        outcome.failures += 1
                    if lanes[worker]:
                        head_deadline[worker] = time.monotonic() + bound  # the next queued pair starts now
                    if not feed(worker):
                        outcome.failures += 1
                        drop(worker)
                        break
                    if not worker.has_line():
                        break
            now = time.monotonic()
            for worker in [w for w, lane in lanes.items() if lane]:
                if now >= head_deadline[worker] or now >= batch_deadline:
                    outcome.timeouts += 1
                    drop(worker)
            if now >= batch_deadline:
                outcome.unchecked += len(pending) + sum(len(g) for g in groups) + sum(len(b) for b in backlog.values())
                break
        for worker, lane in list(lanes.items()):
            if lane:
                drop(worker)
            else:
                self._release(worker)
        with self._lock:
            self.timeouts += outcome.timeouts
            self.failures += outcome.failures
            self.unchecked += outcome.unchecked
            self.unavailable += outcome.unavailable
        if outcome.unavailable:
            outcome.reason = self.last_failure
        if report is not None:
            report.add(outcome)
        return results

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = list(self._all), set(), []
            zygote, self._zygote = self._zygote, None
        for worker in workers:
            worker.kill()
        if zygote is not None:
            zygote.close()


_pool: CheckerPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def get_pool() -> CheckerPool:
    """The process-wide pool; a forked child (DataLoader worker) gets its own, never the parent's pipes."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = CheckerPool(), os.getpid()
        return _pool


@atexit.register
def _close_pool() -> None:
    if _pool is not None and _pool_pid == os.getpid():
        _pool.close()
