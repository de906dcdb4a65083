"""Which checkpoint a run resumes from, and whether the run already finished.

A job can be killed at any moment, also while a checkpoint is being written. A checkpoint counts
as *complete* only once `checkpoint_complete.json` is in it: the marker is written last, after the
trainer's own files (weights, optimizer, scheduler, RNG, `trainer_state.json`) and the reward state.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from pathlib import Path

from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR

logger = logging.getLogger("rl.checkpoints")
COMPLETE_MARKER = "checkpoint_complete.json"
FINISHED_MARKER = "finished.json"
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
