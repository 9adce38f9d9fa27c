"""The Socket Mode half of the Slack stand-in: tickets, live WebSocket links, envelopes, acks.

Follows https://docs.slack.dev/apis/events-api/using-socket-mode/ (hello, envelopes, acks,
``disconnect``). Each link runs inside the HTTP handler thread that upgraded it
(``desktop/sim/slack_server.py``); the frames are ``desktop/sim/websocket.py``'s.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from desktop.sim.slack_envelopes import new_id
from desktop.sim.websocket import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Stream,
    encode_frame,
    read_frame,
)

__all__ = ["Ack", "SocketModeHub"]


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

