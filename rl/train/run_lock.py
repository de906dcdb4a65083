"""One writer per output directory: a lease on `<output_dir>/run.lock`, held for the run's whole life.

Two launches on one directory would interleave `metrics.jsonl` and overwrite each other's
checkpoints; `--resume` or `--overwrite` of a live run would cut or delete its files under it.

The lock is filelock's `SoftFileLease`, because `flock`/`fcntl` locks are not reliable across the
nodes of an NFS or Lustre mount. Its marker records the holder's pid, host (and PID namespace) and
the process's start time with the machine's boot id; a thread touches the marker every
`LEASE_SECONDS / 3`. A contender decides the holder is gone:
- on the holder's machine, at once: the pid is dead, or belongs to a later process (start time);
- on another machine, which cannot see the holder's processes: once the marker's mtime has not
  moved for `LEASE_SECONDS`, watched on the contender's own clock (no clock skew between nodes).
Only the main process (rank 0) holds the lock; `run.lock.json` beside it lists every rank of the
launch (rank, host, pid) for the message a second launch prints. Ranks die with their launcher
(`die_with_launcher`), so a killed launch leaves no orphan still writing under a lock it holds.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path

from rl.errors import ConfigError, UserError

logger = logging.getLogger("rl.run_lock")
LOCK_FILE = "run.lock"
HOLDERS_FILE = "run.lock.json"
LEASE_SECONDS = 120.0  # every contender must use the same value (filelock refuses a mismatch)


class RunLocked(UserError):
    """The output directory belongs to a live run."""


def check_output_dir(output_dir: Path) -> None:
    """`trainer.output_dir` must be a directory this process can create or write in; checked without writing anything."""
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"trainer.output_dir {path} is a file, not a directory; pick another output_dir")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"trainer.output_dir {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"trainer.output_dir {path}: cannot write in {existing} (no permission, or a read-only filesystem)")


def _display_host(hostname: str) -> str:
    return hostname.split("?pidns-")[0] or "?"  # filelock appends the PID namespace of a container


def _holder_is_here(hostname: str) -> bool:
    """Whether the holder runs where this process does, so filelock already checked its pid (and found it alive)."""
    # A private module on purpose: filelock's public API gives the holder's `OwnerRecord.hostname` but not how
    # it spells this host (host name plus PID namespace); `filelock._identity.host_name` is where it is made.
    try:
        from filelock._identity import host_name
    except ImportError:  # another filelock layout: wait out the lease instead, slower but never wrong
        return False
    return hostname == host_name()


class RunLock:
    """`with RunLock(output_dir, ranks)`: hold the run lock, or raise `RunLocked` naming the holder in one line.

    Args:
        output_dir: the run's directory; created if missing (the lock is the first thing written in it).
        ranks: `{"rank", "host", "pid"}` of every process of this launch, written to `run.lock.json`.
    """

    def __init__(self, output_dir: Path, ranks: list[dict] | None = None) -> None:
        from filelock import SoftFileLease

        self.output_dir = Path(output_dir)
        self.path = self.output_dir / LOCK_FILE
        self.ranks = ranks or [{"rank": 0, "host": socket.gethostname(), "pid": os.getpid()}]
        self._lease = SoftFileLease(str(self.path), lease_duration=LEASE_SECONDS, on_compromise=self._lost)

    def acquire(self) -> RunLock:
        from filelock import LeaseSettingsMismatch, Timeout

        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # os.access can say yes where a write fails (root squash, read-only mounts)
            raise ConfigError(f"trainer.output_dir {self.output_dir}: cannot create it ({error.strerror})") from None
        previous = self._lease.owner
        try:
            try:
                self._lease.acquire(timeout=0)
            except Timeout:
                owner = self._lease.owner
                if owner is None or _holder_is_here(owner.hostname):
                    raise RunLocked(self.in_use_message()) from None
                wait = LEASE_SECONDS + LEASE_SECONDS / 3 + 5
                logger.warning(
                    "%s is held by pid %d on %s, whose processes this machine cannot see: waiting up to %.0fs for its "
                    "heartbeat (a live run touches the lock every %.0fs; a gone one stops)",
                    self.path, owner.pid, _display_host(owner.hostname), wait, LEASE_SECONDS / 3,
                )  # fmt: skip
                try:
                    self._lease.acquire(timeout=wait)
                except Timeout:
                    raise RunLocked(self.in_use_message()) from None
        except LeaseSettingsMismatch as error:
            raise RunLocked(f"{self.path}: {error}") from None
        except PermissionError as error:
            raise ConfigError(f"trainer.output_dir {self.output_dir}: cannot write in it ({error.strerror})") from None
        if previous is not None:
            logger.warning("%s: took over the lock of pid %d on %s, which is gone", self.path, previous.pid, _display_host(previous.hostname))
        self._write_holders()
        where = ", ".join(f"rank {r['rank']} pid {r['pid']} on {r['host']}" for r in self.ranks)
        logger.info("run lock %s held by rank 0 (pid %d) for the %d process(es) of this launch: %s", self.path, os.getpid(), len(self.ranks), where)
        return self

    def release(self) -> None:
        if not self._lease.is_locked:
            return
        (self.output_dir / HOLDERS_FILE).unlink(missing_ok=True)
        self._lease.release()

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def in_use_message(self) -> str:
        """One line: whose run this is and what to do."""
        owner = self._lease.owner
        holder = "a process whose lock record is unreadable" if owner is None else f"pid {owner.pid} on {_display_host(owner.hostname)}"
        launch = read_holders(self.output_dir)
        if owner is not None and launch and launch.get("ranks") and launch["ranks"][0].get("pid") == owner.pid:
            ranks = launch["ranks"]
            holder += f" (rank 0 of {len(ranks)}"
            if len(ranks) > 1:
                holder += "; other ranks: " + ", ".join(f"pid {r['pid']} on {r['host']}" for r in ranks[1:])
            holder += f"; started {launch.get('started', '?')})"
        return (
            f"trainer.output_dir {self.output_dir} is in use by a live run: {holder}; --resume and --overwrite never touch a "
            f"live run: wait for it to end, stop it, or pick another output_dir (a lock left by a crash clears itself: see "
            f"docs/scaling.md, Crashes and requeue)"
        )

    def _write_holders(self) -> None:
        record = {"ranks": self.ranks, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv}
        temporary = self.output_dir / (HOLDERS_FILE + ".tmp")
        temporary.write_text(json.dumps(record, indent=1))
        temporary.replace(self.output_dir / HOLDERS_FILE)

    def _lost(self, compromise) -> None:
        # Called from the heartbeat thread: the marker vanished or another process took it (deleted by hand?).
        logger.error("%s: this run lost its lock (%s); another process may now write to %s", self.path, compromise.reason, self.output_dir)


def read_holders(output_dir: Path) -> dict | None:
    """`run.lock.json`: the ranks of the launch that holds (or held) the lock, or None."""
    try:
        return json.loads((Path(output_dir) / HOLDERS_FILE).read_text())
    except (OSError, ValueError):
        return None


def die_with_launcher() -> None:
    """In a launched rank (`LOCAL_RANK` set), ask Linux to SIGKILL this process when its launcher dies.

    torchrun starts each rank in its own session, so `kill -9` of the launcher's process group
    does not reach them: without this, orphaned ranks keep training and writing next to the
    `--resume` that follows. No-op elsewhere (single process, non-Linux).
    """
    if "LOCAL_RANK" not in os.environ or not sys.platform.startswith("linux"):
        return
    import ctypes

    launcher = os.getppid()
    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != launcher:  # the launcher died before the request took hold
        os.kill(os.getpid(), signal.SIGKILL)
