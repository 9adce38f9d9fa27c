"""What a person asked for in Slack, read from one (already acknowledged) request: a new
change, a reply in a change's thread, or a button press. Pure functions of the payload."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from desktop.adapters.slack import SlackRequest
from desktop.core.errors import UsageError

__all__ = ["Ask", "Intent", "Press", "Reply", "pick_repo", "read_intent"]

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_REPO_PREFIX = re.compile(r"^([A-Za-z0-9_.-]+):(?:\s+(.*))?$", re.DOTALL)


@dataclass(frozen=True)
class Ask:
    """A new request: ``/honk ...``, a mention of the bot, or a direct message."""

    user: str
    channel: str
    text: str
    how: str  # slash | mention | dm
    thread_ts: str | None = None  # a mention is answered in its own thread


@dataclass(frozen=True)
class Reply:
    """A message in a thread (perhaps a change's: then it is a follow-up request)."""

    user: str
    channel: str
    thread_ts: str
    text: str
    mentioned: bool = False  # Honk was mentioned: a new request if the thread is no change's


@dataclass(frozen=True)
class Press:
    """A click on one of Honk's buttons."""

    user: str
    channel: str
    action_id: str
    value: str
    message_ts: str


Intent = Ask | Reply | Press


def _clean(text: str) -> str:
    """The text without mentions of anyone (the bot's own included)."""
    return " ".join(_MENTION.sub(" ", text).split())


def read_intent(request: SlackRequest, bot_user: str | None) -> Intent | None:
    """The intent of ``request``, or None for what Honk ignores (its own messages, edits,
    joins, other apps' buttons)."""
    user, channel = request.user_id or "", request.channel_id or ""
    if request.kind == "slash_commands":
        return Ask(user, channel, _clean(request.text), "slash") if user and channel else None
    if request.kind == "interactive":
        return _press(request.payload, user, channel)
    if request.kind != "events_api":
        return None
    event = request.event
    if event.get("bot_id") or event.get("subtype") or not user or not channel:
        return None  # bots (Honk itself), edits, deletions, joins
    if bot_user and user == bot_user:
        return None
    text, ts = str(event.get("text") or ""), str(event.get("ts") or "")
    thread = event.get("thread_ts")
    in_thread = isinstance(thread, str) and thread != ts
    mentioned = event.get("type") == "app_mention" or bool(
        bot_user and f"<@{bot_user}" in text)
    if in_thread:
        return Reply(user, channel, str(thread), _clean(text), mentioned)
    if mentioned:
        return Ask(user, channel, _clean(text), "mention", thread_ts=ts)
    if event.get("channel_type") == "im":
        return Ask(user, channel, _clean(text), "dm")
    return None  # channel chatter not addressed to Honk


def _press(payload: Mapping[str, Any], user: str, channel: str) -> Press | None:
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    action = actions[0] if isinstance(actions, list) and actions else None
    if not isinstance(action, Mapping) or not user:
        return None
    container = payload.get("container")
    message_ts = container.get("message_ts") if isinstance(container, Mapping) else None
    return Press(user, channel, str(action.get("action_id") or ""),
                 str(action.get("value") or ""), str(message_ts or ""))


def pick_repo(text: str, names: Sequence[str]) -> tuple[str, str]:
    """``[REPO:] REQUEST`` -> (repo name, request). With one repo the prefix is optional
    (and a prefix that is not its name belongs to the request). UsageError, listing the
    repos, when several are served and the text names none of them, or when nothing is
    asked (an empty request, or a repo name alone)."""
    text = text.strip()
    listed = ", ".join(names)
    match = _REPO_PREFIX.match(text)
    if match and match.group(1) in names:
        name, request = match.group(1), (match.group(2) or "").strip()
    elif len(names) == 1 or not text:
        name, request = names[0], text
    elif match:
        raise UsageError(f"unknown repo {match.group(1)!r}: this Honk serves {listed}. "
                         f"Start the request with one of them, e.g. `{names[0]}: ...`")
    else:
        raise UsageError(f"which repo? This Honk serves {listed}. Start the request with one "
                         f"of them, e.g. `{names[0]}: ...`")
    if not request:
        prefix = f"{names[0]}: " if len(names) > 1 else ""
        served = f" (this Honk serves {listed})" if len(names) > 1 else ""
        raise UsageError("an empty request: say what the agent should change, e.g. "
                         f"`/honk {prefix}make the play button bigger`{served}")
    return name, request
