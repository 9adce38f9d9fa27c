"""What the scripted Messages API answers: turns, HTTP errors, and their wire form.

A script is a sequence of responses consumed in order, one per request. A `Turn` is
rendered either as one Message JSON (non-streaming) or as the SSE events the real API
sends for `"stream": true`. Rendering is pure so it can be tested without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

EDIT_TOOL_NAME = "str_replace_based_edit_tool"

# Stop reasons the Messages API documents; anything else is a typo in a script.
STOP_REASONS = frozenset(
    {"end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn", "refusal"}
)


class ScriptError(ValueError):
    """A script item is invalid (raised when the script is built, not when served)."""


@dataclass(frozen=True)
class TextBlock:
    """A text content block, streamed as `text_delta` pieces."""

    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ScriptError(f"TextBlock.text: expected a str, got {type(self.text).__name__}")


@dataclass(frozen=True)
class ToolUseBlock:
    """A tool call; its input JSON is streamed as `input_json_delta` pieces."""

    name: str
    input: dict[str, Any]
    id: str | None = None  # None: the server makes a fresh `toolu_...` id per response

    def __post_init__(self) -> None:
        if not self.name:
            raise ScriptError("ToolUseBlock.name: expected a non-empty tool name, got ''")
        if not isinstance(self.input, dict):
            raise ScriptError(
                f"ToolUseBlock.input for tool {self.name!r}: expected a dict, "
                f"got {type(self.input).__name__}"
            )
        try:
            json.dumps(self.input)
        except (TypeError, ValueError) as exc:
            raise ScriptError(
                f"ToolUseBlock.input for tool {self.name!r} is not JSON-serializable: {exc}"
            ) from exc
        if self.id is not None and not self.id.startswith("toolu_"):
            raise ScriptError(f"ToolUseBlock.id: expected an id starting 'toolu_', got {self.id!r}")


Block: TypeAlias = TextBlock | ToolUseBlock


@dataclass(frozen=True)
class Usage:
    """Token usage reported for a turn (message_start and message_delta)."""

    input_tokens: int = 120
    output_tokens: int = 60
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __post_init__(self) -> None:
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ScriptError(f"Usage.{name}: expected an int >= 0, got {value!r}")

    def as_json(self) -> dict[str, int]:
        """The usage object as the API sends it."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }


@dataclass(frozen=True)
class Turn:
    """One assistant message, with knobs that imitate a bad network or a bad server.

    `cut_after_events` closes the TCP connection after that many SSE events (pings
    count); `omit_message_stop` ends the stream cleanly but without `message_stop`;
    `malformed` replaces the first delta (or message_delta) with a cut-off JSON line;
    `error_after_events` sends an SSE `error` event of `error_type` after that many
    events and ends the stream there (the API does this with overloaded_error).
    """

    blocks: Sequence[Block]
    stop_reason: str | None = None  # None: tool_use if any tool block, else end_turn
    usage: Usage = field(default_factory=Usage)
    chunk_chars: int = 16
    delay_s: float = 0.0
    cut_after_events: int | None = None
    omit_message_stop: bool = False
    malformed: bool = False
    error_after_events: int | None = None
    error_type: str = "overloaded_error"

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        for i, block in enumerate(self.blocks):
            if not isinstance(block, TextBlock | ToolUseBlock):
                raise ScriptError(
                    f"Turn.blocks[{i}]: expected TextBlock or ToolUseBlock, "
                    f"got {type(block).__name__}"
                )
        if self.stop_reason is not None and self.stop_reason not in STOP_REASONS:
            raise ScriptError(
                f"Turn.stop_reason: expected one of {sorted(STOP_REASONS)} or None, "
                f"got {self.stop_reason!r}"
            )
        if not isinstance(self.chunk_chars, int) or self.chunk_chars < 1:
            raise ScriptError(f"Turn.chunk_chars: expected an int >= 1, got {self.chunk_chars!r}")
        if self.delay_s < 0:
            raise ScriptError(f"Turn.delay_s: expected seconds >= 0, got {self.delay_s!r}")
        if self.cut_after_events is not None and self.cut_after_events < 0:
            raise ScriptError(
                f"Turn.cut_after_events: expected an int >= 0 or None, "
                f"got {self.cut_after_events!r}"
            )
        if self.error_after_events is not None and self.error_after_events < 0:
            raise ScriptError(
                f"Turn.error_after_events: expected an int >= 0 or None, "
                f"got {self.error_after_events!r}"
            )
        if not self.error_type:
            raise ScriptError("Turn.error_type: expected e.g. 'overloaded_error', got ''")

    @property
    def effective_stop_reason(self) -> str:
        """The stop reason sent: the scripted one, or the API's natural default."""
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(b, ToolUseBlock) for b in self.blocks):
            return "tool_use"
        return "end_turn"


@dataclass(frozen=True)
class HttpError:
    """An error response in Anthropic's error JSON shape (429, 529, 500, ...)."""

    status: int
    error_type: str
    message: str
    retry_after: float | None = None  # seconds, sent as the `retry-after` header

    def __post_init__(self) -> None:
        if not 400 <= self.status <= 599:
            raise ScriptError(f"HttpError.status: expected 400..599, got {self.status!r}")
        if not self.error_type:
            raise ScriptError("HttpError.error_type: expected e.g. 'rate_limit_error', got ''")
        if self.retry_after is not None and self.retry_after < 0:
            raise ScriptError(
                f"HttpError.retry_after: expected seconds >= 0, got {self.retry_after!r}"
            )


Response: TypeAlias = Turn | HttpError
Script: TypeAlias = Sequence[Response]


def rate_limited(retry_after: float | None = 0.05) -> HttpError:
    """A 429 rate_limit_error, by default asking to retry after 50 ms."""
    return HttpError(
        429,
        "rate_limit_error",
        "Number of request tokens has exceeded your rate limit.",
        retry_after,
    )


def overloaded(retry_after: float | None = None) -> HttpError:
    """A 529 overloaded_error, as the API sends under heavy load."""
    return HttpError(529, "overloaded_error", "Overloaded", retry_after)


def server_error(message: str = "Internal server error") -> HttpError:
    """A 500 api_error."""
    return HttpError(500, "api_error", message)


def text_turn(text: str, **knobs: Any) -> Turn:
    """A plain text answer that ends the turn (`end_turn`)."""
    return Turn([TextBlock(text)], **knobs)


def tool_turn(name: str, tool_input: dict[str, Any], text: str | None = None, **knobs: Any) -> Turn:
    """A turn calling one tool, optionally preceded by some text."""
    blocks: list[Block] = [TextBlock(text)] if text else []
    blocks.append(ToolUseBlock(name, tool_input))
    return Turn(blocks, **knobs)


def edit_turn(path: str, old: str, new: str, text: str | None = None, **knobs: Any) -> Turn:
    """A text-editor `str_replace` call replacing `old` with `new` in `path`."""
    edit = {"command": "str_replace", "path": path, "old_str": old, "new_str": new}
    return tool_turn(EDIT_TOOL_NAME, edit, text, **knobs)


def create_turn(path: str, file_text: str, text: str | None = None, **knobs: Any) -> Turn:
    """A text-editor `create` call writing `file_text` to `path`."""
    create = {"command": "create", "path": path, "file_text": file_text}
    return tool_turn(EDIT_TOOL_NAME, create, text, **knobs)
