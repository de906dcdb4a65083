"""A real training run killed (SIGKILL) while writing a checkpoint comes back with `--resume`."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
pytestmark = pytest.mark.integration

# Runs `python -m rl train`, but SIGKILLs itself in the middle of writing checkpoint-<KILL_AT>: after
# the weights, before the optimizer, RNG and trainer state (as a preemption would).
KILLING_LAUNCHER = textwrap.dedent(
    """
    import os, signal, sys
    import transformers

    kill_at = int(os.environ["KILL_AT_STEP"])
    original = transformers.Trainer._save_optimizer_and_scheduler

    def save_then_die(self, output_dir):
        if self.state.global_step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(self, output_dir)

    transformers.Trainer._save_optimizer_and_scheduler = save_then_die
    from rl.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def rl_train(args: list[str], env_extra: dict | None = None, launcher: str | None = None) -> subprocess.CompletedProcess:
    import os

    command = [sys.executable, "-c", launcher, *args] if launcher else [sys.executable, "-m", "rl", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=400, env={**os.environ, **(env_extra or {})})


def metric_steps(run: Path) -> list[int]:
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [row["step"] for row in rows if "completions/mean_length" in row]


def test_kill_during_a_checkpoint_save_then_resume_continues_from_the_previous_complete_one(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}", "--set", f"model.cache_dir={tmp_path / 'cache'}",
            "--set", "trainer.max_steps=4", "--set", "trainer.save_steps=2"]  # fmt: skip

    killed = rl_train(args, {"KILL_AT_STEP": "4"}, launcher=KILLING_LAUNCHER)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (run / "checkpoint-4").is_dir() and not (run / "checkpoint-4" / "trainer_state.json").exists()
    assert (run / "checkpoint-2" / "checkpoint_complete.json").is_file()
    saved_calls = json.loads((run / "checkpoint-2" / "reward_state.json").read_text())["length"]["calls"]
    with (run / "metrics.jsonl").open("a") as handle:
        handle.write('{"step": 4, "loss": 0.1')  # a line torn by the kill

    resumed = rl_train([*args, "--resume"])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
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
