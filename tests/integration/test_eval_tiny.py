"""`rl eval` end to end on the tiny model: samples.jsonl and summary.json with the promised metrics."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_eval_on_the_tiny_model_writes_samples_and_summary(tmp_path):
    out = tmp_path / "eval"
    result = subprocess.run(
        [sys.executable, "-m", "rl", "eval", "--model", "tiny:test", "--config", str(ROOT / "configs/demo/smoke.yaml"),
         "--set", f"model.cache_dir={tmp_path / 'cache'}", "--samples", "3", "--limit", "4", "--max-new-tokens", "16",
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    samples = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(samples) == 4 * 3
    assert {"id", "completion", "answer", "correct", "tokens"} <= set(samples[0])
    assert all(0 < s["tokens"] <= 16 for s in samples)
    summary = json.loads((out / "summary.json").read_text())
    for key in ("pass@1", "pass@3", "maj@3", "mean_tokens", "mean_tokens_correct", "mean_tokens_incorrect",
                "format_rate", "language_consistency", "accuracy_by_length_quintile"):  # fmt: skip
        assert key in summary, key
    assert summary["questions"] == 4 and summary["samples_per_question"] == 3
    assert summary["mean_tokens"] == pytest.approx(sum(s["tokens"] for s in samples) / 12)


def test_eval_refuses_greedy_with_several_samples(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "rl", "eval", "--model", "tiny:test", "--config", str(ROOT / "configs/demo/smoke.yaml"),
         "--greedy", "--samples", "4"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2 and "--greedy" in result.stderr
