"""The wire form of the scripted Messages API: Message JSON, SSE events, errors.

Pure functions, so the exact shapes can be tested without a socket.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, TypeAlias

from desktop.sim.messages_script import TextBlock, ToolUseBlock, Turn

SseEvent: TypeAlias = tuple[str, str]  # (event name, data line as sent)


def new_message_id() -> str:
    """A fresh id in the API's `msg_...` form."""
    return f"msg_sim{uuid.uuid4().hex[:20]}"


def new_tool_use_id() -> str:
    """A fresh id in the API's `toolu_...` form."""
    return f"toolu_sim{uuid.uuid4().hex[:20]}"


def _tool_ids(turn: Turn) -> list[str | None]:
    return [
        (b.id or new_tool_use_id()) if isinstance(b, ToolUseBlock) else None for b in turn.blocks
    ]


def _chunks(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def message_json(turn: Turn, model: str, message_id: str | None = None) -> dict[str, Any]:
    """The full Message object a non-streaming request gets."""
    content: list[dict[str, Any]] = []
    for block, tool_id in zip(turn.blocks, _tool_ids(turn), strict=True):
        if isinstance(block, TextBlock):
            content.append({"type": "text", "text": block.text})
        else:
            content.append(
                {"type": "tool_use", "id": tool_id, "name": block.name, "input": block.input}
            )
    return {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": turn.effective_stop_reason,
        "stop_sequence": None,
        "usage": turn.usage.as_json(),
    }


def sse_events(turn: Turn, model: str, message_id: str | None = None) -> list[SseEvent]:
    """The SSE events of a streamed turn, in the real API's order (one ping after start)."""
    start_usage = {**turn.usage.as_json(), "output_tokens": min(1, turn.usage.output_tokens)}
    message: dict[str, Any] = {
        "id": message_id or new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": start_usage,
    }
    events: list[SseEvent] = [
        ("message_start", _dump({"type": "message_start", "message": message})),
        ("ping", _dump({"type": "ping"})),
    ]
    for index, (block, tool_id) in enumerate(zip(turn.blocks, _tool_ids(turn), strict=True)):
        if isinstance(block, TextBlock):
            start: dict[str, Any] = {"type": "text", "text": ""}
            pieces = [("text_delta", "text", p) for p in _chunks(block.text, turn.chunk_chars)]
        else:
            start = {"type": "tool_use", "id": tool_id, "name": block.name, "input": {}}
            serialized = json.dumps(block.input, ensure_ascii=False)
            pieces = [
                ("input_json_delta", "partial_json", p)
                for p in _chunks(serialized, turn.chunk_chars)
            ]
        events.append(
            (
                "content_block_start",
                _dump({"type": "content_block_start", "index": index, "content_block": start}),
            )
        )
        for delta_type, key, piece in pieces:
            delta = {"type": delta_type, key: piece}
            events.append(
                (
                    "content_block_delta",
                    _dump({"type": "content_block_delta", "index": index, "delta": delta}),
                )
            )
        events.append(("content_block_stop", _dump({"type": "content_block_stop", "index": index})))
    stop = {"stop_reason": turn.effective_stop_reason, "stop_sequence": None}
    events.append(
        (
            "message_delta",
            _dump({"type": "message_delta", "delta": stop, "usage": turn.usage.as_json()}),
        )
    )
    if not turn.omit_message_stop:
        events.append(("message_stop", _dump({"type": "message_stop"})))
    if turn.malformed:
        events = _break_one(events)
    if turn.error_after_events is not None:
        error = {"type": turn.error_type, "message": f"scripted {turn.error_type} mid-stream"}
        events = [
            *events[: turn.error_after_events],
            ("error", _dump({"type": "error", "error": error})),
        ]
    return events


def _break_one(events: list[SseEvent]) -> list[SseEvent]:
    """Cut the first delta's JSON in half, as a proxy that mangles a line would."""
    names = [name for name, _ in events]
    target = "content_block_delta" if "content_block_delta" in names else "message_delta"
    i = names.index(target)
    name, data = events[i]
    return [*events[:i], (name, data[: len(data) // 2]), *events[i + 1 :]]


def encode_sse(event: SseEvent) -> bytes:
    """One SSE event on the wire: `event:` line, `data:` line, blank line."""
    name, data = event
    return f"event: {name}\ndata: {data}\n\n".encode()


def error_body(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    """Anthropic's error JSON shape."""
    return {
        "type": "error",
        "error": {"type": error_type, "message": message},
        "request_id": request_id,
    }


def check_request(body: Any) -> str | None:
    """What is wrong with a Messages request body, named like the API does, or None."""
    if not isinstance(body, dict):
        return f"request body: expected a JSON object, got {type(body).__name__}"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return f"model: Field required (a non-empty string), got {model!r}"
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return f"max_tokens: expected an integer >= 1, got {max_tokens!r}"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return f"messages: expected a non-empty list, got {messages!r}"
    return None


def model_info(model: str) -> dict[str, Any]:
    """A ModelInfo object as `GET /v1/models` lists it."""
    return {
        "type": "model",
        "id": model,
        "display_name": model.replace("-", " ").title(),
        "created_at": "2026-01-01T00:00:00Z",
        "lifecycle": "active",
    }


def new_request_id() -> str:
    """A fresh id in the API's `req_...` form."""
    return f"req_sim{uuid.uuid4().hex[:20]}"


def models_page(models: Sequence[str]) -> dict[str, Any]:
    """The page `GET /v1/models` answers: every model, no further pages."""
    return {
        "data": [model_info(m) for m in models],
        "has_more": False,
        "first_id": models[0] if models else None,
        "last_id": models[-1] if models else None,
    }
