"""JSON-lines files: read strictly (line numbers in errors), read tolerating a line torn by a kill, written whole.

`metrics.jsonl` and `labels.partial.jsonl` are appended by jobs that can be killed mid-line; datasets
a user hands in (`--labels`) are read strictly.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def read_jsonl(path: Path) -> list[tuple[int, object]]:
    """(line number from 1, value) of every non-empty line of a JSON-lines file.

    Raises:
        ValueError: `line N is not JSON (why)`, for the first line that is not.
    """
    records = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise ValueError(f"line {number} is not JSON ({error.msg})") from None
    return records


def write_jsonl(path: Path, records: Iterable[object]) -> None:
    """One JSON value per line, written through a temporary name: the file is complete or absent, never torn."""
    path = Path(path)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text("".join(json.dumps(record) + "\n" for record in records))
    temporary.replace(path)


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
