"""The scripted Messages API's HTTP side: the server, its request handler, the record.

The handler answers `GET /v1/models`, `POST /v1/messages` and Claude Code's token count
from what its `MessagesBackend` (the `ScriptedMessagesAPI`) gives, and records every
request as its headers go out.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from desktop.sim.messages_claude_code import (
    COUNT_TOKENS_PATH,
    count_tokens,
    is_side_call,
    side_answer,
)
from desktop.sim.messages_script import HttpError, Response, Turn
from desktop.sim.messages_wire import (
    check_request,
    encode_sse,
    error_body,
    message_json,
    model_info,
    models_page,
    new_message_id,
    new_request_id,
    sse_events,
)

__all__ = [
    "SIDE_CALL_KEY",
    "MessagesBackend",
    "MessagesHandler",
    "MessagesServer",
    "RecordedRequest",
]

SIDE_CALL_KEY = "side-call"  # what a Claude Code side call is recorded as (no script turn)
_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received. Auth values are never kept, only whether auth was sent."""

    method: str
    path: str
    headers: dict[str, str]  # lower-cased names, without authorization / x-api-key
    auth_present: bool
    auth_scheme: str | None  # "bearer", "x-api-key" or None
    body: Any  # parsed JSON, or None when there was no valid JSON body
    key: str | None  # the script key the request was routed to, if any
    status: int  # the HTTP status answered
    query: str = ""  # the URL's query string (Claude Code sends beta=true)


class MessagesBackend(Protocol):
    """What the server and its handler use of the `ScriptedMessagesAPI`."""

    @property
    def expected_api_key(self) -> str | None: ...

    @property
    def models(self) -> tuple[str, ...]: ...

    @property
    def stopping(self) -> threading.Event: ...

    def _track(self, conn: socket.socket, open_: bool) -> None: ...

    def _record(self, request: RecordedRequest) -> None: ...

    def _next_response(self, body: Mapping[str, Any]) -> tuple[str, Response | str]: ...


class MessagesServer(ThreadingHTTPServer):
    """The loopback server; it tells its backend of every connection, for `stop()` to cut."""

    daemon_threads = True
    block_on_close = True  # server_close() joins handler threads, after stop() unblocks them
    api: MessagesBackend

    def process_request(self, request: Any, client_address: Any) -> None:
        # Tracked before the handler thread starts, so stop() cannot miss a connection.
        self.api._track(request, True)
        # Headers and body go out in separate writes; without this, Nagle plus delayed
        # ACKs adds ~40 ms per response and batches trickled SSE events.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.api._track(request, False)
        super().shutdown_request(request)


