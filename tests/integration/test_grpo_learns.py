"""The loop learns: real GRPO on the tiny model raises a simple reward within a few steps.

Fails if rewards are scored against the wrong completions (the reward would be noise to the policy),
if the optimiser does not step, or if advantages do not reach the loss. Measured on 2 CPU cores: the
mean reward goes 0.25 -> ~0.6 in 12 steps; with each step's rewards shuffled across completions it
stays at ~0.22 (0.25 -> 0.22), so the margin below separates the two.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

import rewards
from rewards.base import RewardComponent
from rl.config import validate
from rl.train.train import train

pytestmark = pytest.mark.integration
STEPS = 12
MARGIN = 0.15  # mean reward of the last 3 steps over the first 3


@dataclass
class DigitShareParams:
    pass


class DigitShare(RewardComponent):
    """Share of the completion's characters that are digits: learnable from scratch in a few steps."""

    Params = DigitShareParams

    def score(self, analysis, columns):
        return [sum(c.isdigit() for c in text) / max(len(text), 1) for text in analysis.texts]


def test_grpo_raises_the_mean_training_reward(tmp_path):
    rewards.register("digit_share_test", DigitShare, replace=True)
    try:
        config = validate({
            "model": {"name_or_path": "tiny:test", "cache_dir": str(tmp_path / "cache")},
            "data": {"source": "generated:arithmetic", "generated": {"train_size": 64, "test_size": 4}},
            "rewards": {"digit_share_test": {"weight": 1.0}},
            "trainer": {"output_dir": str(tmp_path / "run"), "max_steps": STEPS, "per_device_train_batch_size": 16,
                        "num_generations": 8, "max_completion_length": 12, "learning_rate": 5e-2, "temperature": 1.0,
                        "beta": 0.0, "logging_steps": 1, "save_steps": 100, "seed": 0, "report_to": "none"},
        })  # fmt: skip
        run = train(config)
    finally:
        rewards.REGISTRY.pop("digit_share_test", None)
    rows = [json.loads(line) for line in (Path(run) / "metrics.jsonl").read_text().splitlines() if line.strip()]
    curve = [row["reward"] for row in rows if "reward" in row]
    assert len(curve) == STEPS
    first, last = sum(curve[:3]) / 3, sum(curve[-3:]) / 3
    assert last - first >= MARGIN, f"mean reward {first:.3f} -> {last:.3f} over {STEPS} steps: {[round(r, 3) for r in curve]}"
