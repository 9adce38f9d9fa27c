"""A run's events, journalled by a writer thread and reported in order on the loop thread.

The bus appends an event to the journal before any subscriber sees it. Done on the loop
thread, that is SQLite I/O (and its GIL hand-offs) in the middle of the window's frame; ten
changes at once add up to visible stalls. :class:`OrderedEmitter` keeps the promise without
the wait: ``emit`` queues the event and returns; a drain task hands the queued durable events
to one writer thread (a single transaction), and only once they are stored reports the whole
batch, in order, through the bus (which sees they are stored and does not write them again).

Guarantees: a change's events are stored and reported in the order they were emitted; an
event is reported only after it is durable, so a crash loses nothing already reported. A
failed write is sticky: the next ``emit`` (or ``flush``) raises the JournalError, and nothing
of the failed batch is reported.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor

from desktop.adapters.store.journal import ChangeJournal, JournalError
from desktop.core.events import Event

__all__ = ["OrderedEmitter"]


class OrderedEmitter:
    """``ctx.emit`` for one run: never waits on SQLite on the loop thread."""

    def __init__(
        self,
        journal: ChangeJournal,
        report: Callable[[Event], None],
        writer: Executor,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self._journal = journal
        self._report = report  # the bus's emit: subscribers (the journal skips stored events)
        self._writer = writer  # one thread, so batches are stored in the order they left
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._queue: list[Event] = []
        self._drain: asyncio.Task[None] | None = None
        self._error: JournalError | None = None

    def emit(self, event: Event) -> None:
        """Queue ``event``; raises the JournalError of an earlier failed write."""
        if threading.get_ident() != self._loop_thread:
            # A step's helper thread (an install's progress): keep order via the loop.
            self._loop.call_soon_threadsafe(self._emit_on_loop, event)
            return
        self._emit_on_loop(event)

    def _emit_on_loop(self, event: Event) -> None:
        if self._error is not None:
            raise self._error
        self._queue.append(event)
        if self._drain is None or self._drain.done():
            self._drain = self._loop.create_task(self._drain_queue())

    async def _drain_queue(self) -> None:
        while self._queue and self._error is None:
            batch, self._queue = self._queue, []
            durable = [e for e in batch if not e.ephemeral]
            if durable:
                try:
                    await self._loop.run_in_executor(self._writer, self._journal.store, durable)
                except JournalError as exc:
                    self._error = exc
                    return
            for event in batch:
                self._report(event)

    async def flush(self) -> None:
        """Wait until every queued event is stored and reported; raises a failed write's
        JournalError."""
        while self._drain is not None and not self._drain.done():
            await asyncio.shield(self._drain)
        if self._error is not None:
            raise self._error
