"""Which checkpoint a run resumes from, and whether the run already finished.

A job can be killed at any moment, also while a checkpoint is being written. A checkpoint counts
as *complete* only once `checkpoint_complete.json` is in it: the marker is written last, after the
trainer's own files (weights, optimizer, scheduler, RNG, `trainer_state.json`) and the reward state.

A run finishes in a fixed order: the final model, then the reward state, then `finished.json`
(last). The trainer's last checkpoint (`checkpoint-<max_steps>`) is complete before any of them, so
a run killed in between is told apart from a finished one, and `complete_from_checkpoint` writes
the final artefacts from that checkpoint without training.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import time
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger("rl.checkpoints")
COMPLETE_MARKER = "checkpoint_complete.json"
FINISHED_MARKER = "finished.json"
REWARD_STATE_FILE = "reward_state.json"  # the stateful rewards' state, in each checkpoint and in the finished run
INCOMPLETE_DIR = "incomplete-checkpoints"  # where cut-short checkpoints are moved, out of the trainer's sight
_CHECKPOINT_NAME = re.compile(rf"^{PREFIX_CHECKPOINT_DIR}-(\d+)$")


def checkpoint_dir(output_dir: Path, step: int) -> Path:
    """The directory transformers writes the checkpoint of `step` to."""
    return Path(output_dir) / f"{PREFIX_CHECKPOINT_DIR}-{step}"


def checkpoint_step(path: Path) -> int:
    match = _CHECKPOINT_NAME.match(Path(path).name)
    if match is None:
        raise ValueError(f"not a checkpoint directory name: {path}")
    return int(match.group(1))


def checkpoints(output_dir: Path) -> list[Path]:
    """Checkpoint directories of a run, oldest first."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return []
    found = [p for p in output_dir.iterdir() if p.is_dir() and _CHECKPOINT_NAME.match(p.name)]
    return sorted(found, key=checkpoint_step)


def is_complete(checkpoint: Path) -> bool:
    return (Path(checkpoint) / COMPLETE_MARKER).is_file()


def mark_complete(checkpoint: Path, step: int) -> None:
    """Write the completeness marker; call it after everything else of the checkpoint is on disk."""
    temporary = Path(checkpoint) / (COMPLETE_MARKER + ".tmp")
    temporary.write_text(json.dumps({"step": step, "time": time.time()}))
    temporary.replace(Path(checkpoint) / COMPLETE_MARKER)


def latest_complete_checkpoint(output_dir: Path, move_incomplete: bool = True) -> Path | None:
    """The newest complete checkpoint; newer incomplete ones are skipped with a warning and moved aside.

    Moving them matters: a half-written `checkpoint-N` left in place would be picked by
    transformers' own resume logic and be overwritten (or rotated) by the resumed run.
    """
    for checkpoint in reversed(checkpoints(output_dir)):
        if is_complete(checkpoint):
            return checkpoint
        message = f"{checkpoint} is incomplete (no {COMPLETE_MARKER}: the job was stopped while saving it); skipping it"
        if move_incomplete:
            target = Path(output_dir) / INCOMPLETE_DIR / f"{checkpoint.name}-{int(time.time())}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(checkpoint), str(target))
            message += f", moved to {target}"
        logger.warning(message)
    return None


def mark_finished(output_dir: Path, step: int, max_steps: int) -> None:
    temporary = Path(output_dir) / (FINISHED_MARKER + ".tmp")
    temporary.write_text(json.dumps({"step": step, "max_steps": max_steps, "time": time.time()}))
    temporary.replace(Path(output_dir) / FINISHED_MARKER)


def finished_step(output_dir: Path) -> int | None:
    """The step a run finished at (its final model saved), or None if it has not finished."""
    path = Path(output_dir) / FINISHED_MARKER
    if not path.is_file():
        return None
    try:
        return int(json.loads(path.read_text())["step"])
    except (ValueError, KeyError, TypeError):
        return None  # a torn marker: the run did not get to finish writing it


def resume_only_files() -> set[str]:
    """Files of a checkpoint that only resume training; everything else is what `save_model` writes for the final model."""
    from transformers.trainer import OPTIMIZER_NAME, SCALER_NAME, SCHEDULER_NAME, TRAINER_STATE_NAME

    return {OPTIMIZER_NAME, SCHEDULER_NAME, SCALER_NAME, TRAINER_STATE_NAME, COMPLETE_MARKER, "latest", "zero_to_fp32.py"}


def model_weight_files() -> set[str]:
    from transformers.utils import (
        ADAPTER_SAFE_WEIGHTS_NAME,
        ADAPTER_WEIGHTS_NAME,
        SAFE_WEIGHTS_INDEX_NAME,
        SAFE_WEIGHTS_NAME,
        WEIGHTS_INDEX_NAME,
        WEIGHTS_NAME,
    )

    return {SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME, WEIGHTS_NAME, WEIGHTS_INDEX_NAME, ADAPTER_SAFE_WEIGHTS_NAME, ADAPTER_WEIGHTS_NAME}


def complete_from_checkpoint(checkpoint: Path, output_dir: Path, max_steps: int) -> int:
    """Write a run's final artefacts from its last complete checkpoint, in the finishing order; returns its step.

    For a run killed after `checkpoint-<max_steps>` was complete but before the final model,
    reward state and `finished.json` were: that checkpoint holds the same weights and reward state
    the end of training would have saved. Every top-level file of it is copied except those that
    only resume training (optimizer, scheduler, RNG, trainer state, completeness marker); a copy
    goes through a temporary name, so a kill mid-copy leaves no torn file under the final name.

    Raises:
        FileNotFoundError: the checkpoint holds no consolidated model weights (e.g. DeepSpeed
            ZeRO-3 without `stage3_gather_16bit_weights_on_model_save`).
    """
    checkpoint, output_dir = Path(checkpoint), Path(output_dir)
    skip = resume_only_files()
    files = [p for p in checkpoint.iterdir() if p.is_file() and p.name not in skip and not p.name.startswith("rng_state")]
    if not any(p.name in model_weight_files() for p in files):
        raise FileNotFoundError(f"{checkpoint} holds no model weights to finish the run with")
    reward_state = [p for p in files if p.name == REWARD_STATE_FILE]
    for source in [p for p in files if p.name != REWARD_STATE_FILE] + reward_state:  # the model, then the reward state
        temporary = output_dir / (source.name + ".tmp")
        shutil.copyfile(source, temporary)
        os.replace(temporary, output_dir / source.name)
    step = checkpoint_step(checkpoint)
    mark_finished(output_dir, step, max_steps)
    return step
