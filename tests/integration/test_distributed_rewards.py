"""Stateful rewards across 2 CPU processes (gloo): the same scores and state as one process."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from dist_length_worker import score_all  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_two_process_gather_equals_single_process(tmp_path):
    out = tmp_path / "result"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
         str(Path(__file__).parent / "dist_length_worker.py"), str(out)],
        check=True, env=env, cwd=ROOT, timeout=300, capture_output=True,
    )  # fmt: skip
    ranks = [json.loads(Path(f"{out}.rank{rank}.json").read_text()) for rank in (0, 1)]
    single = score_all(rank=0, world=1)
    assert ranks[0]["state"] == ranks[1]["state"] == single["state"]
    for step, single_scores in enumerate(single["scores"]):
        for component, expected in enumerate(single_scores):
            assert ranks[0]["scores"][step][component] + ranks[1]["scores"][step][component] == expected
    assert any(score < 0 for step in single["scores"] for score in step[0])  # the penalty was exercised
