"""Warm start: teach the tiny model the R1-Zero format (and to overthink and err) with TRL's SFTTrainer.

This stands in for pretraining: R1-Zero starts RL from a base model that already reasons a little.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from rl.prompts import R1_ZERO
from rl.tasks import reasoning_trace


@dataclass
class TraceMix:
    """How the warm-start traces vary: redundant double-check passes and a share of slips."""

    max_double_checks: int = 4  # each trace gets 0..max of them, uniformly
    wrong_share: float = 0.2  # traces whose arithmetic slips once (wrong final answer)
    traces_per_question: int = 4


def sft_rows(questions: list[dict], mix: TraceMix, seed: int) -> list[dict]:
    """Prompt-completion rows (TRL's format; loss on the completion only)."""
    rng = random.Random(seed)
    rows = []
    for question in questions:
        for _ in range(mix.traces_per_question):
            completion, _ = reasoning_trace(
                question["question"], rng.randint(0, mix.max_double_checks), rng.random() < mix.wrong_share, rng
            )
            rows.append({"prompt": R1_ZERO.replace("{question}", question["question"]), "completion": completion})
    rng.shuffle(rows)
    return rows


def warm_start(model_path: str, rows: list[dict], output_dir: Path, max_steps: int, seed: int, batch_size: int = 32) -> Path:
    """Run SFT, resuming from its own checkpoint if interrupted; returns the saved model directory."""
    import warnings

    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rl.train import last_checkpoint

    args = SFTConfig(
        output_dir=str(output_dir),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=2e-3,
        lr_scheduler_type="cosine",
        warmup_steps=max(1, max_steps // 20),
        weight_decay=0.01,
        logging_steps=max(1, max_steps // 20),
        save_steps=max(1, max_steps // 4),
        save_total_limit=1,
        max_length=512,
        bf16=False,
        report_to="none",
        seed=seed,
        disable_tqdm=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer = SFTTrainer(model=model_path, args=args, train_dataset=Dataset.from_list(rows))
    checkpoint = last_checkpoint(output_dir)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    final = output_dir / "model"
    trainer.save_model(str(final))
    return final
