"""`honk journal repair`: check the journal and salvage a damaged one, refusing while any
Honk process could be writing it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from desktop.core.errors import UsageError

__all__ = ["repair_journal_in"]


def repair_journal_in(home: Path, say: Callable[[str], None]) -> None:
    """Repair ``home``'s journal, telling ``say`` what was found and done.

    UsageError while a Honk process uses ``home`` or when there is no journal; RepairError
    (or OSError) when the repair failed, and then the journal was left as it was.
    """
    from desktop.adapters.store.journal_repair import journal_is_healthy, repair_journal
    from desktop.adapters.store.locks import is_locked, read_holder

    path = home / "journal.sqlite3"
    busy = [p for p in [home / "app.lock", *sorted((home / "locks").glob("*.lock"))]
            if is_locked(p)]
    if busy:
        raise UsageError(f"{len(busy)} Honk process(es) still use {home} (e.g. "
                         f"{read_holder(busy[0]).describe()}, lock {busy[0]}); stop them first")
    if not path.is_file():
        raise UsageError(f"no journal at {path}: nothing to repair")
    healthy, detail = journal_is_healthy(path)
    if healthy:
        say(f"the journal {path} is healthy; nothing to repair")
        return
    say(f"the journal {path} is damaged: {detail}")
    say(str(repair_journal(path)))
