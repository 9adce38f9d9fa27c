"""What the Claude Code CLI says, as plain dataclasses of our own.

The SDK's message classes are translated here, in the one package that imports the SDK, so
the agent step reads a small vocabulary that does not move when the SDK does, and tests can
build it by hand.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, TypeAlias

__all__ = [
    "CliEvent",
    "Finished",
    "RawEvent",
    "Retrying",
    "Started",
    "ToolResult",
    "ToolUse",
    "translate",
]


@dataclass(frozen=True)
class Started:
    """The CLI is up: its session, model and the tools it offers the model."""

    session_id: str
    model: str
    tools: tuple[str, ...]


@dataclass(frozen=True)
class RawEvent:
    """One raw Messages API stream event of the main agent (``message_start``, deltas...)."""

    event: dict[str, Any]


@dataclass(frozen=True)
class ToolUse:
    """A complete tool call, as the model made it (sent once its block has streamed)."""

    id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave back to the model (a refusal is an error result)."""

    tool_use_id: str
    text: str
    is_error: bool


@dataclass(frozen=True)
class Retrying:
    """The CLI retries a failed API request (a cut stream, a 5xx, a 429)."""

    attempt: int
    max_retries: int
    error: str
    status: int | None = None


@dataclass(frozen=True)
class Finished:
    """The run's result: ``subtype`` is ``success`` or ``error_max_turns``,
    ``error_max_budget_usd``, ``error_during_execution``..."""

    subtype: str
    is_error: bool
    num_turns: int
    session_id: str
    total_cost_usd: float | None = None
    result: str = ""
    api_error_status: int | None = None
    errors: tuple[str, ...] = ()
    usage: dict[str, Any] = field(default_factory=dict)


CliEvent: TypeAlias = Started | RawEvent | ToolUse | ToolResult | Retrying | Finished


def translate(sdk: ModuleType, message: object) -> list[CliEvent]:
    """Our events for one SDK message (none for what Honk does not use)."""
    if isinstance(message, sdk.StreamEvent):
        if message.parent_tool_use_id is None:  # no sub-agents run, but never mix theirs in
            return [RawEvent(message.event)]
        return []
    if isinstance(message, sdk.AssistantMessage):
        return [ToolUse(b.id, b.name, dict(b.input)) for b in message.content
                if isinstance(b, sdk.ToolUseBlock)]
    if isinstance(message, sdk.UserMessage):
        if not isinstance(message.content, list):
            return []
        return [ToolResult(b.tool_use_id, _text(b.content), bool(b.is_error))
                for b in message.content if isinstance(b, sdk.ToolResultBlock)]
    if isinstance(message, sdk.ResultMessage):
        return [Finished(
            subtype=message.subtype, is_error=message.is_error, num_turns=message.num_turns,
            session_id=message.session_id, total_cost_usd=message.total_cost_usd,
            result=message.result or "", api_error_status=message.api_error_status,
            errors=tuple(str(e) for e in message.errors or ()), usage=dict(message.usage or {}),
        )]
    if isinstance(message, sdk.SystemMessage):
        return _system(message.subtype, message.data)
    return []


def _system(subtype: str, data: dict[str, Any]) -> list[CliEvent]:
    if subtype == "init":
        tools = data.get("tools")
        return [Started(str(data.get("session_id", "")), str(data.get("model", "")),
                        tuple(str(t) for t in tools) if isinstance(tools, list) else ())]
    if subtype == "api_retry":
        status = data.get("error_status")
        return [Retrying(int(data.get("attempt") or 0), int(data.get("max_retries") or 0),
                         str(data.get("error") or "unknown"),
                         status if isinstance(status, int) else None)]
    return []


def _text(content: object) -> str:
    """A tool result's content as text (a string, or text blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) if isinstance(b, dict) and b.get("type") == "text"
                         else json.dumps(b) for b in content)
    return str(content)
