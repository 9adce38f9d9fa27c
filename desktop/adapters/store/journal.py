"""The change journal: every durable event, appended to SQLite (WAL) as it happens.

A change's state is a fold over its events (``desktop.core.state``). A summary row per
change is kept up to date in the same transaction as each append, so `honk history`
reads one row per change instead of replaying every event.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

# Event types defined beside the stages that emit them register themselves on import; the
# journal must know every type it may read back.
from desktop.core import build_events, judge_events, slack_events  # noqa: F401
from desktop.core.errors import HonkError
from desktop.core.events import Event, VerifierResult, event_from_dict, event_to_dict
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView, StageView, fold, fold_one

__all__ = ["ChangeJournal", "JournalDamaged", "JournalError"]

# A page of the database went bad after it was opened: SQLite's own error, named here so the
# front ends can tell it apart (and offer `honk journal repair`) without importing sqlite3.
JournalDamaged = sqlite3.DatabaseError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    change TEXT NOT NULL,
    type TEXT NOT NULL,
    at REAL NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_change ON events(change, seq);
CREATE TABLE IF NOT EXISTS changes (
    id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    last_seq INTEGER NOT NULL,
    view TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
SCHEMA_VERSION = "1"


class JournalError(HonkError, RuntimeError):
    """The journal cannot be used; the message says which file and what to do."""


class ChangeJournal:
    """Append-only event store. Safe to share between the loop thread and worker threads."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 10.0) -> None:
        self.path = path
        self.busy_timeout_s = busy_timeout_s  # how long a write waits for another writer
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Events a writer thread stored ahead of the bus reporting them (see journal_writer):
        # id -> (event, seq); the event is kept so its id cannot be reused meanwhile.
        self._stored: dict[int, tuple[Event, int]] = {}
        # Its own lock: the bus's append of a stored event (on the loop thread) must not wait
        # for the writer thread's transaction, which holds ``_lock``.
        self._stored_lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._check_integrity()
        except sqlite3.DatabaseError as exc:
            raise JournalError(
                f"the journal {path} is unreadable ({exc}). It was left untouched; "
                f"run `honk journal repair` to copy what can be saved into a new one."
            ) from exc

    def _check_integrity(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
        elif row[0] != SCHEMA_VERSION:
            raise JournalError(
                f"the journal {self.path} has schema {row[0]}, expected "
                f"{SCHEMA_VERSION}; use the Honk version that wrote it"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def append(self, event: Event) -> int:
        """Store one durable event and update its change's summary; returns its seq.

        An event :meth:`store` already stored (the bus reporting it afterwards) is not
        stored twice: its seq is returned.
        """
        with self._stored_lock:
            held = self._stored.pop(id(event), None)
        if held is not None and held[0] is event:
            return held[1]
        return self._write([event])[0]

    def store(self, events: list[Event]) -> list[int]:
        """Store ``events`` in one transaction (all or none), in order, ahead of the bus
        reporting them; the bus's later :meth:`append` of each is then a no-op."""
        seqs = self._write(events)
        with self._stored_lock:
            for event, seq in zip(events, seqs, strict=True):
                self._stored[id(event)] = (event, seq)
        return seqs

    def _write(self, events: list[Event]) -> list[int]:
        for event in events:
            if event.ephemeral:
                raise ValueError(f"{event.type} events are ephemeral and not journalled")
        rows = [(e, json.dumps(event_to_dict(e), ensure_ascii=False)) for e in events]
        seqs: list[int] = []
        views: dict[str, ChangeView] = {}
        try:
            with self._transaction() as db:
                for event, data in rows:
                    cur = db.execute(
                        "INSERT INTO events(change, type, at, data) VALUES (?, ?, ?, ?)",
                        (event.change, event.type, event.at, data),
                    )
                    seq = int(cur.lastrowid or 0)
                    view = views.get(event.change) or self._summary(db, event.change)
                    views[event.change] = view = fold_one(view, event)
                    db.execute(
                        "INSERT INTO changes(id, created_at, last_seq, view) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(id) DO UPDATE SET last_seq=excluded.last_seq, "
                        "view=excluded.view",
                        (event.change, view.created_at or event.at, seq, _view_to_json(view)),
                    )
                    seqs.append(seq)
        except sqlite3.OperationalError as exc:
            raise JournalError(self._write_failure(exc)) from exc
        return seqs

    @staticmethod
    def _summary(db: sqlite3.Connection, change: str) -> ChangeView:
        row = db.execute("SELECT view FROM changes WHERE id=?", (change,)).fetchone()
        return _view_from_json(row[0]) if row else ChangeView(id=change)

    def _write_failure(self, exc: sqlite3.OperationalError) -> str:
        """Why an append failed, in words; every event stored before it is still there."""
        text = str(exc)
        head = f"could not write to the journal {self.path}: {text}"
        if "full" in text:
            return (f"{head}. The disk holding it is full: free some space, then `honk resume` "
                    "the change. Every event stored before this one is kept")
        if "locked" in text or "busy" in text:
            return (f"{head}: another process kept it locked for more than "
                    f"{self.busy_timeout_s:g} s (another Honk, or a tool holding the file "
                    "open). Close that, then `honk resume` the change")
        return head

    def events(self, change: str) -> list[Event]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM events WHERE change=? ORDER BY seq", (change,)
            ).fetchall()
        return [event_from_dict(json.loads(r[0])) for r in rows]

    def view(self, change: str) -> ChangeView | None:
        """The change's folded state, or None if the journal never heard of it."""
        with self._lock:
            row = self._db.execute("SELECT view FROM changes WHERE id=?", (change,)).fetchone()
        return _view_from_json(row[0]) if row else None

    def replay(self, change: str) -> ChangeView:
        """Fold the change from its events (the summary's ground truth)."""
        return fold(change, self.events(change))

    def changes(self, limit: int | None = None) -> list[ChangeView]:
        """Every change, newest first."""
        sql = "SELECT view FROM changes ORDER BY created_at DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._lock:
            rows = self._db.execute(sql).fetchall()
        return [_view_from_json(r[0]) for r in rows]

    def find(self, prefix: str) -> list[str]:
        """Change ids starting with ``prefix`` (so people can type a short id)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM changes WHERE id >= ? AND id < ? ORDER BY id",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return [r[0] for r in rows]


def _view_to_json(view: ChangeView) -> str:
    data = asdict(view)
    data["verifiers"] = [event_to_dict(v) for v in view.verifiers]
    return json.dumps(data, ensure_ascii=False)


def _view_from_json(text: str) -> ChangeView:
    data: dict[str, Any] = json.loads(text)
    data["state"] = ChangeState(data["state"])
    data["stages"] = tuple(
        StageView(**{**s, "stage": Stage(s["stage"])}) for s in data.get("stages", [])
    )
    data["verifiers"] = tuple(
        v
        for v in (event_from_dict(d) for d in data.get("verifiers", []))
        if isinstance(v, VerifierResult)
    )
    data["files"] = tuple(data.get("files", ()))
    return ChangeView(**data)
