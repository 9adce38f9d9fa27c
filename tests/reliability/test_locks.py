"""One driver per change, one window per HONK_HOME; readers never wait."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktop.adapters.store.locks import AppLock, ChangeLocks, LockBusy
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import edit_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.reliability.procs import KEY, base_env, finish, history, honk, read_until, start

HOLD = ("import sys, time; from pathlib import Path; from desktop.adapters.store.locks import {cls}; "
        "lock = {make}; print('held', flush=True); time.sleep(30)")


def hold_in_child(code: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def test_a_change_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    locks = ChangeLocks(tmp_path / "locks")
    child = hold_in_child(HOLD.format(cls="ChangeLocks", make=f"ChangeLocks(Path({str(tmp_path / 'locks')!r})).hold('abc123', 'resume')"))
    try:
        assert locks.is_held("abc123") and not locks.is_held("other")
        with pytest.raises(LockBusy) as info:
            locks.hold("abc123", "approve")
        message = str(info.value)
        assert "change abc123 is busy" in message and f"pid {child.pid}" in message
        assert "(resume)" in message and str(tmp_path / "locks" / "abc123.lock") in message
    finally:
        stop(child)  # SIGKILL: the kernel drops the lock, no stale file blocks anyone
    assert not locks.is_held("abc123")
    with locks.hold("abc123", "approve") as lock:
        assert lock.held and locks.is_held("abc123")
        with pytest.raises(LockBusy):  # also within one process: a second driver is refused
            locks.hold("abc123", "run")
    assert not locks.is_held("abc123")


def test_children_never_inherit_a_change_lock(tmp_path: Path) -> None:
    locks = ChangeLocks(tmp_path / "locks")
    lock = locks.hold("c1", "run")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"],
                               close_fds=False)  # even when fds are passed on
    try:
        lock.release()
        # An orphaned build would otherwise keep a dead run "alive" for as long as it lives.
        # (Right at the spawn, before exec closes it, the child briefly shares the fd.)
        deadline = time.monotonic() + 2
        while locks.is_held("c1") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not locks.is_held("c1")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_bad_change_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"change id '\.\./x'"):
        ChangeLocks(tmp_path).hold("../x", "run")
    assert not ChangeLocks(tmp_path).is_held("../x")


def test_a_second_window_is_told_where_the_first_is(tmp_path: Path) -> None:
    child = hold_in_child(HOLD.format(cls="AppLock", make=f"AppLock(Path({str(tmp_path)!r})); lock.acquire()"))
    try:
        with pytest.raises(LockBusy) as info:
            AppLock(tmp_path).acquire()
        message = str(info.value)
        assert f"Honk is already open for {tmp_path}" in message
        assert f"pid {child.pid}" in message and "HONK_HOME" in message
        # A different home is a different Honk.
        other = AppLock(tmp_path / "other")
        other.acquire()
        other.release()
    finally:
        stop(child)
    with AppLock(tmp_path):
        pass


@pytest.mark.slow
def test_history_reads_while_a_run_holds_its_change_and_a_second_driver_is_refused(
        repo: RepoWithRemote, tmp_path: Path) -> None:
    configure(repo, JUDGE_OFF)
    # Previews start at old_str (~2 s in); the long new_str keeps it streaming ~10 s more.
    slow = edit_turn("app/greeting.py", '"Hello"', '"Hej" + "' + "!" * 200 + '"', chunk_chars=1,
                     delay_s=0.04)
    with ScriptedMessagesAPI([slow, text_turn("Done.")], expected_api_key=KEY) as api:
        env = base_env(tmp_path / "honk-home", api.base_url)
        proc = start("run", "Swedish", "--repo", str(repo.path), "--json", env=env)
        try:
            seen = read_until(proc, lambda x: x["type"] == "edit_preview")
            change = str(seen[0]["change"])
            [row] = history(env)  # readers are not blocked, and see the truth: running
            assert row["state"] == "agent_running"
            for args in (("resume", change), ("approve", change), ("reject", change),
                         ("revise", change, "also French")):
                busy = honk(*args, env=env)
                assert busy.returncode == 2, (args, busy.stderr)
                assert f"change {change} is busy" in busy.stderr, (args, busy.stderr)
                assert f"pid {proc.pid}" in busy.stderr
            assert proc.poll() is None  # all of that happened while the run was running
        finally:
            proc.kill()
            finish(proc)
    [row] = history(env)
    assert row["state"] == "interrupted"
    assert Path(str(row["worktree"])).is_dir()
