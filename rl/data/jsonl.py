"""JSON-lines files written by a job that can be killed mid-line (`metrics.jsonl`)."""

from __future__ import annotations

import json
from pathlib import Path


def read_jsonl_tolerant(path: Path) -> tuple[list[dict], int]:
    """Records of a JSON-lines file and the number of unreadable lines (a line torn by a kill mid-write)."""
    records, torn = [], 0
    for line in Path(path).read_text(errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            torn += 1
    return records, torn
