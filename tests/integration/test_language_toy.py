"""The language suite at toy size, for real: a mixing warm start from the shipped base, then GRPO with and
without `language`; the language reward's mean rises in the run that pays it.

Measured on 2 CPU cores (seed 0): the warm start concludes about half its guesses in Chinese (training
consistency 0.56 at step 1); with `language` the mean is 1.0 from step 3 on, without it it drifts to ~0.1.
"""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def language_means(run_dir: Path) -> list[float]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [row["rewards/language/mean"] for row in rows if "rewards/language/mean" in row]


def test_toy_language_suite_raises_the_language_reward(tmp_path, toy_demo):
    out = tmp_path / "language"
    result = toy_demo(out, "--suite", "language")
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((out / "report.json").read_text())
    assert set(report["runs"]) == {"warm_start", "correctness_format", "with_language"}
    assert report["runs"]["warm_start"]["wall_seconds"]["train"] is not None  # the mixing SFT ran here
    stacks = {name: report["runs"][name]["rewards"] for name in ("correctness_format", "with_language")}
    assert stacks["correctness_format"]["language"]["weight"] == 0.0 and stacks["with_language"]["language"]["weight"] == 0.5
    assert {name: spec for name, spec in stacks["with_language"].items() if name != "language"} == {
        name: spec for name, spec in stacks["correctness_format"].items() if name != "language"
    }
    paid = language_means(out / "with_language")
    assert len(paid) == report["shared_settings"]["trainer"]["max_steps"]
    first, last = paid[0], sum(paid[-3:]) / 3
    assert first < 0.8, f"the toy warm start should mix: language mean {first:.2f} at step 1"
    assert last >= max(first + 0.25, 0.9), f"language mean {first:.2f} -> {last:.2f}: {[round(v, 2) for v in paid]}"
    assert (out / "language.png").stat().st_size > 10_000
