"""A small pool of checker worker processes with a hard, thread-safe time bound per check.

Signal-based timeouts only work on the main thread of the main process; a subprocess that is
killed on overrun works everywhere (threads, DataLoader workers, reward worker processes).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

from rewards.verify.normalize import Tolerance

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding `rewards/`
# A cold worker imports sympy (~0.4 s idle, more under load). That start-up is waited for
# separately from the per-check bound, and spares are kept warm so it is rarely on the hot path.
_STARTUP_TIMEOUT_S = 30.0
# Stop waiting this much before the bound, so that killing the worker and returning fit inside it.
_RETURN_MARGIN_S = 0.02
PIPELINE_DEPTH = 4  # pairs sent ahead to each worker in a batch


class _Worker:
    """One `python -m rewards.verify._worker` child, spoken to in JSON lines over pipes."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        env.setdefault("OMP_NUM_THREADS", "1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "rewards.verify._worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            bufsize=0,
        )
        self.ready = False
        self.started = time.monotonic()
        self._buffer = b""

    def read_message(self, deadline: float) -> dict | None:
        """The next JSON line, or None if `deadline` (monotonic seconds) passes first or the child died."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            readable, _, _ = select.select([fd], [], [], remaining)
            if not readable:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def has_line(self) -> bool:
        """A whole reply is already read into the buffer (select would not report it)."""
        return b"\n" in self._buffer

    def wait_ready(self, deadline: float = float("inf")) -> bool:
        """Whether the child has started, waiting for it until `deadline` at most (start-up has its own bound)."""
        if not self.ready:
            message = self.read_message(min(self.started + _STARTUP_TIMEOUT_S, deadline))
            self.ready = bool(message and message.get("ready"))
        return self.ready

    def still_starting(self) -> bool:
        """Alive, not ready yet, within its start-up bound: slow, not broken."""
        return not self.ready and self.process.poll() is None and time.monotonic() < self.started + _STARTUP_TIMEOUT_S

    def send(self, request: dict) -> bool:
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            return True
        except (BrokenPipeError, OSError):
            return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class CheckerPool:
    """Hands out warm workers; a worker that overruns is killed and replaced by a fresh one."""

    def __init__(self, spares: int = 1) -> None:
        self.spares = spares
        self._idle: list[_Worker] = []
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self.timeouts = 0
        self.failures = 0
        self.unchecked = 0  # pairs a batch's time budget left unchecked

    def _spawn(self) -> _Worker:
        worker = _Worker()
        self._all.add(worker)
        return worker

    def _acquire(self) -> _Worker:
        with self._lock:
            worker = self._idle.pop() if self._idle else self._spawn()
            self._top_up()
        return worker

    def _top_up(self) -> None:
        """Keep `spares` workers beyond the busy ones warm, with at most `spares + 1` alive (lock held)."""
        while len(self._idle) < self.spares and len(self._all) < self.spares + 1:
            self._idle.append(self._spawn())

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _discard(self, worker: _Worker) -> None:
        """Kill an overrun worker now; reap it and start its replacement off the caller's clock."""
        if worker.process.poll() is None:
            worker.process.kill()  # SIGKILL: returns at once, so the check returns within its bound
        with self._lock:
            self._all.discard(worker)

        def reap_and_replace() -> None:
            worker.kill()
            with self._lock:
                self._top_up()

        threading.Thread(target=reap_and_replace, name="checker-replace", daemon=True).start()

    def warm_up(self, workers: int = 1) -> None:
        """Start `workers` workers (and the spares) now rather than on the first check."""
        with self._lock:
            self.spares = max(self.spares, workers)
            self._top_up()

    def check_many(
        self, pairs: list[tuple[str, str]], tolerance: Tolerance, timeout_s: float, workers: int = 1, budget_s: float | None = None
    ) -> list[bool | None]:
        """Check `pairs` on up to `workers` worker processes at once; None for an overrun, a crash or no time left.

        Each worker gets up to `PIPELINE_DEPTH` pairs ahead, so it never waits for the parent between
        checks. Each check keeps its own hard bound `timeout_s` (counted from when the worker reaches
        it); an overrunning worker is killed, its other queued pairs go to another worker. The whole
        call returns within `budget_s` (plus one kill), leaving the pairs it did not get to as None.
        `tolerance` travels with each request (`rewards.verify.compare.equivalent` takes it as an argument).
        """
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

        while work_left() or any(lanes.values()):
            while (pending or groups) and len(lanes) < max(1, workers) and time.monotonic() < batch_deadline:
                worker = self._acquire()
                if not worker.wait_ready(batch_deadline):
                    if worker.still_starting():  # the batch ran out of time first: keep the worker for the next one
                        self._release(worker)
                        break
                    self.failures += 1
                    self._discard(worker)
                    # one pair is given up (None), so a checker that cannot start never stalls the batch
                    if pending:
                        pending.popleft()
                    elif groups:
                        groups[0].pop(0)
                        if not groups[0]:
                            groups.popleft()
                    continue
                lanes[worker] = deque()
                if not feed(worker):
                    self.failures += 1
                    drop(worker)
            active = [worker for worker, lane in lanes.items() if lane]
            if not active:
                break
            now = time.monotonic()
            wake = min(min(head_deadline[w] for w in active), batch_deadline)
            buffered = [w for w in active if w.has_line()]
            ready_fds = {w.process.stdout.fileno() for w in buffered}
            if not buffered:
                ready, _, _ = select.select([w.process.stdout.fileno() for w in active], [], [], max(0.0, wake - now))
                ready_fds = set(ready)
            for worker in [w for w in active if w.process.stdout.fileno() in ready_fds]:
                while worker in lanes and lanes[worker]:
                    reply = worker.read_message(head_deadline[worker])
                    if reply is None:
                        self.timeouts += 1
                        drop(worker)
                        break
                    index = lanes[worker].popleft()
                    results[index] = bool(reply.get("match"))
                    if "error" in reply:
                        self.failures += 1
                    if lanes[worker]:
                        head_deadline[worker] = time.monotonic() + bound  # the next queued pair starts now
                    if not feed(worker):
                        self.failures += 1
                        drop(worker)
                        break
                    if not worker.has_line():
                        break
            now = time.monotonic()
            for worker in [w for w, lane in lanes.items() if lane]:
                if now >= head_deadline[worker] or now >= batch_deadline:
                    self.timeouts += 1
                    drop(worker)
            if now >= batch_deadline:
                self.unchecked += len(pending) + sum(len(g) for g in groups) + sum(len(b) for b in backlog.values())
                break
        for worker, lane in list(lanes.items()):
            if lane:
                drop(worker)
            else:
                self._release(worker)
        return results

    def close(self) -> None:
        with self._lock:
            workers, self._all, self._idle = list(self._all), set(), []
        for worker in workers:
            worker.kill()


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
