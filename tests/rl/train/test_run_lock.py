"""One writer per output directory: a live holder refuses others in one line, a gone one is taken over."""

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import rl.train.run_lock
from rl.train.run_lock import HOLDERS_FILE, LOCK_FILE, RunLock, RunLocked

ROOT = Path(__file__).resolve().parents[3]
HOLDER = """
import sys, time
from pathlib import Path
from rl.train.run_lock import RunLock

RunLock(Path(sys.argv[1]), [{"rank": 0, "host": "node-a", "pid": __import__("os").getpid()},
                            {"rank": 1, "host": "node-a", "pid": 4242}]).acquire()
print("held", flush=True)
time.sleep(600)
"""


@pytest.fixture
def holder(tmp_path):
    """A live process holding the lock of tmp_path/run (two ranks recorded)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout.readline().strip() == "held"
    yield process
    if process.poll() is None:
        process.kill()
    process.wait()


def test_acquire_writes_the_marker_and_the_ranks_and_release_removes_them(tmp_path):
    run = tmp_path / "run"
    with RunLock(run):
        assert (run / LOCK_FILE).is_file()
        ranks = json.loads((run / HOLDERS_FILE).read_text())["ranks"]
        assert ranks == [{"rank": 0, "host": socket.gethostname(), "pid": os.getpid()}]
    assert sorted(p.name for p in run.iterdir()) == []


def test_a_live_holder_refuses_a_second_writer_in_one_line_naming_it(tmp_path, holder):
    with pytest.raises(RunLocked) as refused:
        RunLock(tmp_path / "run").acquire()
    message = str(refused.value)
    assert "\n" not in message
    assert f"is in use by a live run: pid {holder.pid} on {socket.gethostname()} (rank 0 of 2; other ranks: pid 4242 on node-a" in message
    assert "--resume and --overwrite never touch a live run" in message


def test_the_lock_of_a_killed_holder_is_taken_over(tmp_path, holder, caplog):
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert (tmp_path / "run" / LOCK_FILE).is_file()  # left behind by the kill
    with caplog.at_level(logging.WARNING, logger="rl.run_lock"), RunLock(tmp_path / "run"):
        pass
    assert f"took over the lock of pid {holder.pid}" in caplog.text


def foreign_marker(path: Path, lease_seconds: float) -> None:
    """A lease marker as a process on another node writes it (filelock's protocol 2 record)."""
    from filelock._soft import OwnerRecord, encode_marker

    path.parent.mkdir(parents=True, exist_ok=True)
    record = OwnerRecord(pid=12345, hostname="other-node", mode="lease", token="0" * 32, lease_duration=lease_seconds)
    path.write_bytes(encode_marker(record))


def test_a_holder_on_another_node_is_gone_once_its_heartbeat_stops(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(rl.train.run_lock, "LEASE_SECONDS", 0.6)
    foreign_marker(tmp_path / "run" / LOCK_FILE, 0.6)
    with caplog.at_level(logging.WARNING, logger="rl.run_lock"), RunLock(tmp_path / "run"):
        pass
    assert "held by pid 12345 on other-node, whose processes this machine cannot see" in caplog.text
    assert "took over the lock of pid 12345 on other-node" in caplog.text


def test_a_holder_on_another_node_with_a_beating_heart_keeps_its_lock(tmp_path, monkeypatch):
    monkeypatch.setattr(rl.train.run_lock, "LEASE_SECONDS", 0.6)
    marker = tmp_path / "run" / LOCK_FILE
    foreign_marker(marker, 0.6)
    stop = threading.Event()

    def heartbeat():
        while not stop.wait(0.1):
            os.utime(marker)

    beating = threading.Thread(target=heartbeat)
    beating.start()
    try:
        with pytest.raises(RunLocked, match="in use by a live run: pid 12345 on other-node"):
            RunLock(tmp_path / "run").acquire()
    finally:
        stop.set()
        beating.join()


def test_overwrite_and_resume_never_touch_a_live_run(tmp_path, holder):
    from rl.config import load_config
    from rl.train.train import train

    (tmp_path / "run" / "checkpoint-2").mkdir()
    (tmp_path / "run" / "metrics.jsonl").write_text('{"step": 1}\n')
    smoke = ROOT / "configs" / "demo" / "smoke.yaml"
    config = load_config(smoke, [f"trainer.output_dir={tmp_path / 'run'}", f"model.cache_dir={tmp_path / 'cache'}"])
    for flags in ({"overwrite": True}, {"resume": True}, {}):
        with pytest.raises(RunLocked, match=f"pid {holder.pid}"):
            train(config, **flags)
    assert (tmp_path / "run" / "checkpoint-2").is_dir() and (tmp_path / "run" / "metrics.jsonl").read_text() == '{"step": 1}\n'


def test_die_with_launcher_is_a_no_op_outside_a_launched_rank(monkeypatch):
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    rl.train.run_lock.die_with_launcher()  # still alive


def test_a_rank_dies_with_its_launcher(tmp_path):
    # launcher -> rank (own session, as torchrun starts ranks); SIGKILL the launcher: the rank must follow.
    rank = "from rl.train.run_lock import die_with_launcher; import os, time; die_with_launcher(); print(os.getpid(), flush=True); time.sleep(60)"
    launcher = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', {rank!r}], start_new_session=True)\n"
        "time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOCAL_RANK": "0"}
    process = subprocess.Popen([sys.executable, "-c", launcher], stdout=subprocess.PIPE, text=True, env=env)
    rank_pid = int(process.stdout.readline())
    process.kill()
    process.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(rank_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(rank_pid, signal.SIGKILL)
    pytest.fail("the rank outlived its killed launcher")
