"""A streamed Messages API response read as plain JSON events.

The SDK's own iteration decodes the SSE text line by line and builds a pydantic model of
every event (``construct_type``) on the loop thread; with ten changes streaming at once that
work alone fills the window's frames. The agent uses a handful of fields, so it reads the
bytes the SDK's response exposes (``AsyncStream.response``), splits them into events here
and ``json.loads`` each one. The request, auth, retries, HTTP errors and closing the response
all stay the SDK's; an SSE ``error`` event raises the SDK's own status error, as its
iteration would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["SSEParser", "json_events"]


class SSEParser:
    """Splits SSE bytes into (event name, data) pairs; feed chunks as they arrive.

    Lines may end in LF, CRLF or CR; an event ends at a blank line. Comment lines and the
    ``id``/``retry`` fields are ignored (the Messages API sends neither meaningfully).
    """

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, chunk: bytes) -> list[tuple[str | None, bytes]]:
        """The events completed by ``chunk``, in order."""
        data = self._buf + chunk
        if b"\r" in data:
            held = data.endswith(b"\r")  # maybe the first half of a CRLF split across chunks
            if held:
                data = data[:-1]
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                data += b"\r"
        *blocks, self._buf = data.split(b"\n\n")
        return [event for block in blocks if (event := _event(block)) is not None]

    def close(self) -> list[tuple[str | None, bytes]]:
        """The events a stream that ended without its final blank line still completed."""
        data, self._buf = self._buf.replace(b"\r", b"\n"), b""
        return [event for block in data.split(b"\n\n") if (event := _event(block)) is not None]


def _event(block: bytes) -> tuple[str | None, bytes] | None:
    name: str | None = None
    data: list[bytes] = []
    for line in block.split(b"\n"):
        if not line or line[:1] == b":":
            continue
        field, _, value = line.partition(b":")
        if value[:1] == b" ":
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8") or None
    if name is None and not data:
        return None
    return name, b"\n".join(data)


async def json_events(stream: Any, client: Any) -> AsyncIterator[dict[str, Any]]:
    """The JSON events of ``stream`` (what ``client.messages.create(stream=True)`` returned),
    skipping pings; an ``error`` event raises the SDK's status error for it.

    Malformed data raises ``ValueError`` (``json.JSONDecodeError``, ``UnicodeDecodeError``).
    """
    response = stream.response
    parser = SSEParser()
    async for chunk in response.aiter_bytes():
        for name, data in parser.feed(chunk):
            event = _decoded(name, data, response, client)
            if event is not None:
                yield event
    for name, data in parser.close():
        event = _decoded(name, data, response, client)
        if event is not None:
            yield event


def _decoded(name: str | None, data: bytes, response: Any, client: Any) -> dict[str, Any] | None:
    if name is None or name == "ping":
        return None  # as the SDK: events without a name are not the API's
    if name == "error":
        _raise_error(data, response, client)
    if not data:
        return None
    value = json.loads(data)
    if not isinstance(value, dict):
        raise ValueError(f"a {name} event's data is not a JSON object: {data[:80]!r}")
    return value


def _raise_error(data: bytes, response: Any, client: Any) -> None:
    text = data.decode("utf-8", "replace")
    body: object = text
    try:
        body = json.loads(text)
        message = f"{body}"
    except ValueError:
        message = text or f"Error code: {response.status_code}"
    raise client._make_status_error(message, body=body, response=response)
