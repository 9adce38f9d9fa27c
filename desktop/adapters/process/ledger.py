"""A record of the commands a change is running, so orphans of a killed Honk can be stopped.

Verifiers and builds run in their own process group (so a timeout or cancel kills all of
it). If Honk itself is killed (-9, a crash, power), those groups keep running in the
worktree. Each running group is written down here; the next run of the change (resume,
revise) reaps what a dead run left behind. A group is only killed if its leader is the same
process that was recorded (same start time), so a reused pid is never hit.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ProcessLedger"]


def _start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), or None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces or parentheses: split after its last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 overall: starttime
    except (IndexError, ValueError):
        return None


class ProcessLedger:
    def __init__(self, root: Path) -> None:
        self.root = root

    def add(self, pgid: int, argv: Sequence[str]) -> None:
        """Write down a running group (its leader's pid is the group id)."""
        self.root.mkdir(parents=True, exist_ok=True)
        record = {"pgid": pgid, "start": _start_time(pgid), "argv": list(argv)[:8]}
        tmp = self.root / f".{pgid}.tmp"
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.root / str(pgid))

    def remove(self, pgid: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / str(pgid)).unlink()

    def reap(self) -> list[list[str]]:
        """Kill the groups a dead run left running; returns the commands that were stopped."""
        stopped: list[list[str]] = []
        if not self.root.is_dir():
            return stopped
        for entry in self.root.iterdir():
            if not entry.name.isdigit():
                entry.unlink(missing_ok=True)
                continue
            try:
                record = json.loads(entry.read_text())
                pgid, start = int(record["pgid"]), record.get("start")
            except (OSError, ValueError, KeyError, TypeError):
                entry.unlink(missing_ok=True)
                continue
            # Only when the leader is provably the recorded process (never a reused pid).
            if start is not None and _start_time(pgid) == start:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)
                    stopped.append([str(a) for a in record.get("argv", [])])
            entry.unlink(missing_ok=True)
        return stopped
