"""The loopback GitHub's redirect host: where job logs and artifact zips are fetched from.

GitHub answers those API calls with a 302 to signed storage URLs on another origin; this is
a second loopback server (another port) whose links expire after their time-to-live (403),
and that refuses a request carrying ``Authorization`` as S3 and Azure do (400).
"""

from __future__ import annotations

import json
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from desktop.sim.github_reply import iso
from desktop.sim.http_server import LoopbackHTTPServer

__all__ = ["BlobHost", "HostRequest"]


@dataclass(frozen=True)
class HostRequest:
    method: str
    path: str  # with its query
    headers: dict[str, str]  # lower-case names


class BlobHost(LoopbackHTTPServer):
    """Signed links to bytes, served on 127.0.0.1 on a free port (another origin than the
    API); ``clock()`` is the time their expiry is checked against."""

    def __init__(self, clock: Callable[[], float]) -> None:
        super().__init__(type("BlobHandler", (_BlobHandler,), {"host": self}),
                         name="fake-github-blobs")
        self._clock = clock
        self.requests: list[HostRequest] = []  # what reached the redirect host
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[bytes, str, float]] = {}  # token -> data, type, expiry

    def link(self, data: bytes, content_type: str, ttl_s: float) -> str:
        """A signed URL that serves ``data`` for ``ttl_s`` seconds of the clock."""
        token = secrets.token_hex(12)
        expires = self._clock() + ttl_s
        with self._lock:
            self._blobs[token] = (data, content_type, expires)
        host = self.url("the redirect host is not started")
        return f"{host}/blob/{token}?se={iso(expires)}&sp=r&sig={token[:8]}"

    def serve(self, method: str, target: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """Answer one request: (status, content type, body)."""
        with self._lock:
            self.requests.append(HostRequest(method, target, headers))
            if "authorization" in headers:  # as S3 and Azure do: the signature is the auth
                return 400, "text/plain", b"Only one auth mechanism allowed"
            match = re.fullmatch(r"/blob/([0-9a-f]+)", urlsplit(target).path)
            found = self._blobs.get(match.group(1)) if match else None
            if found is None or method != "GET":
                return 404, "text/plain", b"BlobNotFound"
            data, content_type, expires = found
            if self._clock() > expires:
                return 403, "text/plain", b"AuthenticationFailed: Signed expiry time has passed"
            return 200, content_type, data


class _BlobHandler(BaseHTTPRequestHandler):
    host: BlobHost  # set on the subclass made in BlobHost.__init__
    server_version = "FakeBlobStore/1"

    def _serve(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            status, content_type, data = self.host.serve(self.command, self.path, headers)
        except Exception as exc:  # a simulator bug must reach the test, not hang it
            status, content_type = 500, "application/json"
            data = json.dumps({"message": f"simulator error: {exc!r}"}).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read the host's requests instead
