"""The start/stop every loopback stand-in shares: ``with`` support, and one HTTP server in a
background thread."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

__all__ = ["LoopbackHTTPServer", "Service"]


class Service:
    """A stand-in with ``start()`` and ``stop()``; ``with`` starts it and stops it."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Listener(ThreadingHTTPServer):
    # The stdlib's backlog of 5 drops connections when ten clients connect at once (they
    # retry after 1 s); real services queue far more.
    request_queue_size = 128


class LoopbackHTTPServer(Service):
    """A ``ThreadingHTTPServer`` on 127.0.0.1 on a free port, serving from a daemon thread.

    ``join_handlers``: ``stop()`` waits for every handler thread (they must end by themselves,
    e.g. long-lived WebSockets closed first); otherwise handler threads are daemons.
    """

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str,
                 join_handlers: bool = False) -> None:
        self._handler, self._name, self._join_handlers = handler, name, join_handlers
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen and serve (polling for shutdown every 50 ms)."""
        self._server = _Listener(("127.0.0.1", 0), self._handler)
        self._server.daemon_threads = not self._join_handlers  # server_close() joins the rest
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=self._name, daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._server is not None

    def stop(self) -> None:
        """Stop serving, close the socket and join the serving thread; again is a no-op."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(5)

    def url(self, not_started: str) -> str:
        """``http://127.0.0.1:PORT``; AssertionError with ``not_started`` when it is not."""
        assert self._server is not None, not_started
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"