class MessagesHandler(BaseHTTPRequestHandler):
    """One connection's requests, answered from the backend's scripts and recorded."""

    protocol_version = "HTTP/1.1"  # keep-alive and chunked SSE, like the real API
    server: MessagesServer
    # The request being answered: its (body, key), recorded as its headers go out, before
    # the client can see any of the answer (a test reading the record after its answer
    # arrived must find it). None once recorded.
    _pending: tuple[Any, str | None] | None = None
    _status = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: requests are recorded instead

    def send_response(self, code: int, message: str | None = None) -> None:
        self._status = code
        super().send_response(code, message)

    def end_headers(self) -> None:
        if self._pending is not None:
            (body, key), self._pending = self._pending, None
            self._record_request(body, key, self._status)
        super().end_headers()

    # --- dispatch ----------------------------------------------------------------

    def do_GET(self) -> None:
        self._read_body()
        self._pending = (None, None)
        api = self.server.api
        path = self.path.split("?", 1)[0]
        if path == "/v1/models":
            if not self._answer_auth():
                self._send_json(200, models_page(api.models))
        elif path.startswith("/v1/models/") and path[len("/v1/models/") :] in api.models:
            if not self._answer_auth():
                self._send_json(200, model_info(path[len("/v1/models/") :]))
        else:
            self._send_error(404, "not_found_error", f"GET {path}: no such endpoint")

    def do_POST(self) -> None:
        raw = self._read_body()
        path = self.path.split("?", 1)[0]
        self._pending = (None, None)
        if path == COUNT_TOKENS_PATH:
            body = _json_or_none(raw)
            self._pending = (body, None)
            if not self._answer_auth():
                self._send_json(200, count_tokens(body))
        elif path != "/v1/messages":
            self._send_error(404, "not_found_error", f"POST {path}: no such endpoint")
        elif not self._answer_auth():
            try:
                body = json.loads(raw or b"null")
            except ValueError as exc:
                self._send_error(
                    400, "invalid_request_error", f"request body is not valid JSON: {exc}"
                )
            else:
                self._pending = (body, None)
                self._answer_messages(body)

    # --- answers -------------------------------------------------------------------

    def _answer_auth(self) -> int:
        """0 when auth and version headers are fine, else the error status sent."""
        key = self._api_key()
        if key is None:
            return self._send_error(
                401, "authentication_error", "x-api-key or authorization header is required"
            )
        expected = self.server.api.expected_api_key
        if expected is not None and key != expected:
            return self._send_error(401, "authentication_error", "invalid x-api-key")
        if not self.headers.get("anthropic-version"):
            return self._send_error(
                400, "invalid_request_error", "anthropic-version: header is required"
            )
        return 0

    def _answer_messages(self, body: Any) -> tuple[str | None, int]:
        problem = check_request(body)
        if problem:
            return None, self._send_error(400, "invalid_request_error", problem)
        if is_side_call({k.lower(): v for k, v in self.headers.items()}, body):  # Claude Code's own call: no turn of the script
            self._pending = (body, SIDE_CALL_KEY)
            return SIDE_CALL_KEY, self._answer_turn(side_answer(body), body)
        key, response = self.server.api._next_response(body)
        self._pending = (body, key or None)
        if isinstance(response, str):
            # Retrying cannot help a script bug; fail the test at once with this message.
            no_retry = {"x-should-retry": "false"}
            return key or None, self._send_error(500, "api_error", response, no_retry)
        if isinstance(response, HttpError):
            extra = {}
            if response.retry_after is not None:
                extra["retry-after"] = f"{response.retry_after:g}"
            return key, self._send_error(
                response.status, response.error_type, response.message, extra
            )
        return key, self._answer_turn(response, body)

    def _answer_turn(self, turn: Turn, body: Mapping[str, Any]) -> int:
        if body.get("stream") is True:
            return self._stream(turn, str(body["model"]))
        return self._send_json(200, message_json(turn, str(body["model"])))

    def _stream(self, turn: Turn, model: str) -> int:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.send_header("request-id", new_request_id())
        self.end_headers()
        stopping = self.server.api.stopping
        try:
            for sent, event in enumerate(sse_events(turn, model, new_message_id())):
                if turn.cut_after_events is not None and sent >= turn.cut_after_events:
                    self._cut()
                    return 200
                if sent and turn.delay_s and stopping.wait(turn.delay_s):
                    self._cut()
                    return 200
                self._write_chunk(encode_sse(event))
            self._write_chunk(b"")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away mid-stream
        return 200

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _cut(self) -> None:
        """Drop the connection mid-body: no final chunk, so the client sees a broken stream."""
        self.close_connection = True
        # SO_LINGER 0: close() sends RST, not FIN, so the client sees a connection reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()

    # --- helpers -------------------------------------------------------------------

    def _read_body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _api_key(self) -> str | None:
        if key := self.headers.get("x-api-key"):
            return key
        auth = self.headers.get("authorization") or ""
        scheme, _, token = auth.partition(" ")
        return token.strip() or None if scheme.lower() == "bearer" else None

    def _send_json(
        self, status: int, payload: Mapping[str, Any], extra: Mapping[str, str] = {}
    ) -> int:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", str(payload.get("request_id") or new_request_id()))
        for name, value in extra.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _send_error(
        self, status: int, error_type: str, message: str, extra: Mapping[str, str] = {}
    ) -> int:
        return self._send_json(status, error_body(error_type, message, new_request_id()), extra)

    def _record_request(self, body: Any, key: str | None, status: int) -> None:
        headers = {
            name.lower(): value
            for name, value in self.headers.items()
            if name.lower() not in _SECRET_HEADERS
        }
        if "x-api-key" in self.headers:
            scheme: str | None = "x-api-key"
        elif "authorization" in self.headers:
            scheme = "bearer"
        else:
            scheme = None
        self.server.api._record(
            RecordedRequest(
                method=self.command,
                path=self.path.split("?", 1)[0],
                headers=headers,
                auth_present=scheme is not None,
                auth_scheme=scheme,
                body=body,
                key=key,
                status=status,
                query=self.path.partition("?")[2],
            )
        )


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None
