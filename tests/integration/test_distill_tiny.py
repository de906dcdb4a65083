"""`rl distill` end to end on the tiny model: samples graded, selection written, SFT run, rerun reuses the samples."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def test_distill_on_the_tiny_model(tmp_path):
    out = tmp_path / "distill"
    command = [
        sys.executable, "-m", "rl", "distill", "--config", "demo/smoke", "--model", "tiny:test", "--out", str(out),
        "--set", f"model.cache_dir={tmp_path / 'cache'}", "--set", "distill.samples=3", "--set", "distill.limit=6",
        "--set", "distill.sft_steps=2", "--set", "distill.batch_size=2", "--set", "distill.max_new_tokens=16",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    per_question = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(per_question) == 6 and all(len(samples) == 3 for samples in per_question)
    if not any(s["correct"] for samples in per_question for s in samples):
        # An untrained model rarely answers right: then nothing is kept, and the run says so.
        assert result.returncode == 2 and "no training question has a correct sample" in result.stderr
        samples = per_question
        for question in samples:  # mark one right to exercise selection + SFT on the same files
            question[0]["correct"] = True
        (out / "samples.jsonl").write_text("".join(json.dumps(q) + "\n" for q in samples))
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "reusing 6 questions' samples" in result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["selection"]["kept_samples"] >= 1
    kept = [json.loads(line) for line in (out / "selected.jsonl").read_text().splitlines()]
    assert len(kept) == summary["selection"]["kept_samples"]
    assert (Path(summary["model"]) / "config.json").is_file()
