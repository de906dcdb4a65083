"""Trainer callbacks: the `metrics.jsonl` log (length curves) and reward state in every checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path

from transformers import TrainerCallback

REWARD_STATE_FILE = "reward_state.json"


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
        if self.resume_step is None:
            self.path.write_text("")
        elif self.path.exists():
            kept = [line for line in self.path.read_text().splitlines() if line.strip() and json.loads(line).get("step", 0) <= self.resume_step]
            self.path.write_text("".join(line + "\n" for line in kept))

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch}
        record.update({key: _jsonable(value) for key, value in logs.items()})
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")


class RewardState(TrainerCallback):
    """Saves `state_dict()` of stateful reward functions into each checkpoint directory."""

    def __init__(self, reward_funcs: list) -> None:
        self.stateful = {f.__name__: f for f in reward_funcs if hasattr(f, "state_dict")}

    def on_save(self, args, state, control, **kwargs):
        if not self.stateful or not state.is_world_process_zero:
            return
        checkpoint = Path(args.output_dir) / f"checkpoint-{state.global_step}"
        save_reward_state(self.stateful, checkpoint)


def save_reward_state(stateful: dict, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    payload = {name: function.state_dict() for name, function in stateful.items()}
    temporary = directory / (REWARD_STATE_FILE + ".tmp")
    temporary.write_text(json.dumps(payload))
    temporary.replace(directory / REWARD_STATE_FILE)


def load_reward_state(reward_funcs: list, directory: Path) -> list[str]:
    """Restore reward state saved in `directory`; returns the names restored."""
    path = Path(directory) / REWARD_STATE_FILE
    if not path.is_file():
        return []
    payload = json.loads(path.read_text())
    restored = []
    for function in reward_funcs:
        if function.__name__ in payload and hasattr(function, "load_state_dict"):
            function.load_state_dict(payload[function.__name__])
            restored.append(function.__name__)
    return restored
