"""What arrives over Socket Mode: one request per envelope, and the memory that drops repeats.

Slack redelivers an envelope it thinks went unacknowledged (``retry_attempt`` > 0), and one
person's message can arrive twice as different events (``app_mention`` and ``message``).
Each request therefore carries several identities; a request is new only if none of them
has been seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SeenRequests", "SlackRequest"]

Identity = tuple[str, ...]


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class SlackRequest:
    """One Socket Mode envelope, already acknowledged to Slack.

    ``kind`` is the envelope type: ``events_api``, ``slash_commands`` or ``interactive``.
    ``payload`` is Slack's payload untouched; the properties read the common fields.
    """

    kind: str
    envelope_id: str
    payload: Mapping[str, Any]
    retry_attempt: int = 0
    retry_reason: str = ""

    @property
    def event(self) -> Mapping[str, Any]:
        """The inner event of an ``events_api`` envelope (empty otherwise)."""
        event = self.payload.get("event") if self.kind == "events_api" else None
        return event if isinstance(event, Mapping) else {}

    @property
    def user_id(self) -> str | None:
        user = self.payload.get("user")
        return (_text(self.event.get("user")) or _text(self.payload.get("user_id"))
                or (_text(user.get("id")) if isinstance(user, Mapping) else None))

    @property
    def channel_id(self) -> str | None:
        channel = self.payload.get("channel")
        return (_text(self.event.get("channel")) or _text(self.payload.get("channel_id"))
                or (_text(channel.get("id")) if isinstance(channel, Mapping) else None))

    @property
    def text(self) -> str:
        return _text(self.event.get("text")) or _text(self.payload.get("text")) or ""

    @property
    def actions(self) -> list[Mapping[str, Any]]:
        """``block_actions`` actions (``action_id``, ``value``, ...); empty for the rest."""
        actions = self.payload.get("actions")
        return [a for a in actions if isinstance(a, Mapping)] if isinstance(actions, list) else []

    @property
    def identities(self) -> tuple[Identity, ...]:
        """Every key under which a repeat of this request would be recognised."""
        keys: list[Identity] = [("envelope", self.envelope_id)]
        event = self.event
        if _text(self.payload.get("event_id")):
            keys.append(("event", str(self.payload["event_id"])))
        if _text(event.get("channel")) and _text(event.get("ts")):
            keys.append(("message", str(event["channel"]), str(event["ts"])))
        if _text(self.payload.get("trigger_id")):
            keys.append(("trigger", str(self.payload["trigger_id"])))
        container = self.payload.get("container")
        message_ts = container.get("message_ts") if isinstance(container, Mapping) else None
        for action in self.actions:
            # action_ts is set per press: a redelivery repeats it, a second press does not.
            keys.append(("action", str(action.get("action_id")), str(message_ts),
                         str(self.user_id), str(action.get("action_ts"))))
        return tuple(keys)


class SeenRequests:
    """The identities of the last ``limit`` requests (thread-safe)."""

    def __init__(self, limit: int = 5000) -> None:
        self._limit = limit
        self._seen: OrderedDict[Identity, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, request: SlackRequest) -> bool:
        """Remember ``request``; False when any of its identities was already seen."""
        keys = request.identities
        with self._lock:
            repeat = any(key in self._seen for key in keys)
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._limit:
                self._seen.popitem(last=False)
        return not repeat
