"""Warm start: teach the tiny model the R1-Zero format and three reasoning modes with TRL's SFTTrainer.

This stands in for pretraining: R1-Zero starts RL from a base model that already reasons a little.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from rl.config.prompts import R1_ZERO
from rl.data.tasks import guess_trace, reasoning_trace

WARM_START_LEARNING_RATE = 2e-3  # from scratch: far above a fine-tune's rate


@dataclass
class TraceMix:
    """The warm start's reasoning modes and their shares (they must sum to 1).

    `guess`: the answer first, no steps, right `guess_accuracy` of the time. `derive`: the steps, then
    the answer. `recheck`: the steps, then 1..`max_rechecks` redundant "Let me double-check" passes.
    Derivations are made the minority of their own kind on purpose: correctness alone rewards any
    derivation over a guess, so R1-Zero keeps the warm start's preference for re-checking (reasoning
    grows), and only a length reward moves the policy to the plain derivation.
    """

    guess_share: float = 0.5
    derive_share: float = 0.1
    recheck_share: float = 0.4
    guess_accuracy: float = 0.2
    min_rechecks: int = 2
    max_rechecks: int = 3
    wrong_share: float = 0.0  # derivations whose arithmetic slips once (wrong final answer)
    traces_per_question: int = 4

    def __post_init__(self) -> None:
        shares = (self.guess_share, self.derive_share, self.recheck_share)
        if min(shares) < 0 or abs(sum(shares) - 1.0) > 1e-9:
            raise ValueError(f"mode shares must be >= 0 and sum to 1, got {shares}")
        if not 1 <= self.min_rechecks <= self.max_rechecks:
            raise ValueError(f"need 1 <= min_rechecks <= max_rechecks, got {self.min_rechecks}, {self.max_rechecks}")

    def trace(self, question: str, rng: random.Random) -> tuple[str, str, str]:
        """(mode, completion text after the prompt's `<think>`, final answer) of one sampled trace."""
        draw = rng.random()
        if draw < self.guess_share:
            return ("guess", *guess_trace(question, self.guess_accuracy, rng))
        wrong = rng.random() < self.wrong_share
        if draw < self.guess_share + self.derive_share:
            return ("derive", *reasoning_trace(question, 0, wrong, rng))
        return ("recheck", *reasoning_trace(question, rng.randint(self.min_rechecks, self.max_rechecks), wrong, rng))


def sft_rows(questions: list[dict], mix: TraceMix, seed: int) -> list[dict]:
    """Prompt-completion rows (TRL's format; loss on the completion only), each tagged with its mode."""
    rng = random.Random(seed)
    rows = []
    for question in questions:
        for _ in range(mix.traces_per_question):
            mode, completion, _ = mix.trace(question["question"], rng)
            rows.append({"prompt": R1_ZERO.replace("{question}", question["question"]), "completion": completion, "mode": mode})
    rng.shuffle(rows)
    return rows


def warm_start(model_path: str, rows: list[dict], output_dir: Path, max_steps: int, seed: int, batch_size: int = 32) -> Path:
    """The demo's warm start: SFT from scratch at a high learning rate (`rl.train.sft.fine_tune`); returns the model dir."""
    from rl.train.sft import fine_tune

    return fine_tune(model_path, rows, output_dir, max_steps, seed, batch_size, learning_rate=WARM_START_LEARNING_RATE,
                     activation_checkpointing=False)  # fmt: skip
