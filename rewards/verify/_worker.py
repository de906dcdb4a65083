"""Entry point of the answer-checker worker process: JSON lines in, JSON lines out.

Run as `python -m rewards.verify._worker`; the parent kills it when a check overruns its time bound.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from rewards.verify.compare import equivalent  # imported here so startup cost is paid once, in the child
    from rewards.verify.normalize import Tolerance

    sys.setrecursionlimit(3000)
    _warm_up(equivalent)
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            match = bool(equivalent(request["pred"], request["gold"], Tolerance(**request.get("tolerance", {}))))
            reply = {"match": match}
        except Exception as error:  # noqa: BLE001 - the worker reports, the parent decides
            reply = {"match": False, "error": f"{type(error).__name__}: {str(error)[:200]}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


# One check of each common kind: sympy and latex2sympy import and cache lazily, so a cold worker's
# first check of a kind costs up to ~1 s more than its next. Paid here, before the worker reports
# ready (start-up has its own bound), not inside a check's time bound: a worker that replaces a
# killed one must not time out on its first ordinary answer.
_WARM_UP_CHECKS = (
    (r"\frac{x}{2} + \sqrt{4}", r"\frac{x+4}{2}"),
    (r"(1, \frac{1}{2})", r"y = (1, 0.5)"),
    (r"2x + 3y = 1", r"-4x - 6y + 2 = 0"),
    (r"1 \le |x| \le 2", r"[-2, -1] \cup [1, 2]"),
)


def _warm_up(equivalent) -> None:
    for pred, gold in _WARM_UP_CHECKS:
        equivalent(pred, gold)


if __name__ == "__main__":
    main()
