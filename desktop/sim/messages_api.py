"""A scripted Anthropic Messages API on loopback, for tests and `honk demo`.

The real `anthropic` SDK talks to it through `base_url` / `ANTHROPIC_BASE_URL`. Each
`POST /v1/messages` takes the next response from a script (see `messages_script`);
a router can give several conversations their own scripts on one server. The HTTP side
(server, handler, the request record) is `messages_handler`.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from desktop.sim.http_server import Service
from desktop.sim.messages_handler import (
    SIDE_CALL_KEY,
    MessagesHandler,
    MessagesServer,
    RecordedRequest,
)
from desktop.sim.messages_routing import NoRouteError, Route, Router, route_by
from desktop.sim.messages_script import HttpError, Response, Script, Turn

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_MODELS",
    "SIDE_CALL_KEY",
    "NoRouteError",
    "RecordedRequest",
    "Route",
    "Router",
    "ScriptedMessagesAPI",
    "route_by",
]

DEFAULT_KEY = "default"
DEFAULT_MODELS = ("claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5")
_Handler = MessagesHandler  # the name bench/engines.py patches a method of


class ScriptedMessagesAPI(Service):
    """The scripted endpoint. Use as a context manager, or call `start()` and `stop()`.

    `script` is one Script, or with `router` a mapping key -> Script (one queue each).
    """

    def __init__(
        self,
        script: Script | Mapping[str, Script],
        router: Router | None = None,
        *,
        expected_api_key: str | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
    ) -> None:
        if router is None:
            if isinstance(script, Mapping):
                raise TypeError("ScriptedMessagesAPI: a mapping of scripts needs a router")
            scripts: Mapping[str, Script] = {DEFAULT_KEY: script}
        else:
            if not isinstance(script, Mapping):
                raise TypeError(
                    "ScriptedMessagesAPI: with a router, pass a mapping key -> script, "
                    f"got {type(script).__name__}"
                )
            scripts = script
        for key, items in scripts.items():
            for i, item in enumerate(items):
                if not isinstance(item, Turn | HttpError):
                    raise TypeError(
                        f"script {key!r} item {i}: expected Turn or HttpError, "
                        f"got {type(item).__name__}"
                    )
        self._queues: dict[str, deque[Response]] = {k: deque(v) for k, v in scripts.items()}
        self._router = router
        self._expected_api_key = expected_api_key
        self._models = tuple(models)
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: MessagesServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        if self._server is not None:
            raise RuntimeError("ScriptedMessagesAPI is already started")
        self._stopping.clear()
        server = MessagesServer(("127.0.0.1", 0), MessagesHandler)
        server.api = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, cut open keep-alive connections and join every thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()
        thread.join()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            # Wakes handler threads blocked reading the next keep-alive request.
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT`, for the SDK's `base_url` or `ANTHROPIC_BASE_URL`."""
        if self._server is None:
            raise RuntimeError("ScriptedMessagesAPI is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # --- what happened -----------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    def message_requests(self, key: str | None = None) -> list[RecordedRequest]:
        """The `POST /v1/messages` requests, optionally only those routed to `key`."""
        return [
            r for r in self.requests if r.path == "/v1/messages" and (key is None or r.key == key)
        ]

    def remaining(self) -> dict[str, int]:
        """How many scripted responses each key still has."""
        with self._lock:
            return {key: len(queue) for key, queue in self._queues.items()}

    # --- used by the handler -------------------------------------------------------

    @property
    def expected_api_key(self) -> str | None:
        return self._expected_api_key

    @property
    def models(self) -> tuple[str, ...]:
        return self._models

    @property
    def stopping(self) -> threading.Event:
        return self._stopping

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            if open_:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _next_response(self, body: Mapping[str, Any]) -> tuple[str, Response | str]:
        """The routing key and its next response, or an error message for a 500."""
        try:
            key = self._router(body) if self._router is not None else DEFAULT_KEY
        except NoRouteError as exc:
            return "", f"scripted Messages API: {exc}"
        with self._lock:
            queue = self._queues.get(key)
            if queue is None:
                known = ", ".join(sorted(self._queues))
                return key, f"scripted Messages API: router gave key {key!r}; scripts: {known}"
            if not queue:
                return key, f"scripted Messages API: script {key!r} has no more turns"
            return key, queue.popleft()
