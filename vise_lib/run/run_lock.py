"""One ``vise run`` at a time per run folder: an advisory lock held for the whole run.

The lock is ``<run>/.pipeline/lock``, locked with ``fcntl.flock`` and holding the holder's pid,
host and start time. A second run on the same folder stops at once naming the holder
(:class:`RunFolderBusy`). The operating system releases the lock when its process ends, however
it ends (``kill -9`` included), so a lock file left by a dead process is simply taken over, and
the run says so, naming the pid that left it.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType


class RunFolderBusy(RuntimeError):
    """Another live ``vise run`` holds the run folder's lock."""


class RunLock:
    """``with RunLock(run_dir, echo):`` holds the lock of ``run_dir`` (see the module docstring)."""

    def __init__(self, run_dir: Path, echo=print):
        self.path = Path(run_dir) / ".pipeline" / "lock"
        self.echo = echo
        self._fd: int | None = None

    def holder(self) -> dict:
        """What the lock file says about its holder (``{}`` when it says nothing readable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            h = self.holder()
            who = f"pid {h.get('pid', '?')} on host {h.get('host', '?')}"
            since = f", running since {h['started']}" if h.get("started") else ""
            raise RunFolderBusy(
                f"{self.path.parent.parent} is in use by another vise run ({who}{since}): wait for it to "
                f"finish, stop it, or use another --out"
            ) from None
        old = self.holder()
        if old.get("pid") and (old.get("pid"), old.get("host")) != (os.getpid(), socket.gethostname()):
            self.echo(
                f"[vise] taking over the lock of {self.path.parent.parent} left by pid {old['pid']} on host "
                f"{old.get('host', '?')} (that run is gone; its finished stages are kept, the rest resumes)"
            )
        info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # a clean exit leaves no holder behind
            finally:
                os.close(self._fd)  # releases the flock
                self._fd = None
