"""Resume can tell a finished run from one killed between its last checkpoint and its final model."""

import json
from pathlib import Path

import pytest

from rl.train.checkpoints import complete_from_checkpoint, finished_step, mark_complete
from rl.train.train import AlreadyFinished, resume_point


def fake_checkpoint(run: Path, step: int, weights: bool = True) -> Path:
    """A complete checkpoint as the trainer and CheckpointState leave it (contents are placeholders)."""
    checkpoint = run / f"checkpoint-{step}"
    checkpoint.mkdir(parents=True)
    files = {"config.json": "{}", "tokenizer.json": "{}", "training_args.bin": "args", "reward_state.json": '{"length": {"calls": 2}}',
             "optimizer.pt": "opt", "scheduler.pt": "sched", "rng_state.pth": "rng", "trainer_state.json": "{}"}  # fmt: skip
    if weights:
        files["model.safetensors"] = "weights"
    for name, content in files.items():
        (checkpoint / name).write_text(content)
    mark_complete(checkpoint, step)
    return checkpoint


def test_complete_from_checkpoint_writes_the_final_model_reward_state_then_finished(tmp_path):
    checkpoint = fake_checkpoint(tmp_path, 4)
    assert complete_from_checkpoint(checkpoint, tmp_path, max_steps=4) == 4
    top = {p.name for p in tmp_path.iterdir() if p.is_file()}
    assert top == {"config.json", "tokenizer.json", "training_args.bin", "reward_state.json", "model.safetensors", "finished.json"}
    assert (tmp_path / "model.safetensors").read_text() == "weights"
    assert finished_step(tmp_path) == 4 and json.loads((tmp_path / "finished.json").read_text())["max_steps"] == 4


def test_a_checkpoint_without_weights_cannot_finish_a_run(tmp_path):
    checkpoint = fake_checkpoint(tmp_path, 4, weights=False)
    with pytest.raises(FileNotFoundError, match="holds no model weights"):
        complete_from_checkpoint(checkpoint, tmp_path, max_steps=4)
    assert finished_step(tmp_path) is None


def test_resume_of_a_run_killed_after_its_last_checkpoint_completes_it_and_says_so(tmp_path):
    fake_checkpoint(tmp_path, 2)
    fake_checkpoint(tmp_path, 4)
    with pytest.raises(AlreadyFinished, match="finished at step 4: the run was stopped after checkpoint-4 but before its final model"):
        resume_point(tmp_path, max_steps=4, resume=True, overwrite=False)
    assert finished_step(tmp_path) == 4 and (tmp_path / "model.safetensors").is_file()
    with pytest.raises(AlreadyFinished, match="already finished at step 4"):
        resume_point(tmp_path, max_steps=4, resume=True, overwrite=False)


def test_resume_of_a_run_short_of_its_last_step_continues_from_its_checkpoint(tmp_path):
    checkpoint = fake_checkpoint(tmp_path, 2)
    assert resume_point(tmp_path, max_steps=4, resume=True, overwrite=False) == checkpoint
    assert finished_step(tmp_path) is None and not (tmp_path / "model.safetensors").exists()


def test_overwrite_keeps_only_the_lock_of_the_run_that_holds_it(tmp_path):
    fake_checkpoint(tmp_path, 2)
    (tmp_path / "metrics.jsonl").write_text("{}\n")
    (tmp_path / "run.lock").write_text("held by this run\n")
    (tmp_path / "run.lock.json").write_text("{}")
    assert resume_point(tmp_path, max_steps=4, resume=False, overwrite=True) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.lock", "run.lock.json"]
