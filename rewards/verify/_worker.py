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
    _warm_up()
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


def _warm_up() -> None:
    """Pay sympy's lazy imports (the inequality solver: ~1 s cold) before the first timed check."""
    import sympy

    real = sympy.Symbol("x", real=True)
    (sympy.Abs(real) < 1).as_set()


if __name__ == "__main__":
    main()
