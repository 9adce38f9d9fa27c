"""The event bus: journal first (durable), then every subscriber (views, printers)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from desktop.core.events import Event

__all__ = ["EventBus", "EventStore"]

log = logging.getLogger(__name__)


class EventStore(Protocol):
    def append(self, event: Event) -> int: ...


Subscriber = Callable[[Event], None]


class EventBus:
    """``emit`` appends a durable event before anyone sees it, so a view never shows
    something the journal lost. Ephemeral events (stream deltas) skip the journal."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add a subscriber; returns a function that removes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def emit(self, event: Event) -> None:
        if not event.ephemeral:
            self._store.append(event)
        for subscriber in list(self._subscribers):
            try:
                subscriber(event)
            except Exception:  # a broken view must not stop the pipeline
                log.exception("event subscriber failed on %s", event.type)
