"""Journal faults: the disk fills up mid-run, another process holds SQLite's write lock past
the busy timeout, the file is damaged. Each fails clearly and loses nothing journalled."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.adapters.store.journal import ChangeJournal
from desktop.adapters.store.journal_repair import journal_is_healthy
from desktop.adapters.store.locks import ChangeLocks
from desktop.cli.main import main
from desktop.core.events import ChangeCreated, Notice, event_from_dict
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.sessions import swedish_edit, swedish_session
from tests.reliability.procs import (
    KEY,
    base_env,
    finish,
    history,
    honk,
    journal_events,
    read_until,
    start,
)


@pytest.fixture
def configured(repo: RepoWithRemote) -> RepoWithRemote:
    return configure(repo, JUDGE_OFF)


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A size-limited file system (needs root, or skips)."""
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Write until the file system says it is full."""
    filler = directory / "filler.bin"
    block = b"\0" * 65536
    with filler.open("wb", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(block)
    # The last partial block too.
    with filler.open("ab", buffering=0) as handle, contextlib.suppress(OSError):
        while True:
            handle.write(b"\0" * 512)
    return filler


def durable(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [x for x in lines if x["type"] != "result" and not event_from_dict(x).ephemeral]


@pytest.mark.slow
def test_disk_full_mid_run_fails_naming_the_journal_and_keeps_every_event(
        configured: RepoWithRemote, tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "8m") as small:
        home = small / "home"
        slow = swedish_edit(chunk_chars=2, delay_s=0.05, text="Changing the greeting.")
        with ScriptedMessagesAPI([slow, text_turn("Done.")], expected_api_key=KEY) as api:
            env = base_env(home, api.base_url)
            proc = start("run", "Swedish greeting", "--repo", str(configured.path), "--json",
                         env=env)
            seen = read_until(proc, lambda x: x["type"] == "edit_preview")
            filler = fill(small)
            out, err = finish(proc)
        seen += [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        assert proc.returncode == 1, err
        journal = home / "journal.sqlite3"
        assert f"could not write to the journal {journal}" in err
        assert "full" in err and "Traceback" not in err
        change = str(seen[0]["change"])
        # Nothing that was journalled (and so shown) before the disk filled is lost.
        stored = journal_events(home, change)
        assert durable(seen) and all(x in stored for x in durable(seen))
        assert journal_is_healthy(journal) == (True, "ok")

        filler.unlink()
        [row] = history(env)
        assert row["state"] == "interrupted" and row["id"] == change
        with ScriptedMessagesAPI(swedish_session(), expected_api_key=KEY) as api:
            env["ANTHROPIC_BASE_URL"] = api.base_url
            done = honk("resume", change, "--json", env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout.splitlines()[-1])["state"] == "awaiting_approval"
        assert stored == journal_events(home, change)[: len(stored)]


def test_a_writer_holding_the_journal_past_the_busy_timeout_is_a_clear_error(
        configured: RepoWithRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "honk-home"
    ChangeJournal(home / "journal.sqlite3").close()
    other = sqlite3.connect(home / "journal.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        monkeypatch.setenv("HONK_JOURNAL_BUSY_TIMEOUT_S", "0.2")
        code = main(["run", "Swedish greeting", "--repo", str(configured.path)])
        err = capsys.readouterr().err
        assert code == 1
        assert f"could not write to the journal {home / 'journal.sqlite3'}" in err
        assert "locked for more than 0.2 s" in err
        # Nothing half-made: the worktree and branch of the unrecorded change are gone.
        assert not any((home / "worktrees").iterdir())
        assert configured.git("branch", "--list", "honk/*") == ""
        # Readers are not blocked by a writer (WAL): history still answers.
        assert main(["history", "--json"]) == 0
    finally:
        other.execute("ROLLBACK")
        other.close()


def make_journal(path: Path, changes: int, notices: int) -> int:
    journal = ChangeJournal(path)
    for c in range(changes):
        cid = f"c{c:04d}"
        journal.append(ChangeCreated(change=cid, request=f"request {c}", repo="/r", branch=f"honk/{cid}",
                                     worktree=f"/w/{cid}", base="main", base_commit="0" * 40,
                                     model="m"))
        for n in range(notices):
            journal.append(Notice(change=cid, level="info", message=f"{cid} note {n} " + "x" * 80))
    journal.close()
    return changes * (notices + 1)


def test_garbage_journal_refuses_to_start_and_repair_sets_it_aside(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "honk-home"
    home.mkdir()
    path = home / "journal.sqlite3"
    garbage = b"this is not SQLite at all\n" * 200
    path.write_bytes(garbage)
    assert main(["history"]) == 2
    err = capsys.readouterr().err
    assert f"the journal {path} is unreadable" in err and "honk journal repair" in err
    assert path.read_bytes() == garbage  # refused, untouched

    assert main(["journal", "repair"]) == 0
    out = capsys.readouterr().out
    assert "saved 0 events" in out
    [aside] = [p for p in home.glob("journal.sqlite3.damaged-*") if p.suffix != ".sqlite3" and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == garbage  # kept, never deleted
    assert main(["history", "--json"]) == 0


def test_damaged_pages_are_reported_and_repair_salvages_the_rest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "honk-home"
    path = home / "journal.sqlite3"
    total = make_journal(path, changes=4, notices=150)
    data = bytearray(path.read_bytes())
    page = 4096
    victim = (len(data) // page) // 3  # a leaf page of the events table, a third of the way
    data[victim * page:(victim + 1) * page] = b"\xa5" * page
    path.write_bytes(bytes(data))
    damaged = bytes(data)

    healthy, detail = journal_is_healthy(path)
    assert not healthy and detail
    # Reading over the bad page is a clear message, not a traceback.
    for cid in ("c0000", "c0001", "c0002", "c0003"):
        code = main(["show", cid, "--json"])
        err = capsys.readouterr().err
        assert code in (0, 1, 2) and "Traceback" not in err
        if code == 1:
            assert "is damaged" in err and "honk journal repair" in err

    assert main(["journal", "repair"]) == 0
    out = capsys.readouterr().out
    saved = int(out.split("saved ")[1].split(" events")[0])
    assert total * 0.8 <= saved < total, out
    assert "rows could not be read" in out
    [aside] = [p for p in home.glob("journal.sqlite3.damaged-*") if p.suffix != ".sqlite3" and not p.name.endswith(("-wal", "-shm"))]
    assert aside.read_bytes() == damaged
    assert journal_is_healthy(path) == (True, "ok")
    assert main(["history", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["id"] for r in rows} <= {"c0000", "c0001", "c0002", "c0003"} and len(rows) >= 3

    assert main(["journal", "repair"]) == 0  # a second run finds nothing to do
    assert "healthy" in capsys.readouterr().out


def test_repair_refuses_while_a_honk_process_uses_the_home(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "honk-home"
    make_journal(home / "journal.sqlite3", changes=1, notices=1)
    code = ("import sys, time; from pathlib import Path; from desktop.adapters.store.locks import "
            "ChangeLocks; lock = ChangeLocks(Path(sys.argv[1])).hold('c0000', 'run'); "
            "print('held', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(home / "locks")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert main(["journal", "repair"]) == 2
        err = capsys.readouterr().err
        assert f"pid {holder.pid}" in err and "stop them first" in err
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    assert not ChangeLocks(home / "locks").is_held("c0000")
