"""Entry point of the answer-checker worker process: JSON lines in, JSON lines out.

Run as `python -m rewards.verify._worker`; the parent kills it when a check overruns its time bound.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    from rewards.verify.symbolic import equivalent  # imported here so startup cost is paid once, in the child

    sys.setrecursionlimit(3000)
    out = sys.stdout
    out.write('{"ready": true}\n')
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        try:
            match = bool(equivalent(request["pred"], request["gold"], request.get("precision")))
            reply = {"match": match}
        except Exception as error:  # noqa: BLE001 - the worker reports, the parent decides
            reply = {"match": False, "error": f"{type(error).__name__}: {str(error)[:200]}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
