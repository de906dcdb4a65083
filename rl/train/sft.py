"""Supervised fine-tuning on prompt-completion rows with TRL's `SFTTrainer` (loss on the completion only).

Shared by the demo's warm start and `rl distill`; resumes from its own last complete checkpoint.
"""

from __future__ import annotations

import warnings
from pathlib import Path

# The schedule every fine-tune uses (part of the demo base's recipe, `rl.demo.base`).
SFT_SCHEDULE = {"lr_scheduler_type": "cosine", "warmup_fraction": 0.05, "weight_decay": 0.01}


def fine_tune(
    model_path: str, rows: list[dict], output_dir: Path, max_steps: int, seed: int, batch_size: int = 32,
    learning_rate: float = 2e-5, max_length: int = 1024, activation_checkpointing: bool = True,
) -> Path:  # fmt: skip
    """Fine-tune on `rows` (`prompt`, `completion`); returns `output_dir/model`.

    `activation_checkpointing` (TRL's default: on) recomputes activations in the backward pass to save
    accelerator memory; the demo's tiny CPU models turn it off, which only skips that extra forward
    (the weights come out the same).
    """
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    from rl.train.callbacks import CheckpointState
    from rl.train.checkpoints import latest_complete_checkpoint

    args = SFTConfig(
        output_dir=str(output_dir),
        max_steps=max_steps,
        per_device_train_batch_size=batch_size,
        learning_rate=learning_rate,
        lr_scheduler_type=SFT_SCHEDULE["lr_scheduler_type"],
        warmup_steps=max(1, int(max_steps * SFT_SCHEDULE["warmup_fraction"])),
        weight_decay=SFT_SCHEDULE["weight_decay"],
        logging_steps=max(1, max_steps // 20),
        save_steps=max(1, max_steps // 4),
        save_total_limit=1,
        max_length=max_length,
        activation_checkpointing=activation_checkpointing,
        bf16=False,
        report_to="none",
        seed=seed,
        disable_tqdm=False,
    )
    dataset = Dataset.from_list([{key: row[key] for key in ("prompt", "completion")} for row in rows])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        trainer = SFTTrainer(model=model_path, args=args, callbacks=[CheckpointState([])], train_dataset=dataset)
    checkpoint = latest_complete_checkpoint(output_dir)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    final = Path(output_dir) / "model"
    trainer.save_model(str(final))
    return final
