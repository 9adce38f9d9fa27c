"""What the journal keeps about a change that came from Slack: where its thread is (so after
a restart it keeps reporting there and its buttons keep working), what was posted into it
once (so a restart never posts it twice), and refusals of people who may not act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from desktop.core.events import Event

__all__ = ["SlackPosted", "SlackRefused", "SlackThread"]


@dataclass(frozen=True, kw_only=True)
class SlackThread(Event):
    """The change was asked for in Slack: its status message and thread."""

    type: ClassVar[str] = "slack_thread"
    channel: str
    thread_ts: str  # the thread every reply goes into
    status_ts: str  # the status message, kept current with chat.update
    user: str  # the Slack user ID who asked
    user_name: str = ""


@dataclass(frozen=True, kw_only=True)
class SlackPosted(Event):
    """A one-off reply went into the thread: ``kind`` "approval" (with the commit it offers)
    or "outcome" (merged, failed, rejected: with the state)."""

    type: ClassVar[str] = "slack_posted"
    kind: str
    key: str  # the commit offered for approval, or the final state


@dataclass(frozen=True, kw_only=True)
class SlackRefused(Event):
    """Someone asked for an action they may not take (e.g. Approve without being an
    approver); nothing was done."""

    type: ClassVar[str] = "slack_refused"
    user: str
    action: str
    reason: str
