"""The Socket Mode half of the Slack stand-in: RFC 6455 framing, the link hub, envelopes.

Follows https://docs.slack.dev/apis/events-api/using-socket-mode/ (hello, envelopes, acks,
``disconnect``), the payload pages under https://docs.slack.dev/reference/ (events,
slash commands, ``block_actions``) and RFC 6455 (opening handshake with ``Sec-WebSocket-Accept``, masked
client frames, unmasked server frames, ping/pong, close). Standard library only: the hub
runs each accepted WebSocket inside the HTTP handler thread that upgraded it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

__all__ = ["Ack", "Envelopes", "LoopbackServer", "SocketModeHub", "accept_key", "encode_frame",
           "new_id", "read_frame"]

# (status, JSON-able or bytes reply, extra headers) for (path with query, lower-case headers, body)
Route = Callable[[str, dict[str, str], bytes], tuple[int, Any, dict[str, str]]]
Record = Callable[[str, str, dict[str, str], dict[str, Any], int], None]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a client's ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(opcode: int, payload: bytes, *, mask: bool = False) -> bytes:
    """One final frame. Servers never mask (RFC 6455 5.1); clients always do."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 65536:
        head += struct.pack("!BH", bit | 126, size)
    else:
        head += struct.pack("!BQ", bit | 127, size)
    if not mask:
        return head + payload
    key = secrets.token_bytes(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def new_id() -> str:
    """An envelope id shaped like Slack's (a UUID)."""
    raw = secrets.token_hex(16)
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


class Stream(Protocol):
    """The reading side of a socket (``socket.makefile("rb")``, a handler's ``rfile``)."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


def _read_exact(stream: Stream, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise EOFError("the peer closed the connection")
    return data


def read_frame(stream: Stream, *, from_client: bool = False) -> tuple[int, bytes]:
    """(opcode, unmasked payload) of the next message, joining continuation frames.
    ``from_client``: an unmasked frame is a protocol error (RFC 6455 5.1), ValueError."""
    opcode, parts = -1, []
    while True:
        b1, b2 = _read_exact(stream, 2)
        if from_client and not b2 & 0x80:
            raise ValueError("unmasked frame from a client")
        size = b2 & 0x7F
        if size == 126:
            size = struct.unpack("!H", _read_exact(stream, 2))[0]
        elif size == 127:
            size = struct.unpack("!Q", _read_exact(stream, 8))[0]
        key = _read_exact(stream, 4) if b2 & 0x80 else b""
        data = _read_exact(stream, size)
        if key:
            data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
        if b1 & 0x0F >= OP_CLOSE:  # control frames may arrive between fragments
            return b1 & 0x0F, data
        if b1 & 0x0F != OP_CONT:
            opcode = b1 & 0x0F
        parts.append(data)
        if b1 & 0x80:
            return opcode, b"".join(parts)


@dataclass(frozen=True)
class Ack:
    """An ``{"envelope_id": ...}`` the app sent back; latency is from the envelope's last send."""

    envelope_id: str
    latency: float | None  # None when the envelope_id was never sent
    payload: dict[str, Any] | None
    link: int  # which WebSocket connection (1, 2, ...) carried it


@dataclass
class _Link:
    number: int
    sock: socket.socket
    url_path: str
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    ready: bool = False  # hello sent
    open: bool = True
    abort: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def send(self, opcode: int, payload: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(encode_frame(opcode, payload))


class SocketModeHub:
    """Tickets, live WebSocket links and the envelopes sent over them."""

    def __init__(self, *, app_id: str, on_ack: Callable[[Ack], None]) -> None:
        self.app_id = app_id
        self._on_ack = on_ack
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._links: list[_Link] = []
        self._envelopes: dict[str, dict[str, Any]] = {}
        self._sent_at: dict[str, float] = {}
        self._pending: list[str] = []
        self._acks: list[Ack] = []

    # -- tickets and links ---------------------------------------------------------------

    def issue_ticket(self) -> str:
        """A fresh ticket for one ``/link/?ticket=`` URL; it works once."""
        ticket = secrets.token_urlsafe(12)
        with self._lock:
            self._tickets.add(ticket)
        return ticket

    def take_ticket(self, ticket: str) -> bool:
        """Spend a ticket; False when it was never issued or already used."""
        with self._lock:
            if ticket not in self._tickets:
                return False
            self._tickets.discard(ticket)
            return True

    def run_link(self, sock: socket.socket, rfile: Stream, url_path: str) -> None:
        """Serve one upgraded connection until it closes (called in its handler thread)."""
        with self._lock:
            link = _Link(len(self._links) + 1, sock, url_path)
            self._links.append(link)
            live = sum(1 for x in self._links if x.open)
        try:
            link.send(OP_TEXT, json.dumps({
                "type": "hello", "num_connections": live,
                "debug_info": {"host": f"applink-fake-{link.number}", "build_number": 1,
                               "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }).encode())
            with self._lock:
                link.ready = True
                pending, self._pending = self._pending, []
            for envelope_id in pending:
                self._send_envelope(envelope_id, link)
            self._read_loop(link, rfile)
        except ValueError:
            with contextlib.suppress(OSError):
                link.send(OP_CLOSE, struct.pack("!H", 1002))  # protocol error
        except (EOFError, OSError):
            pass
        finally:
            with self._lock:
                link.open = False
            if link.abort:  # RST instead of FIN: the peer sees a connection reset
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                rfile.close()
                sock.close()
            link.done.set()

    def _read_loop(self, link: _Link, rfile: Stream) -> None:
        while True:
            opcode, data = read_frame(rfile, from_client=True)
            if opcode == OP_PING:
                link.send(OP_PONG, data)
            elif opcode == OP_CLOSE:
                link.send(OP_CLOSE, data[:2] or struct.pack("!H", 1000))
                return
            elif opcode == OP_TEXT:
                self._record_ack(link, data)

    def _record_ack(self, link: _Link, data: bytes) -> None:
        try:
            message = json.loads(data.decode("utf-8"))
        except ValueError:
            return  # Slack ignores text that is not an ack
        if not isinstance(message, dict) or "envelope_id" not in message:
            return
        envelope_id = str(message["envelope_id"])
        with self._lock:
            sent = self._sent_at.get(envelope_id)
            latency = None if sent is None else time.monotonic() - sent
            ack = Ack(envelope_id, latency, message.get("payload"), link.number)
            self._acks.append(ack)
        self._on_ack(ack)

    def _live(self) -> _Link | None:
        with self._lock:
            ready = [x for x in self._links if x.open and x.ready]
        return ready[-1] if ready else None

    # -- envelopes -----------------------------------------------------------------------

    def deliver(self, envelope: dict[str, Any]) -> str:
        """Send an envelope on the newest live link, or queue it until the next hello."""
        envelope_id = str(envelope["envelope_id"])
        with self._lock:
            self._envelopes[envelope_id] = envelope
        link = self._live()
        if link is None:
            with self._lock:
                self._pending.append(envelope_id)
        else:
            self._send_envelope(envelope_id, link)
        return envelope_id

    def _send_envelope(self, envelope_id: str, link: _Link) -> None:
        with self._lock:
            raw = json.dumps(self._envelopes[envelope_id]).encode()
            self._sent_at[envelope_id] = time.monotonic()
        try:
            link.send(OP_TEXT, raw)
        except OSError:
            with self._lock:
                self._pending.append(envelope_id)

    def envelope(self, envelope_id: str) -> dict[str, Any]:
        """The envelope as last sent (a copy)."""
        with self._lock:
            return json.loads(json.dumps(self._envelopes[envelope_id]))  # type: ignore[no-any-return]

    def redeliver(self, envelope_id: str, *, reason: str, new_envelope_id: bool) -> str:
        """Send an envelope again with ``retry_attempt`` + 1, as Slack does after no ack."""
        envelope = self.envelope(envelope_id)
        envelope["retry_attempt"] = int(envelope.get("retry_attempt") or 0) + 1
        envelope["retry_reason"] = reason
        if new_envelope_id:
            envelope["envelope_id"] = new_id()
        return self.deliver(envelope)

    def acks(self) -> list[Ack]:
        with self._lock:
            return list(self._acks)

    # -- connection faults ---------------------------------------------------------------

    def send_disconnect(self, reason: str) -> None:
        """Ask the client to reconnect; the old link stays open until the client closes it."""
        link = self._live()
        assert link is not None, "no Socket Mode connection to send disconnect on"
        link.send(OP_TEXT, json.dumps({
            "type": "disconnect", "reason": reason,
            "debug_info": {"host": f"applink-fake-{link.number}"},
        }).encode())

    def close_link(self, code: int = 1001) -> None:
        """A polite server close frame on the newest live link."""
        link = self._live()
        assert link is not None, "no Socket Mode connection to close"
        link.send(OP_CLOSE, struct.pack("!H", code) + b"going away")

    def drop(self, *, reset: bool = True, timeout: float = 5.0) -> None:
        """End the newest live link's TCP connection without a close frame: with an RST
        (``reset``), or a plain FIN as a proxy or load balancer timing out would."""
        link = self._live()
        assert link is not None, "no Socket Mode connection to drop"
        link.abort = reset
        with contextlib.suppress(OSError):  # wakes the handler's read; it closes the socket
            link.sock.shutdown(socket.SHUT_RD if reset else socket.SHUT_RDWR)
        link.done.wait(timeout)

    def live_link(self) -> int | None:
        """The number (1, 2, ...) of the link envelopes go to now, if any."""
        link = self._live()
        return None if link is None else link.number

    def open_links(self) -> int:
        with self._lock:
            return sum(1 for x in self._links if x.open and x.ready)

    def close_all(self, timeout: float = 5.0) -> None:
        """Close every link (server shutdown) and wait for their threads to notice."""
        with self._lock:
            links = [x for x in self._links if x.open]
        for link in links:
            with contextlib.suppress(OSError):
                link.sock.shutdown(socket.SHUT_RDWR)
        for link in links:
            link.done.wait(timeout)


class _Handler(BaseHTTPRequestHandler):
    server_side: LoopbackServer
    protocol_version = "HTTP/1.1"  # RFC 6455 wants an HTTP/1.1 101 answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the recorded calls instead."""

    def do_GET(self) -> None:
        if urlsplit(self.path).path == "/link/":
            self.server_side.upgrade(self)
        else:
            self._answer(b"")

    def do_POST(self) -> None:
        self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _answer(self, body: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, reply, extra = self.server_side.route(self.path, headers, body)
        raw = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
        self.send_response(status)
        ctype = "text/plain" if isinstance(reply, bytes) else "application/json; charset=utf-8"
        for name, value in {"Content-Type": ctype, "Content-Length": str(len(raw)),
                            **extra}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)


class LoopbackServer:
    """127.0.0.1 on a free port: HTTP goes to ``route``; ``GET /link/?ticket=`` upgrades to
    a Socket Mode link on ``hub`` (the attempt is passed to ``record`` as ``websocket``)."""

    def __init__(self, *, route: Route, record: Record, hub: SocketModeHub) -> None:
        self.route, self.record, self.hub = route, record, hub
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"server_side": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = False  # server_close() joins every handler thread
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-slack", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close every WebSocket, stop serving and join all server threads."""
        if self._server is not None:
            self.hub.close_all()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the Slack stand-in is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def upgrade(self, handler: _Handler) -> None:
        """The RFC 6455 opening handshake, then the link runs in this handler thread."""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        ticket = parse_qs(urlsplit(handler.path).query).get("ticket", [""])[-1]
        key = headers.get("sec-websocket-key", "")
        if headers.get("upgrade", "").lower() != "websocket" or not key:
            status = 400
        else:
            status = 101 if self.hub.take_ticket(ticket) else 401
        self.record("websocket", handler.path, headers, {"ticket": ticket}, status)
        handler.close_connection = True
        if status != 101:
            handler.send_response(status)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(101, "Switching Protocols")
        handler.send_header("Upgrade", "websocket")
        handler.send_header("Connection", "Upgrade")
        handler.send_header("Sec-WebSocket-Accept", accept_key(key))
        handler.end_headers()
        self.hub.run_link(handler.connection, handler.rfile, handler.path)


@dataclass(frozen=True)
class Envelopes:
    """Socket Mode envelopes for one app, shaped as Slack sends them."""

    team_id: str
    app_id: str
    bot_user_id: str
    verification: str = "fake-verification-token"  # Slack's legacy per-app token

    def events_api(self, event: dict[str, Any]) -> dict[str, Any]:
        """An ``event_callback`` envelope ("Events API", events-api/#callback-field)."""
        return {"envelope_id": new_id(), "type": "events_api", "accepts_response_payload": False,
                "retry_attempt": 0, "retry_reason": "", "payload": {
                    "token": self.verification, "team_id": self.team_id,
                    "api_app_id": self.app_id, "event": event, "type": "event_callback",
                    "event_id": "Ev" + new_id().replace("-", "")[:10].upper(),
                    "event_time": int(time.time()), "is_ext_shared_channel": False,
                    "authorizations": [{"enterprise_id": None, "team_id": self.team_id,
                                        "user_id": self.bot_user_id, "is_bot": True,
                                        "is_enterprise_install": False}]}}

    def message_event(self, kind: str, message: dict[str, Any], **extra: Any) -> dict[str, Any]:
        """An ``app_mention`` or ``message`` event envelope for a person's message."""
        event = {"type": kind, "user": message["user"], "text": message["text"],
                 "ts": message["ts"], "channel": message["channel"], "event_ts": message["ts"],
                 "team": self.team_id, "client_msg_id": new_id(), **extra}
        if message.get("thread_ts"):
            event["thread_ts"] = message["thread_ts"]
        return self.events_api(event)

    def slash_command(self, *, user: str, user_name: str, channel: str, command: str,
                      text: str, response_url: str, trigger_id: str) -> dict[str, Any]:
        """A ``slash_commands`` envelope ("Implementing slash commands")."""
        return {"envelope_id": new_id(), "type": "slash_commands",
                "accepts_response_payload": True, "payload": {
                    "token": self.verification, "team_id": self.team_id,
                    "team_domain": "fake-team", "channel_id": channel,
                    "channel_name": channel.lower(), "user_id": user, "user_name": user_name,
                    "command": command, "text": text, "api_app_id": self.app_id,
                    "is_enterprise_install": "false", "response_url": response_url,
                    "trigger_id": trigger_id}}

    def block_actions(self, *, user: str, user_name: str, channel: str,
                      message: dict[str, Any], action_id: str, value: str, action_ts: str,
                      response_url: str, trigger_id: str) -> dict[str, Any]:
        """An ``interactive`` envelope with a ``block_actions`` payload for a button press
        (reference/interaction-payloads/block_actions-payload)."""
        action: dict[str, Any] = {"action_id": action_id, "block_id": "", "value": value,
                                  "type": "button", "action_ts": action_ts,
                                  "text": {"type": "plain_text", "text": action_id}}
        for block in message.get("blocks") or []:
            for element in block.get("elements") or [block.get("accessory") or {}]:
                if element.get("action_id") == action_id:
                    action.update(block_id=block.get("block_id", ""),
                                  type=element.get("type", "button"),
                                  text=element.get("text", action["text"]))
        container = {"type": "message", "message_ts": message["ts"], "channel_id": channel,
                     "is_ephemeral": False}
        if "thread_ts" in message:
            container["thread_ts"] = message["thread_ts"]
        return {"envelope_id": new_id(), "type": "interactive",
                "accepts_response_payload": False, "payload": {
                    "type": "block_actions", "token": self.verification,
                    "user": {"id": user, "username": user_name, "name": user_name,
                             "team_id": self.team_id},
                    "api_app_id": self.app_id, "container": container,
                    "trigger_id": trigger_id, "team": {"id": self.team_id, "domain": "fake-team"},
                    "enterprise": None, "is_enterprise_install": False,
                    "channel": {"id": channel, "name": channel.lower()}, "message": message,
                    "state": {"values": {}}, "response_url": response_url,
                    "actions": [action]}}
