"""Orphaned verifier/build processes of a killed Honk are found and stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from desktop.adapters.process.commands import run_command
from desktop.adapters.process.ledger import ProcessLedger

DRIVER = """
import asyncio, sys
from pathlib import Path
from desktop.adapters.process.commands import run_command
from desktop.adapters.process.ledger import ProcessLedger
asyncio.run(run_command(["sh", "-c", "sleep 300 & sleep 300"], cwd=Path(sys.argv[1]),
                        timeout=600, ledger=ProcessLedger(Path(sys.argv[2]))))
"""


def alive(pid: int) -> bool:
    """Running (not gone, not a zombie waiting for its parent)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition: object, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def group_members(pgid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                out.append(int(entry.name))
    return out


def test_orphans_of_a_killed_honk_are_reaped(tmp_path: Path) -> None:
    ledger_dir = tmp_path / "run"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, str(tmp_path), str(ledger_dir)])
    wait_for(lambda: ledger_dir.is_dir() and any(p.name.isdigit() for p in ledger_dir.iterdir()))
    pgid = int(next(p.name for p in ledger_dir.iterdir() if p.name.isdigit()))
    wait_for(lambda: len(group_members(pgid)) >= 2)
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    members = group_members(pgid)
    assert members, "the orphaned group should still be running after Honk died"
    stopped = ProcessLedger(ledger_dir).reap()
    assert stopped == [["sh", "-c", "sleep 300 & sleep 300"]]
    wait_for(lambda: not any(alive(pid) for pid in members))
    assert not any(p.name.isdigit() for p in ledger_dir.iterdir())


def test_a_reused_pid_is_never_killed(tmp_path: Path) -> None:
    ledger_dir = tmp_path / "run"
    ledger_dir.mkdir()
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        # A record for this pid, but from a process that started at another time.
        (ledger_dir / str(sleeper.pid)).write_text(json.dumps(
            {"pgid": sleeper.pid, "start": 1, "argv": ["old"]}))
        assert ProcessLedger(ledger_dir).reap() == []
        assert alive(sleeper.pid)
        assert list(ledger_dir.iterdir()) == []
    finally:
        sleeper.kill()
        sleeper.wait()


def test_background_leftovers_of_a_finished_command_are_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "late.txt"
    script = f"(sleep 1; echo late > {marker}) >/dev/null 2>&1 & echo done"
    result = asyncio.run(run_command(["sh", "-c", script], cwd=tmp_path, timeout=30,
                                     ledger=ProcessLedger(tmp_path / "run")))
    assert result.ok and "done" in result.output
    time.sleep(1.5)
    assert not marker.exists()
    assert os.listdir(tmp_path / "run") == []
