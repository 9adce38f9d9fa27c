"""The SQLite audit log: append-only, chained across processes, tampering named."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from desktop.adapters.git.identity import current_actor
from desktop.adapters.store.audit_log import AuditLog, AuditStoreError
from desktop.core.audit import AuditRecord, parse_export, verify
from tests.helpers.gitrepo import RepoWithRemote


def rec(n: int, action: str = "approved") -> AuditRecord:
    return AuditRecord(
        at="2025-01-02T03:04:05.000+00:00",
        action=action,
        change_id=f"c{n}",
        request=f"request {n}",
        commit_sha=f"{n:040x}",
        actor="Test Engineer <engineer@example.invalid> (os: tester)",
        artifact_sha256="e" * 64,
        device="127.0.0.1:5555",
        judge_verdict="approve",
        merge_result="merged into main at " + "d" * 40 if action == "merged" else None,
    )


def filled(path: Path, n: int) -> AuditLog:
    log = AuditLog(path)
    for i in range(1, n + 1):
        log.append(rec(i))
    return log


def raw(path: Path, *sql: str) -> None:
    """Tamper the way an attacker with the file would: drop the guards, then edit."""
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_no_delete")
        for statement in sql:
            conn.execute(statement)
    conn.close()


def test_append_chains_and_persists(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    log = filled(db, 3)
    stored = log.append(rec(4, "merged"))
    assert stored.seq == 4 and stored.prev_hash == log.records()[2].hash
    reopened = AuditLog(db)
    assert [r.seq for r in reopened.records()] == [1, 2, 3, 4]
    assert reopened.records()[3].record == rec(4, "merged")
    assert reopened.verify().ok and reopened.verify().checked == 4
    assert reopened.find("c2")[0].seq == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_plain_update_and_delete_are_refused(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    filled(db, 2)
    conn = sqlite3.connect(db)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE audit SET request = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 1")
    conn.close()


def test_raw_update_is_detected_and_named(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 9)
    raw(db, "UPDATE audit SET commit_sha = '" + "f" * 40 + "' WHERE seq = 7")
    report = log.verify()
    assert not report.ok
    assert str(report) == "record 7 was altered (hash mismatch)"


def test_raw_delete_is_detected_and_named(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 6)
    raw(db, "DELETE FROM audit WHERE seq = 5")
    assert str(log.verify()) == "record 5 is missing (chain broken between 4 and 6)"


def test_raw_delete_of_the_tail_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 6)
    raw(db, "DELETE FROM audit WHERE seq = 6")
    report = log.verify()
    assert (report.first_bad_seq, report.problem) == (6, "missing")
    assert str(report).startswith("record 6 is missing (the log ends at record 5)")


def test_appending_after_a_deleted_tail_keeps_the_gap_visible(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 6)
    raw(db, "DELETE FROM audit WHERE seq = 6")
    assert log.append(rec(7)).seq == 7
    assert str(log.verify()) == "record 6 is missing (chain broken between 5 and 7)"


def test_deleted_head_is_reported(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 3)
    raw(db, "DELETE FROM audit_head")
    report = log.verify()
    assert not report.ok and "audit head is missing" in str(report)


def test_raw_swap_of_two_rows_is_detected(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 4)
    raw(db, "UPDATE audit SET seq = 100 WHERE seq = 2", "UPDATE audit SET seq = 2 WHERE seq = 3",
        "UPDATE audit SET seq = 3 WHERE seq = 100")
    report = log.verify()
    assert report.first_bad_seq == 2 and not report.ok


def test_unreadable_row_is_named(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    log = filled(db, 3)
    raw(db, "UPDATE audit SET action = 'bribed' WHERE seq = 2")
    report = log.verify()
    assert report.first_bad_seq == 2 and "record 2 was altered" in str(report)
    assert "action = 'bribed'" in str(report)


def test_export_json_verifies_on_its_own(tmp_path: Path) -> None:
    log = filled(tmp_path / "j.sqlite", 3)
    records, head = parse_export(log.export_json())
    assert records == log.records() and verify(records, head).ok


def test_unopenable_path_names_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditStoreError, match=r"audit log .*file.*cannot open"):
        AuditLog(blocker / "journal.sqlite")


def _append_many(db: str, worker: int, count: int) -> None:
    log = AuditLog(Path(db))
    for i in range(count):
        log.append(rec(worker * 1000 + i))


def test_concurrent_processes_do_not_fork_the_chain(tmp_path: Path) -> None:
    db = tmp_path / "j.sqlite"
    AuditLog(db)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(db), w, 25)) for w in range(1, 5)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    log = AuditLog(db)
    records = log.records()
    assert [r.seq for r in records] == list(range(1, 101))
    assert log.verify().ok


def test_current_actor_reads_git_config(repo: RepoWithRemote) -> None:
    repo.git("config", "user.name", "Ada Lovelace")
    repo.git("config", "user.email", "ada@example.invalid")
    actor = current_actor(repo.path)
    assert actor.startswith("Ada Lovelace <ada@example.invalid> (os: ")
