"""Advisory file locks that keep two Honk processes from driving the same thing at once.

Two granularities:

- a *change lock* (``HONK_HOME/locks/<change>.lock``), held by the process that runs, resumes,
  revises, approves or rejects a change, so the same change can never be driven twice at
  once, while `honk history` and `honk show` (readers) keep working;
- the *app lock* (``HONK_HOME/app.lock``), taken by the window: one GUI per HONK_HOME.

``fcntl.flock`` locks belong to an open file and the kernel drops them when the process
dies (kill -9 included), so a stale lock file never blocks anyone; whether a change's lock
is held is also the truthful answer to "is its process still alive?". Lock files are never
deleted: unlinking a lock file another process is about to lock would split the lock.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from desktop.core.errors import HonkError

__all__ = ["AppLock", "ChangeLocks", "FileLock", "LockBusy", "LockHolder"]

_CHANGE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# A reader probing a lock holds it for microseconds; an acquirer waits this long for that.
_PROBE_GRACE_S = 0.25


def this_host() -> str:
    """This machine's name, as lock files and `RunAttached` events record it."""
    # os.uname, not socket.gethostname: the window takes its lock before the first paint, and
    # importing socket there costs ~4 ms for the same name (fcntl makes this POSIX-only).
    return os.uname().nodename


@dataclass(frozen=True)
class LockHolder:
    """Who holds a lock, as the holder wrote it into the lock file (best effort)."""

    pid: int | None
    host: str
    purpose: str
    since: float | None

    def describe(self) -> str:
        """E.g. "pid 4242 on host a (resume), since 12:03:04"."""
        parts = [f"pid {self.pid}" if self.pid else "another process"]
        if self.host and self.host != this_host():
            parts.append(f"on host {self.host}")
        if self.purpose:
            parts.append(f"({self.purpose})")
        if self.since:
            parts.append("since " + time.strftime("%H:%M:%S", time.localtime(self.since)))
        return " ".join(parts)


class LockBusy(HonkError, RuntimeError):
    """Another process holds the lock; the message names the lock file and the holder."""

    def __init__(self, message: str, path: Path, holder: LockHolder) -> None:
        super().__init__(message)
        self.path = path
        self.holder = holder


class FileLock:
    """An exclusive, non-blocking ``flock`` on one file; a context manager.

    The file descriptor is close-on-exec, so builds and verifiers started while the lock is
    held never inherit it (an orphaned child must not keep a dead run "alive").
    """

    def __init__(self, path: Path, purpose: str = "") -> None:
        self.path = path
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, busy_message: str = "") -> None:
        """Take the lock or raise :class:`LockBusy` (after a short grace for probing readers)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this lock object")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        deadline = time.monotonic() + _PROBE_GRACE_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = read_holder(self.path)
                    os.close(fd)
                    text = busy_message or f"{self.path} is locked"
                    raise LockBusy(f"{text}: held by {holder.describe()} (lock file "
                                   f"{self.path})", self.path, holder) from None
                time.sleep(0.01)
        self._fd = fd
        record = {"pid": os.getpid(), "host": this_host(), "purpose": self.purpose,
                  "since": time.time()}
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(record) + "\n").encode(), 0)

    def release(self) -> None:
        """Drop the lock (the file stays: see the module docstring). Safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing the only descriptor releases the flock

    def __enter__(self) -> Self:
        if self._fd is None:  # `with locks.hold(...)` hands over a lock already taken
            self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def is_locked(path: Path) -> bool:
    """Whether some open file (in any process, this one included) holds ``path`` locked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        # Shared: two probing readers never disturb each other; an exclusive holder shows.
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return True
        raise
    finally:
        os.close(fd)  # also drops the shared lock, if it was taken
    return False


def read_holder(path: Path) -> LockHolder:
    """What the holder wrote into the lock file; unknown fields stay empty."""
    try:
        data = json.loads(path.read_text("utf-8") or "{}")
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid, since = data.get("pid"), data.get("since")
    return LockHolder(pid=pid if isinstance(pid, int) else None,
                      host=str(data.get("host") or ""), purpose=str(data.get("purpose") or ""),
                      since=float(since) if isinstance(since, int | float) else None)


class ChangeLocks:
    """One lock per change under ``root`` (``HONK_HOME/locks``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, change_id: str) -> Path:
        if not _CHANGE_ID.fullmatch(change_id):
            raise ValueError(f"change id {change_id!r}: expected letters, digits, '.', '_' or '-'")
        return self.root / f"{change_id}.lock"

    def hold(self, change_id: str, purpose: str) -> FileLock:
        """Take the change's lock now (raises :class:`LockBusy`); release it when done."""
        lock = FileLock(self.path(change_id), purpose)
        lock.acquire(f"change {change_id} is busy in another Honk process or window; wait for "
                     f"it to finish or cancel it there")
        return lock

    def is_held(self, change_id: str) -> bool:
        """Whether a process (maybe this one) is driving the change right now."""
        try:
            return is_locked(self.path(change_id))
        except ValueError:
            return False


class AppLock(FileLock):
    """``HONK_HOME/app.lock``: at most one window per Honk home."""

    def __init__(self, home: Path) -> None:
        super().__init__(home / "app.lock", "window")
        self.home = home

    def acquire(self, busy_message: str = "") -> None:
        """Take the app lock or raise :class:`LockBusy` saying another window is open."""
        super().acquire(busy_message or f"Honk is already open for {self.home}; switch to "
                        "that window (or quit it first). To run a second, separate Honk, set "
                        "HONK_HOME to another directory")
