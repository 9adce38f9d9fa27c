"""Append-only storage of the audit chain in SQLite (WAL), safe across processes.

Appending reads the head and writes the new record inside one ``BEGIN IMMEDIATE``
transaction, so two processes appending at once queue up instead of forking the chain.
Triggers refuse UPDATE and DELETE on the table; someone who drops them and edits rows
anyway is caught by ``verify`` (see ``desktop.core.audit``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from desktop.core.audit import (
    AuditError,
    AuditHead,
    AuditRecord,
    AuditReport,
    StoredRecord,
    export_document,
    seal,
    verify,
)
from desktop.core.errors import HonkError

__all__ = ["AuditLog", "AuditStoreError"]

_RECORD_COLUMNS = (
    "at", "action", "change_id", "request", "commit_sha", "actor",
    "artifact_sha256", "device", "judge_verdict", "merge_result", "reason",
)
_COLUMNS = ("seq", *_RECORD_COLUMNS, "prev_hash", "hash")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    change_id TEXT NOT NULL,
    request TEXT NOT NULL,
    commit_sha TEXT NOT NULL,
    actor TEXT NOT NULL,
    artifact_sha256 TEXT,
    device TEXT,
    judge_verdict TEXT,
    merge_result TEXT,
    reason TEXT,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE refused'); END;
"""


class AuditStoreError(HonkError, RuntimeError):
    """The audit database cannot be opened or read; ``str()`` names the file."""


class _UnreadableRow(AuditStoreError):
    def __init__(self, message: str, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


class AuditLog:
    """The audit chain in table ``audit`` of the SQLite file ``path`` (created if absent)."""

    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = path
        self._timeout = timeout
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise AuditStoreError(f"audit log {path}: cannot open: {exc}") from exc

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: callers may come from worker threads, and SQLite's
        # own locking (not a Python lock) is what keeps other processes in line.
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        with closing(conn):
            yield conn

    def append(self, record: AuditRecord) -> StoredRecord:
        """Chain ``record`` after the current head and store it atomically."""
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")  # takes the write lock before reading head
                try:
                    stored = seal(record, self._head(conn))
                    row = stored.to_dict()
                    conn.execute(
                        f"INSERT INTO audit ({', '.join(_COLUMNS)}) "
                        f"VALUES ({', '.join('?' for _ in _COLUMNS)})",
                        [row[c] for c in _COLUMNS],
                    )
                    conn.execute(
                        "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                        (stored.seq, stored.hash),
                    )
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
        except sqlite3.Error as exc:
            raise AuditStoreError(f"audit log {self.path}: append failed: {exc}") from exc
        return stored

    @staticmethod
    def _head(conn: sqlite3.Connection) -> AuditHead | None:
        # Chain onto the kept head, not onto the last row left: if someone deleted the tail,
        # the next record still points past the gap and verify() keeps naming it.
        row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        if row is None:
            row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else AuditHead(int(row[0]), str(row[1]))

    def records(self) -> list[StoredRecord]:
        """Every stored record in seq order."""
        return self._select("", ())

    def _select(self, where: str, params: tuple[str, ...]) -> list[StoredRecord]:
        try:
            with self._connect() as conn:
                rows = conn.execute(
                    f"SELECT {', '.join(_COLUMNS)} FROM audit {where} ORDER BY seq", params
                ).fetchall()
        except sqlite3.Error as exc:
            raise AuditStoreError(f"audit log {self.path}: read failed: {exc}") from exc
        out = []
        for row in rows:
            try:
                out.append(StoredRecord.from_dict(dict(zip(_COLUMNS, row, strict=True))))
            except AuditError as exc:
                raise _UnreadableRow(
                    f"audit log {self.path}: row seq={row[0]}: {exc}", int(row[0])
                ) from exc
        return out

    def head(self) -> AuditHead | None:
        """The separately kept last seq and hash (None for an empty log)."""
        try:
            with self._connect() as conn:
                row = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        except sqlite3.Error as exc:
            raise AuditStoreError(f"audit log {self.path}: read failed: {exc}") from exc
        return None if row is None else AuditHead(int(row[0]), str(row[1]))

    def verify(self) -> AuditReport:
        """Recompute the chain; a row that cannot even be parsed is reported as altered."""
        try:
            records = self.records()
        except _UnreadableRow as exc:
            return AuditReport(False, exc.seq - 1, f"record {exc.seq} was altered ({exc})",
                               first_bad_seq=exc.seq, problem="altered")
        head = self.head()
        if head is None and records:
            last = records[-1].seq
            return AuditReport(False, 0, f"the audit head is missing, so record {last} cannot "
                               "be confirmed as the last one (altered)",
                               first_bad_seq=last, problem="altered")
        return verify(records, head)

    def export_json(self) -> str:
        """The whole log as JSON (``desktop.core.audit.parse_export`` reads it back)."""
        return export_document(self.records(), self.head())

    def find(self, change_id: str) -> list[StoredRecord]:
        """The records about one change, oldest first."""
        return self._select("WHERE change_id = ?", (change_id,))

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"
