"""Shared by the integration tests: running a demo suite at toy size as a user would (`python -m rl demo --toy`)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_toy(out: Path, *extra: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m rl demo --toy --out OUT EXTRA...` from the checkout, `tiny:` models cached beside `out`."""
    return subprocess.run(
        [sys.executable, "-m", "rl", "demo", "--toy", "--out", str(out), *extra, "--set", f"model.cache_dir={out.parent / 'cache'}"],
        capture_output=True, text=True, cwd=ROOT, timeout=timeout,
    )  # fmt: skip


@pytest.fixture
def toy_demo():
    """`run_toy`, for tests that run a demo suite at toy size."""
    return run_toy
