"""Entry point of the answer-checker processes: a warm template ("zygote") that forks checker workers.

Run as `python -m rewards.verify._worker --zygote FD` by `rewards.verify.sandbox`: the zygote imports
sympy and latex2sympy and warms their caches once (~2 s of CPU), then forks one worker per request
received on the Unix socket `FD`. A forked worker starts in milliseconds, already warm, so a worker
killed for overrunning its time bound is replaced without a cold start competing with the checks still
running. Each worker speaks JSON lines over the two pipes it was handed; it exits when its request
pipe closes (its parent closed it or died).
"""

from __future__ import annotations

import gc
import json
import os
import socket
import sys
from typing import BinaryIO


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    """Answer `{"pred", "gold", "tolerance"}` lines with `{"match": bool}` (plus `"error"`) lines until EOF."""
    from rewards.verify.compare import equivalent
    from rewards.verify.normalize import Tolerance

    for line in requests:
        request = json.loads(line)
        try:
            match = bool(equivalent(request["pred"], request["gold"], Tolerance(**request.get("tolerance", {}))))
            reply = {"match": match}
        except Exception as error:  # noqa: BLE001 - the worker reports, the parent decides
            reply = {"match": False, "error": f"{type(error).__name__}: {str(error)[:200]}"}
        replies.write((json.dumps(reply) + "\n").encode())
        replies.flush()


# One check of each kind the parser knows (numbers, expressions, trig in degrees, complex numbers,
# equations, tuples, sets, intervals, inequalities, matrices, approximations): sympy and latex2sympy
# import and cache lazily, so a cold process's first check of a kind costs up to ~1 s more than its
# next. Paid once, in the zygote, before it reports ready; every worker forked from it inherits the
# warm caches, so a worker that replaces a killed one is not cold for any kind (a cold replacement
# under load could overrun its bound on an ordinary answer, and then so could its replacement).
_WARM_UP_CHECKS = (
    (r"\frac{x}{2} + \sqrt{4}", r"\frac{x+4}{2}"),
    (r"\sec^2(y)", r"\tan^2(y)+1"),
    (r"\sin(30^\circ)", r"\frac12"),
    (r"\frac{1+i}{1-i}", "i"),
    (r"(1, \frac{1}{2})", r"y = (1, 0.5)"),
    (r"(3, 2)", r"(p,q)=(3,2)"),
    (r"2x + 3y = 1", r"-4x - 6y + 2 = 0"),
    (r"\{3, 1, 2\}", r"\{1,2,3\}"),
    (r"[0, 1)", r"(0, 1]"),
    (r"1 \le |x| \le 2", r"[-2, -1] \cup [1, 2]"),
    (r"-2 \le x \le 7", r"x \in [-2,7]"),
    (r"\begin{pmatrix}0.5&2\\3&4\end{pmatrix}", r"\begin{bmatrix}\frac12&2\\3&4\end{bmatrix}"),
    (r"10^{-700}", r"1\times 10^{-700}"),
    (r"x\approx11", "11"),
    ("12 meters", "12"),
)


def _warm_up() -> None:
    from rewards.verify.compare import equivalent

    for pred, gold in _WARM_UP_CHECKS:
        equivalent(pred, gold)
    # Objects alive now are never collected in a worker: without this, a forked worker's first full
    # collection walks (and so copies) the whole inherited heap, ~0.1 s on an idle core.
    gc.collect()
    gc.freeze()


def _reap() -> None:
    """Collect exited workers (zombies) without blocking."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def zygote(control_fd: int) -> None:
    """Warm up, say `ready`, then fork a worker for each request on the control socket until it closes.

    A request is one byte with two file descriptors attached (the worker's request-pipe read end and
    reply-pipe write end). The reply is the worker's pid and a newline, with a pidfd attached where
    the platform has one (Linux >= 5.3): the parent signals through it, so a pid reused after the
    worker exited is never killed by mistake. The pidfd is opened before this process reaps anything.
    """
    sys.setrecursionlimit(3000)
    _warm_up()
    control = socket.socket(fileno=control_fd)
    control.sendall(b"ready\n")
    while True:
        _reap()
        try:
            message, fds, _, _ = socket.recv_fds(control, 16, 2)
        except OSError:
            return
        if not message:
            return  # the parent closed its end or died
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            continue
        request_fd, reply_fd = fds
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                control.close()
                with os.fdopen(request_fd, "rb") as requests, os.fdopen(reply_fd, "wb", buffering=0) as replies:
                    serve(requests, replies)
            except BaseException:  # noqa: BLE001 - a worker never returns into the zygote's loop
                status = 1
            finally:
                os._exit(status)
        os.close(request_fd)
        os.close(reply_fd)
        pidfd = _pidfd(pid)
        try:
            socket.send_fds(control, [f"{pid}\n".encode()], [pidfd] if pidfd is not None else [])
        except OSError:
            return
        finally:
            if pidfd is not None:
                os.close(pidfd)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel older than 5.3
        return None


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--zygote":
        sys.exit("usage: python -m rewards.verify._worker --zygote CONTROL_FD")
    zygote(int(sys.argv[2]))
