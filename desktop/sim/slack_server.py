"""The Slack stand-in's HTTP side: one loopback server whose HTTP calls go to a route and
whose ``GET /link/?ticket=`` is upgraded (RFC 6455 opening handshake, ``Sec-WebSocket-Accept``)
to a Socket Mode link that runs in the handler thread that upgraded it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop.sim.http_server import LoopbackHTTPServer
from desktop.sim.slack_ws import SocketModeHub
from desktop.sim.websocket import accept_key

__all__ = ["LoopbackServer", "Record", "Route"]

# (status, JSON-able or bytes reply, extra headers) for (path with query, lower-case headers, body)
Route = Callable[[str, dict[str, str], bytes], tuple[int, Any, dict[str, str]]]
Record = Callable[[str, str, dict[str, str], dict[str, Any], int], None]


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


class LoopbackServer(LoopbackHTTPServer):
    """127.0.0.1 on a free port: HTTP goes to ``route``; ``GET /link/?ticket=`` upgrades to
    a Socket Mode link on ``hub`` (the attempt is passed to ``record`` as ``websocket``)."""

    def __init__(self, *, route: Route, record: Record, hub: SocketModeHub) -> None:
        super().__init__(type("Handler", (_Handler,), {"server_side": self}),
                         name="fake-slack", join_handlers=True)
        self.route, self.record, self.hub = route, record, hub

    def stop(self) -> None:
        """Close every WebSocket, stop serving and join all server threads."""
        if self.running:
            self.hub.close_all()
        super().stop()

    @property
    def base_url(self) -> str:
        return self.url("the Slack stand-in is not started")

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

