"""Trainer callbacks: the `metrics.jsonl` log (length curves), the checkpoint's reward state + completeness marker,
and a warning when nearly every completion is cut at the token budget."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

from transformers import TrainerCallback

from rewards.base import stateful_rewards
from rl.data.jsonl import read_jsonl_tolerant
from rl.train.checkpoints import REWARD_STATE_FILE, checkpoint_dir, mark_complete

logger = logging.getLogger("rl.callbacks")


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    try:
        return float(value)  # tensors, numpy scalars
    except (TypeError, ValueError):
        return str(value)


class MetricsJsonl(TrainerCallback):
    """Appends `{"step": ..., **logs}` per logging step; on resume, drops lines past the checkpoint."""

    def __init__(self, path: Path, resume_step: int | None = None) -> None:
        self.path = Path(path)
        self.resume_step = resume_step

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.resume_step is None or not self.path.exists():
            self.path.write_text("")
            return
        records, torn = read_jsonl_tolerant(self.path)
        if torn:
            logger.warning("%s: skipped %d unreadable line(s) (written when the job was killed)", self.path, torn)
        kept = [record for record in records if record.get("step", 0) <= self.resume_step]
        self.path.write_text("".join(json.dumps(record) + "\n" for record in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch}
        record.update({key: _jsonable(value) for key, value in logs.items()})
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class ClippedRatioWarning(TrainerCallback):
    """Warns once when `completions/clipped_ratio` stays above `threshold` for `patience` logging steps in a row.

    A budget so small that nearly every completion is cut teaches nothing: cut completions earn no
    correctness, so every group scores alike and GRPO has no signal. The warning names the key to raise.
    """

    def __init__(self, threshold: float = 0.5, patience: int = 10) -> None:
        self.threshold = threshold
        self.patience = patience
        self.steps_above = 0
        self.warned = False

    def on_log(self, args, state, control, logs=None, **kwargs):
        ratio = (logs or {}).get("completions/clipped_ratio")
        if ratio is None or self.warned:
            return
        self.steps_above = self.steps_above + 1 if float(ratio) > self.threshold else 0
        if self.steps_above >= self.patience and state.is_world_process_zero:
            self.warned = True
            budget = getattr(args, "max_completion_length", None)
            logger.warning(
                "completions/clipped_ratio has stayed above %.2g for %d logging steps (now %.2f): most completions are cut at "
                "trainer.max_completion_length (%s), a cut completion earns no correctness, and little is learned; raise trainer.max_completion_length",
                self.threshold, self.patience, float(ratio), budget,
            )  # fmt: skip


class CheckpointState(TrainerCallback):
    """Owns what a checkpoint holds beyond the trainer's files: reward state, then the completeness marker.

    Restores the reward state of `resume_from` when training begins; after the trainer has written
    each checkpoint, saves the reward state into it and marks it complete; `save_final` does the
    same for the finished run's directory.
    """

    def __init__(self, reward_funcs: list, resume_from: Path | None = None) -> None:
        self.stateful = stateful_rewards(reward_funcs)
        self.resume_from = resume_from

    def on_train_begin(self, args, state, control, **kwargs):
        if self.resume_from is not None:
            restore_reward_state(self.stateful, self.resume_from)

    def on_save(self, args, state, control, **kwargs):
        _wait_for_all_ranks()  # every rank's shards are on disk before the marker says so
        if state.is_world_process_zero:
            checkpoint = checkpoint_dir(Path(args.output_dir), state.global_step)
            if self.stateful:
                save_reward_state(self.stateful, checkpoint)
            mark_complete(checkpoint, state.global_step)
        _wait_for_all_ranks()

    def save_final(self, output_dir: Path) -> None:
        if self.stateful:
            save_reward_state(self.stateful, output_dir)


def _wait_for_all_ranks() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def save_reward_state(stateful: dict, directory: Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {name: function.state_dict() for name, function in stateful.items()}
    temporary = directory / (REWARD_STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(payload))
    temporary.replace(directory / REWARD_STATE_FILE)


def restore_reward_state(stateful: dict, directory: Path) -> list[str]:
    """Restore each stateful reward from `directory`; warns, naming it, for each one with no saved state."""
    path = Path(directory) / REWARD_STATE_FILE
    payload = json.loads(path.read_text()) if path.is_file() else {}
    restored = []
    for name, function in stateful.items():
        if name in payload:
            function.load_state_dict(payload[name])
            restored.append(name)
        else:
            logger.warning(
                "%s has no saved state for reward %r: it restarts from empty state "
                "(for `length`: per-question reference lengths are learned again from this step)", directory, name
            )
    if restored:
        logger.info("reward state restored from %s: %s", directory, ", ".join(restored))
    return restored
