"""`honk journal repair`: set a damaged journal aside and salvage what it still holds.

The damaged files (the database and its -wal/-shm) are renamed aside, never deleted or
written to. Salvage reads a scratch copy of them, event row by event row (bisecting around
pages that no longer read), keeps every row that still decodes to a known event, and
replays those into a fresh journal, which rebuilds each change's summary from its events.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.store.journal import ChangeJournal, JournalError
from desktop.core.errors import HonkError
from desktop.core.events import Event, event_from_dict

__all__ = ["RepairError", "RepairReport", "journal_is_healthy", "repair_journal"]

_SIDE_FILES = ("-wal", "-shm")
_CHUNK = 512  # rows read per query before bisecting around unreadable pages


class RepairError(HonkError, RuntimeError):
    """Repair could not run; nothing was moved or changed."""


@dataclass(frozen=True)
class RepairReport:
    journal: Path  # the new journal, at the old path
    set_aside: Path  # the damaged database, renamed (its -wal/-shm beside it)
    events_saved: int
    rows_unreadable: int  # rows (or rowid gaps) that could not be read or decoded
    changes: int

    def __str__(self) -> str:
        lost = (f"; {self.rows_unreadable} rows could not be read" if self.rows_unreadable
                else "")
        return (f"saved {self.events_saved} events of {self.changes} changes into a new "
                f"journal {self.journal}{lost}. The damaged journal was kept, untouched, as "
                f"{self.set_aside}")


def journal_is_healthy(path: Path) -> tuple[bool, str]:
    """Whether SQLite's integrity check passes and every event decodes; and what it said."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        return False, str(exc)
    try:
        result = [r[0] for r in db.execute("PRAGMA integrity_check")]
        if result != ["ok"]:
            return False, "; ".join(result[:3])
        for (data,) in db.execute("SELECT data FROM events"):
            event_from_dict(json.loads(data))
    except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
        return False, str(exc)
    finally:
        db.close()
    return True, "ok"


def repair_journal(path: Path, *, now: float | None = None) -> RepairReport:
    """Set ``path`` aside and rebuild a journal there from what can still be read."""
    if not path.is_file():
        raise RepairError(f"no journal at {path}: nothing to repair")
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(time.time() if now is None else now))
    aside = _free_name(path, stamp)
    with tempfile.TemporaryDirectory(prefix="honk-repair-", dir=path.parent) as tmp:
        scratch = Path(tmp) / "damaged.sqlite3"
        _copy_with_sides(path, scratch)  # read a copy: SQLite may write to what it opens
        fresh = Path(tmp) / "fresh.sqlite3"
        saved, unreadable, changes = _salvage(scratch, fresh)
        # Only now move anything: a failure above leaves the damaged journal where it was.
        for suffix in _SIDE_FILES:
            side = path.with_name(path.name + suffix)
            if side.exists():
                side.rename(aside.with_name(aside.name + suffix))
        path.rename(aside)
        fresh.rename(path)
    return RepairReport(journal=path, set_aside=aside, events_saved=saved,
                        rows_unreadable=unreadable, changes=changes)


def _free_name(path: Path, stamp: str) -> Path:
    for n in range(1000):
        candidate = path.with_name(f"{path.name}.damaged-{stamp}" + (f"-{n}" if n else ""))
        if not any(candidate.with_name(candidate.name + s).exists() for s in ("", *_SIDE_FILES)):
            return candidate
    raise RepairError(f"too many set-aside copies of {path} already; move some away")


def _copy_with_sides(src: Path, dst: Path) -> None:
    shutil.copyfile(src, dst)
    for suffix in _SIDE_FILES:
        side = src.with_name(src.name + suffix)
        if side.exists():
            shutil.copyfile(side, dst.with_name(dst.name + suffix))


def _salvage(damaged: Path, fresh: Path) -> tuple[int, int, int]:
    """Replay every readable event of ``damaged`` into a new journal at ``fresh``."""
    try:
        journal = ChangeJournal(fresh)
    except JournalError as exc:
        raise RepairError(f"could not create a new journal at {fresh}: {exc}") from exc
    saved = unreadable = 0
    ids: set[str] = set()
    try:
        try:
            src = sqlite3.connect(damaged)
        except sqlite3.Error:
            return 0, 0, 0
        try:
            for row in _rows(src):
                if row is None:
                    unreadable += 1
                    continue
                event = _decode(row)
                if event is None:
                    unreadable += 1
                    continue
                journal.append(event)
                ids.add(event.change)
                saved += 1
        finally:
            src.close()
    finally:
        journal.close()
    return saved, unreadable, len(ids)


def _decode(data: str) -> Event | None:
    try:
        event = event_from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError):
        return None
    return None if event.ephemeral else event


def _rows(db: sqlite3.Connection) -> Iterator[str | None]:
    """Each event's JSON in seq order; None for a row that exists but cannot be read."""
    top = _max_seq(db)
    if top is None:  # no count to go by: read in order until the first unreadable page
        try:
            for (data,) in db.execute("SELECT data FROM events ORDER BY seq"):
                yield data if isinstance(data, str) else None
        except sqlite3.DatabaseError:
            yield None
        return
    start = 1
    while start <= top:
        yield from _range(db, start, min(top, start + _CHUNK - 1))
        start += _CHUNK


def _range(db: sqlite3.Connection, lo: int, hi: int) -> Iterator[str | None]:
    try:
        rows = db.execute("SELECT data FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq",
                          (lo, hi)).fetchall()
    except sqlite3.DatabaseError:
        if lo == hi:
            yield None  # this rowid's page is gone (or it never existed: counted either way)
            return
        mid = (lo + hi) // 2
        yield from _range(db, lo, mid)
        yield from _range(db, mid + 1, hi)
        return
    for (data,) in rows:
        yield data if isinstance(data, str) else None
    for _ in range(hi - lo + 1 - len(rows)):  # seq has no gaps: a missing row was lost
        yield None


def _max_seq(db: sqlite3.Connection) -> int | None:
    """The highest seq ever used: from the table, else from AUTOINCREMENT's record."""
    for sql in ("SELECT max(seq) FROM events", "SELECT seq FROM sqlite_sequence "
                "WHERE name='events'"):
        try:
            row = db.execute(sql).fetchone()
        except sqlite3.DatabaseError:
            continue
        if row and isinstance(row[0], int):
            return int(row[0])
    return None
