"""Real multi-process launches on CPU: accelerate DDP (gloo) and DeepSpeed ZeRO-2, and submitit's local executor."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "configs" / "demo" / "smoke.yaml"
pytestmark = pytest.mark.integration


def accelerate_launch(tmp_path: Path, config_file: str, extra: list[str]) -> tuple[subprocess.CompletedProcess, Path]:
    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ROOT / "launch/accelerate" / config_file),
         "--num_processes", "2", "--num_machines", "1", "--machine_rank", "0", "--main_process_port", "29517",
         "--mixed_precision", "no",
         "-m", "rl", "train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}",
         "--set", f"model.cache_dir={tmp_path / 'cache'}", *extra],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=540,
    )  # fmt: skip
    return result, run


def check_run(result: subprocess.CompletedProcess, run: Path, setup: str) -> None:
    assert result.returncode == 0, result.stderr[-5000:]
    assert setup in result.stderr, result.stderr[-3000:]
    assert "held by rank 0" in result.stderr and "for the 2 process(es) of this launch: rank 0 pid" in result.stderr
    assert not (run / "run.lock").exists()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [row["step"] for row in rows if "completions/mean_length" in row]
    assert steps == [1, 2]  # written once (by the main process only), not once per rank
    state = json.loads((run / "reward_state.json").read_text())["length"]
    assert state["calls"] == 2


def test_two_process_ddp_on_cpu(tmp_path):
    # The GPU preset as is: without a GPU the processes join one gloo group (multi-CPU DDP).
    # Held-out eval during training on: 5 questions, an odd count, shared between the 2 ranks.
    result, run = accelerate_launch(tmp_path, "ddp.yaml", ["--set", "eval_during_training.every_steps=2", "--set", "eval_during_training.limit=5"])
    check_run(result, run, "type=MULTI_CPU backend=gloo world_size=2 deepspeed=off")
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [row for row in rows if "eval/accuracy" in row]
    assert [row["step"] for row in evals] == [0, 2]  # one record per evaluation, written by the main process
    assert all(row["eval/questions"] == 5 and row["eval/mean_tokens"] > 0 for row in evals)


def test_two_process_deepspeed_zero2_on_cpu(tmp_path):
    result, run = accelerate_launch(tmp_path, "zero2.yaml", [])
    check_run(result, run, "type=DEEPSPEED backend=")
    assert "world_size=2 deepspeed=ZeRO-2" in result.stderr


def test_kill_9_of_the_launchers_process_group_leaves_no_rank_running(tmp_path):
    import signal
    import time

    from rl.train.run_lock import HOLDERS_FILE, RunLock

    run = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(ROOT / "launch/accelerate/ddp.yaml"),
         "--num_processes", "2", "--num_machines", "1", "--machine_rank", "0", "--main_process_port", "29519",
         "--mixed_precision", "no",
         "-m", "rl", "train", "--config", str(SMOKE), "--set", f"trainer.output_dir={run}",
         "--set", f"model.cache_dir={tmp_path / 'cache'}", "--set", "trainer.max_steps=50"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while not (run / HOLDERS_FILE).is_file() and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert launcher.poll() is None, "the launch ended before it could be killed"
        ranks = [rank["pid"] for rank in json.loads((run / HOLDERS_FILE).read_text())["ranks"]]
        assert len(ranks) == 2
    finally:
        os.killpg(launcher.pid, signal.SIGKILL)  # what a scheduler or a user's kill -9 does; the ranks sit in their own sessions
        launcher.wait()
    deadline = time.monotonic() + 20
    while [pid for pid in ranks if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.2)
    orphans = [pid for pid in ranks if alive(pid)]
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert not orphans, f"ranks {orphans} outlived their launcher"
    with RunLock(run):  # the lock they left is stale: a --resume goes ahead
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_submit_through_submitits_local_executor_and_resubmitting_a_finished_run_trains_nothing(tmp_path):
    run = tmp_path / "run"
    command = [sys.executable, "-m", "rl", "submit", "--cluster", "local", "--gpus-per-node", "0", "--config", str(SMOKE),
               "--set", f"trainer.output_dir={run}", "--set", f"model.cache_dir={tmp_path / 'cache'}", "--set", "trainer.max_steps=1"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    again = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-3000:]
    assert not (run / "checkpoint-2").exists()
    logs = "".join(path.read_text() for path in (run / "submit").glob("*/*_log.out"))
    assert "already finished at step 1" in logs
    record = json.loads((run / "submit.json").read_text())
    assert record["cluster"] == "local" and record["job_id"]
    assert (run / "checkpoint-1").is_dir() and (run / "metrics.jsonl").is_file()
    assert list((run / "submit").glob("*/*_log.out")), "submitit logs belong in the run directory"
