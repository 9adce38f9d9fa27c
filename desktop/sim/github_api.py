"""A loopback server that speaks the few GitHub REST endpoints Honk uses, backed by real git.

``FakeGitHub`` is the face tests and benchmarks use: it serves the API on 127.0.0.1 (with an
optional ``/api/v3`` prefix, as GitHub Enterprise), checks the token, counts the rate limit
and routes each call. Shapes and status codes follow GitHub's REST documentation (API version
2022-11-28); the endpoints live in:

- ``desktop/sim/github_pulls.py``: ``/pulls`` (list, create, get, merge)
- ``desktop/sim/github_checks.py``: ``/commits/{ref}/status`` and ``.../check-runs``
- ``desktop/sim/github_actions.py``: ``.../actions/...``, GitHub Actions (``fake.actions``)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop.sim.github_actions import ActionsSim
from desktop.sim.github_checks import Checks
from desktop.sim.github_pulls import Pulls
from desktop.sim.github_reply import Reply, error
from desktop.sim.github_repo import BareRepo
from desktop.sim.http_server import LoopbackHTTPServer, Service

__all__ = ["FakeGitHub", "RecordedRequest"]


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


class FakeGitHub(Service):
    """``with FakeGitHub(git_dir=bare, token=t) as gh:`` then point a client at ``gh.base_url``."""

    def __init__(
        self,
        *,
        git_dir: Path,
        token: str,
        owner: str = "acme",
        repo: str = "app",
        prefix: str = "",
        required_checks: Sequence[str] = (),
    ) -> None:
        self.git_dir = git_dir
        self.token = token
        self.owner, self.repo = owner, repo
        self.prefix = prefix.rstrip("/")  # "/api/v3" plays GitHub Enterprise
        self.required_checks = tuple(required_checks)
        self.requests: list[RecordedRequest] = []
        # Called with the PR number once a merge is done, before GitHub answers: a test cuts
        # the client there (merged on GitHub, never heard of by the client).
        self.after_merge: Callable[[int], None] | None = None
        self.actions = ActionsSim(git_dir=git_dir, owner=owner, repo=repo)
        self._lock = threading.Lock()
        self._repo = BareRepo(git_dir)
        self._checks = Checks(self._repo, full_name=f"{owner}/{repo}",
                              required=self.required_checks)
        self._pulls = Pulls(self._repo, self._checks, owner=owner, name=repo,
                            api_url=lambda: self.base_url, merged=self._merged)
        handler = type("Handler", (_Handler,), {"sim": self})
        self._http = LoopbackHTTPServer(handler, name="fake-github")

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Listen on 127.0.0.1 on a free port, serving from a daemon thread."""
        self._http.start()
        self.actions.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.actions.stop()
        self._http.stop()

    @property
    def base_url(self) -> str:
        return self._http.url("FakeGitHub is not started") + self.prefix

    # -- knobs for tests -----------------------------------------------------------------

    def set_mergeable(self, number: int, mergeable: bool | None) -> None:
        """Force the PR (un)mergeable, as branch protection or GitHub's own check would."""
        with self._lock:
            self._pulls.get(number).mergeable_override = mergeable

    def move_head(self, number: int, sha: str) -> None:
        """Point the PR's head branch at ``sha`` (as a push to the branch would)."""
        with self._lock:
            head = self._pulls.get(number).head
        self._repo.move_branch(head, sha)

    def set_status(self, sha: str, context: str, state: str, description: str = "") -> None:
        """A commit status (``pending``, ``success``, ``failure`` or ``error``)."""
        assert state in ("pending", "success", "failure", "error"), state
        with self._lock:
            self._checks.set_status(sha, context, state, description)

    def set_check_run(self, sha: str, name: str, status: str,
                      conclusion: str | None = None) -> None:
        """A check run (``queued``/``in_progress``/``completed`` with a conclusion)."""
        assert (status == "completed") == (conclusion is not None), (status, conclusion)
        with self._lock:
            self._checks.set_check_run(sha, name, status, conclusion)

    def pull(self, number: int) -> dict[str, Any]:
        """The PR as the API would show it."""
        with self._lock:
            return self._pulls.json(self._pulls.get(number))

    def _merged(self, number: int) -> None:
        if self.after_merge is not None:
            self.after_merge(number)

    # -- routing -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> Reply:
        """Answer one request (called from the handler threads)."""
        split = urlsplit(target)
        path = split.path
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, body))
        auth = headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return error(401, "Bad credentials", status="401")
        limited = self.actions.rate_limit.take()
        if limited is not None:
            return limited
        if not path.startswith(self.prefix + "/"):
            return error(404, "Not Found", status="404")
        path = path[len(self.prefix):]
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if "/actions/" in path:
            return self.actions.handle(method, path, query, body, api_url=self.base_url)
        base = f"/repos/{self.owner}/{self.repo}"
        routes: list[tuple[str, str, Callable[..., Reply]]] = [
            ("GET", rf"{base}/pulls", self._pulls.listing),
            ("POST", rf"{base}/pulls", self._pulls.create),
            ("GET", rf"{base}/pulls/(\d+)", self._pulls.show),
            ("PUT", rf"{base}/pulls/(\d+)/merge", self._pulls.merge),
            ("GET", rf"{base}/commits/(.+)/status", self._checks.combined_status),
            ("GET", rf"{base}/commits/(.+)/check-runs", self._checks.check_runs),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path, flags=re.IGNORECASE)
            if match and verb == method:
                with self._lock:
                    return action(*match.groups(), query=query, body=body)
        return error(404, "Not Found", status="404")


class _Handler(BaseHTTPRequestHandler):
    sim: FakeGitHub  # set on the subclass made in FakeGitHub.__init__
    server_version = "FakeGitHub/1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            reply = error(400, "Problems parsing JSON")
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = self.sim.handle(self.command, self.path, headers, body)
            except Exception as exc:  # a simulator bug must reach the test, not hang it
                reply = error(500, f"simulator error: {type(exc).__name__}: {exc}")
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in {**self.sim.actions.rate_limit.headers(), **reply.headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read self.sim.requests instead of stderr noise
