"""A real training run killed (SIGKILL) while writing a checkpoint, or after its last one, comes back with `--resume`;
a second launch on a live run's directory is refused."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from launchers import KILLING_LAUNCHER  # tests/integration/ is on sys.path under pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
pytestmark = pytest.mark.integration



def rl_train(args: list[str], env_extra: dict | None = None, launcher: str | None = None) -> subprocess.CompletedProcess:
    import os

    command = [sys.executable, "-c", launcher, *args] if launcher else [sys.executable, "-m", "rl", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=400, env={**os.environ, **(env_extra or {})})


def killed_pid(killed: subprocess.CompletedProcess) -> int:
    line = next(line for line in killed.stderr.splitlines() if "run lock " in line and "held by rank 0 (pid" in line)
    return int(line.split("held by rank 0 (pid ", 1)[1].split(")", 1)[0])


def metric_steps(run: Path) -> list[int]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [row["step"] for row in rows if "completions/mean_length" in row]


def test_kill_during_a_checkpoint_save_then_resume_continues_from_the_previous_complete_one(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}", "--set", f"model.cache_dir={tmp_path / 'cache'}",
            "--set", "trainer.max_steps=4", "--set", "trainer.save_steps=2"]  # fmt: skip

    killed = rl_train(args, {"KILL_AT_STEP": "4"}, launcher=KILLING_LAUNCHER)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (run / "run.lock").is_file()  # left by the kill: stale, its process is gone
    assert (run / "checkpoint-4").is_dir() and not (run / "checkpoint-4" / "trainer_state.json").exists()
    assert (run / "checkpoint-2" / "checkpoint_complete.json").is_file()
    saved_calls = json.loads((run / "checkpoint-2" / "reward_state.json").read_text())["length"]["calls"]
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "loss": 0.1')  # a line torn by the kill

    resumed = rl_train([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"took over the lock of pid {killed_pid(killed)}" in resumed.stderr
    assert not (run / "run.lock").exists() and not (run / "run.lock.json").exists()
    assert "checkpoint-4 is incomplete" in resumed.stderr and "moved to" in resumed.stderr
    assert "resuming from" in resumed.stderr and "checkpoint-2 (step 2)" in resumed.stderr
    assert "skipped 1 unreadable line" in resumed.stderr
    assert "reward state restored" in resumed.stderr
    assert metric_steps(run) == [1, 2, 3, 4]
    assert (run / "model.safetensors").is_file() and (run / "finished.json").is_file()
    final_calls = json.loads((run / "reward_state.json").read_text())["length"]["calls"]
    assert final_calls == 2 * saved_calls  # steps 1-2 restored + steps 3-4; without the restore, half
    assert json.loads((run / "checkpoint-4" / "trainer_state.json").read_text())["global_step"] == 4
    assert list((run / "incomplete-checkpoints").iterdir())

    again = rl_train([*args, "--resume"])
    assert again.returncode == 0 and "already finished at step 4" in again.stdout
    assert not (run / "checkpoint-5").exists() and metric_steps(run) == [1, 2, 3, 4]

    both = rl_train([*args, "--resume", "--overwrite"])
    assert both.returncode == 2 and "Traceback" not in both.stderr
    assert both.stderr.strip().splitlines()[-1].startswith("error: --resume and --overwrite")


# Runs `python -m rl train`, but SIGKILLs itself when the final model is about to be saved: after the
# last checkpoint is complete, before the final model, reward state and finished.json.
KILLED_AT_THE_END = textwrap.dedent(
    """
    import os, signal, sys
    import transformers

    original = transformers.Trainer.save_model

    def die_before_the_final_save(self, output_dir=None, _internal_call=False):
        if not _internal_call:  # checkpoints save with _internal_call=True; the final model without
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, output_dir, _internal_call)

    transformers.Trainer.save_model = die_before_the_final_save
    from rl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_run_killed_after_its_last_checkpoint_is_completed_by_resume_without_training(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}", "--set", f"model.cache_dir={tmp_path / 'cache'}",
            "--set", "trainer.save_steps=2"]  # fmt: skip

    killed = rl_train(args, launcher=KILLED_AT_THE_END)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (run / "checkpoint-2" / "checkpoint_complete.json").is_file()
    assert not (run / "model.safetensors").exists() and not (run / "finished.json").exists()
    assert not (run / "reward_state.json").exists()
    metrics_before = (run / "metrics.jsonl").read_text()

    resumed = rl_train([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "finished at step 2: the run was stopped after checkpoint-2 but before its final model" in resumed.stdout
    assert "trained nothing" in resumed.stdout
    assert "resuming from" not in resumed.stderr and "took over the lock" in resumed.stderr
    assert json.loads((run / "finished.json").read_text())["step"] == 2
    assert (run / "model.safetensors").read_bytes() == (run / "checkpoint-2" / "model.safetensors").read_bytes()
    assert (run / "reward_state.json").read_text() == (run / "checkpoint-2" / "reward_state.json").read_text()
    assert not (run / "optimizer.pt").exists() and not (run / "trainer_state.json").exists()
    assert (run / "metrics.jsonl").read_text() == metrics_before and not (run / "checkpoint-3").exists()

    evaluated = subprocess.run(
        [sys.executable, "-m", "rl", "eval", "--config", str(SMOKE), "--model", str(run), "--limit", "2", "--max-new-tokens", "8"],
        capture_output=True, text=True, cwd=ROOT, timeout=300,
    )  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    assert (run / "eval" / "summary.json").is_file()


# Runs `python -m rl train`, but holds still after logging step 1 until the file $GATE exists.
PAUSING_LAUNCHER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import rl.train.callbacks

    gate = Path(os.environ["GATE"])
    original = rl.train.callbacks.MetricsJsonl.on_log

    def log_then_wait(self, args, state, control, logs=None, **kwargs):
        original(self, args, state, control, logs=logs, **kwargs)
        deadline = time.monotonic() + 300
        while state.global_step == 1 and not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.2)

    rl.train.callbacks.MetricsJsonl.on_log = log_then_wait
    from rl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def test_a_second_launch_on_a_live_run_is_refused_while_the_first_finishes(tmp_path):
    import os
    import time

    run, gate = tmp_path / "run", tmp_path / "gate"
    args = ["train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}", "--set", f"model.cache_dir={tmp_path / 'cache'}",
            "--set", "trainer.max_steps=3"]  # fmt: skip
    first = subprocess.Popen(
        [sys.executable, "-c", PAUSING_LAUNCHER, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env={**os.environ, "GATE": str(gate)},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while first.poll() is None and time.monotonic() < deadline and not metric_steps_or_none(run):
            time.sleep(0.5)
        assert first.poll() is None, "the first run ended before the second launch"
        second = rl_train(args)  # --resume and --overwrite meet the same refusal: tests/rl/train/test_run_lock.py
        errors = [line for line in second.stderr.splitlines() if line.startswith("error:")]
        assert second.returncode == 2 and "Traceback" not in second.stderr, second.stderr[-2000:]
        assert len(errors) == 1 and f"is in use by a live run: pid {first.pid} on" in errors[0], second.stderr[-2000:]
        gate.touch()
        out, err = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err[-3000:]
    assert metric_steps(run) == [1, 2, 3]  # written once, by the first run only
    assert (run / "finished.json").is_file() and not (run / "run.lock").exists()


def metric_steps_or_none(run: Path) -> list[int] | None:
    try:
        return metric_steps(run)
    except (OSError, ValueError):
        return None
