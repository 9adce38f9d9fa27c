"""What the Slack stand-in's workspace holds: its people, the messages, ephemerals and files
posted in it, and the response_url hooks of slash commands and button presses.

One re-entrant lock (``lock``) guards it all; the methods that read or change it expect
their caller to hold it, the queries at the end take it themselves.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Ephemeral", "SlackFile", "SlackMessage", "Workspace"]


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    files: tuple[str, ...] = ()  # file ids
    edits: int = 0


@dataclass(frozen=True)
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    ts: str


@dataclass(frozen=True)
class SlackFile:
    id: str
    name: str
    title: str
    data: bytes
    channel: str | None
    thread_ts: str | None


class Workspace:
    """One team with one bot user; ``users`` maps a user id to (real_name, display_name)."""

    def __init__(self, *, team_id: str, bot_user_id: str, bot_id: str,
                 users: dict[str, tuple[str, str]]) -> None:
        self.team_id, self.bot_user_id, self.bot_id = team_id, bot_user_id, bot_id
        self.users = users
        self.lock = threading.RLock()
        self.messages: list[SlackMessage] = []
        self.ephemerals: list[Ephemeral] = []
        self.files: list[SlackFile] = []
        self.hooks: dict[str, dict[str, str]] = {}  # response_url key or envelope id -> context
        self._last_ts = 0

    # -- called with the lock held -------------------------------------------------------

    def next_ts(self) -> str:
        """A fresh message timestamp, later than every one before it."""
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def message_json(self, m: SlackMessage) -> dict[str, Any]:
        """The message as the Web API and events show it."""
        out: dict[str, Any] = {"type": "message", "user": m.user, "text": m.text, "ts": m.ts,
                               "team": self.team_id}
        extras = {"blocks": m.blocks, "thread_ts": m.thread_ts, "bot_id": m.bot_id,
                  "files": [{"id": f} for f in m.files] or None,
                  "edited": {"user": m.user, "ts": m.ts} if m.edits else None}
        out.update({k: v for k, v in extras.items() if v is not None})
        return out

    def add_message(self, channel: str, user: str, text: str, *,
                    blocks: Any = None, thread_ts: str | None = None,
                    files: tuple[str, ...] = ()) -> SlackMessage:
        bot = self.bot_id if user == self.bot_user_id else None
        message = SlackMessage(channel, self.next_ts(), text, user, blocks,
                               thread_ts or None, bot, files)
        self.messages.append(message)
        return message

    def find(self, channel: str, ts: str) -> int | None:
        """The index of the message ``ts`` in ``channel``, if there is one."""
        for i, m in enumerate(self.messages):
            if (m.channel, m.ts) == (channel, ts):
                return i
        return None

    def name(self, user: str) -> str:
        """The user's display name, else the id."""
        return self.users.get(user, ("", ""))[1] or user

    # -- queries (take the lock) ---------------------------------------------------------

    def posted(self, channel: str, thread_ts: str | None, *,
               include_humans: bool) -> list[SlackMessage]:
        """Messages in posting order: top level when ``thread_ts`` is None (thread parents
        included), else that thread's replies; the bot's only unless ``include_humans``."""
        with self.lock:
            found = [m for m in self.messages if m.channel == channel
                     and (include_humans or m.user == self.bot_user_id)]
        if thread_ts is None:
            return [m for m in found if m.thread_ts in (None, m.ts)]
        return [m for m in found if m.thread_ts == thread_ts and m.ts != thread_ts]

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        with self.lock:
            return [e for e in self.ephemerals if e.user == user]

    def files_in(self, channel: str, thread_ts: str | None) -> list[SlackFile]:
        with self.lock:
            return [f for f in self.files if f.channel == channel and f.thread_ts == thread_ts]
