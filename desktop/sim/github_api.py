"""A loopback server that speaks the few GitHub REST endpoints Honk uses, backed by real git.

Pull requests live in memory, but branches are refs of a real bare repository: a PR's head
is whatever its branch points to right now (push to it and a guarded merge gets 409), and
merging writes a real merge commit onto the base branch. Shapes and status codes follow
GitHub's REST documentation (API version 2022-11-28):

- ``GET/POST /repos/{owner}/{repo}/pulls`` (list with ``state``/``head``/``base``, create)
- ``GET /repos/{owner}/{repo}/pulls/{n}``
- ``PUT /repos/{owner}/{repo}/pulls/{n}/merge`` (``sha`` guard: 409; not mergeable: 405)
- ``GET /repos/{owner}/{repo}/commits/{ref}/status`` and ``.../check-runs``
- ``.../actions/...``: GitHub Actions, answered by ``ActionsSim`` (``fake.actions``)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop.adapters.git.cli import GitError, git, git_ok
from desktop.sim.github_actions import ActionsSim

__all__ = ["FakeGitHub", "RecordedRequest"]

_DOCS = "https://docs.github.com/rest"
_BOT_ENV = {
    "GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com",
}
_NOT_MERGEABLE = "Pull Request is not mergeable"
_HEAD_CHANGED = "Head branch was modified. Review and try the merge again."
_NOT_LISTED = ("merged", "mergeable", "mergeable_state", "merged_by")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Pull:
    number: int
    title: str
    body: str | None
    head: str
    base: str
    created_at: str
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_head_sha: str | None = None
    mergeable_override: bool | None = None


@dataclass
class _Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def _error(code: int, message: str, **extra: Any) -> _Reply:
    return _Reply(code, {"message": message, "documentation_url": _DOCS, **extra})


class FakeGitHub:
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
        self._pulls: dict[int, _Pull] = {}
        self._statuses: dict[str, dict[str, dict[str, Any]]] = {}  # sha -> context -> status
        self._check_runs: dict[str, dict[str, dict[str, Any]]] = {}  # sha -> name -> run
        self._next_id = 1
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeGitHub:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on 127.0.0.1 on a free port, serving from a daemon thread."""
        handler = type("Handler", (_Handler,), {"sim": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="fake-github", daemon=True)
        self._thread.start()
        self.actions.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.actions.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "FakeGitHub is not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.prefix}"

    # -- knobs for tests -----------------------------------------------------------------

    def set_mergeable(self, number: int, mergeable: bool | None) -> None:
        """Force the PR (un)mergeable, as branch protection or GitHub's own check would."""
        with self._lock:
            self._pulls[number].mergeable_override = mergeable

    def move_head(self, number: int, sha: str) -> None:
        """Point the PR's head branch at ``sha`` (as a push to the branch would)."""
        with self._lock:
            head = self._pulls[number].head
        git("update-ref", f"refs/heads/{head}", sha, cwd=self.git_dir)

    def set_status(self, sha: str, context: str, state: str, description: str = "") -> None:
        """A commit status (``pending``, ``success``, ``failure`` or ``error``)."""
        assert state in ("pending", "success", "failure", "error"), state
        with self._lock:
            ident = self._take_id()
            self._statuses.setdefault(sha, {})[context] = {
                "id": ident, "node_id": f"SC_{ident}", "state": state, "context": context,
                "description": description or None, "target_url": None,
                "created_at": _now(), "updated_at": _now(),
            }

    def set_check_run(self, sha: str, name: str, status: str,
                      conclusion: str | None = None) -> None:
        """A check run (``queued``/``in_progress``/``completed`` with a conclusion)."""
        assert (status == "completed") == (conclusion is not None), (status, conclusion)
        with self._lock:
            ident = self._take_id()
            self._check_runs.setdefault(sha, {})[name] = {
                "id": ident, "node_id": f"CR_{ident}", "name": name, "head_sha": sha,
                "status": status, "conclusion": conclusion, "started_at": _now(),
                "completed_at": _now() if conclusion else None,
                "html_url": None, "details_url": None,
            }

    def pull(self, number: int) -> dict[str, Any]:
        """The PR as the API would show it."""
        with self._lock:
            return self._pull_json(self._pulls[number])

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    # -- routing -------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> _Reply:
        """Answer one request (called from the handler threads)."""
        split = urlsplit(target)
        path = split.path
        with self._lock:
            self.requests.append(RecordedRequest(method, path, headers, body))
        auth = headers.get("authorization", "")
        if auth not in (f"Bearer {self.token}", f"token {self.token}"):
            return _error(401, "Bad credentials", status="401")
        limited = self.actions.take_rate_limit()
        if limited is not None:
            return _Reply(limited.status, limited.body, limited.headers)
        if not path.startswith(self.prefix + "/"):
            return _error(404, "Not Found", status="404")
        path = path[len(self.prefix):]
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        if "/actions/" in path:
            got = self.actions.handle(method, path, query, body, api_url=self.base_url)
            return _Reply(got.status, got.body, got.headers)
        base = f"/repos/{self.owner}/{self.repo}"
        routes: list[tuple[str, str, Any]] = [
            ("GET", rf"{base}/pulls", self._list_pulls),
            ("POST", rf"{base}/pulls", self._create_pull),
            ("GET", rf"{base}/pulls/(\d+)", self._get_pull),
            ("PUT", rf"{base}/pulls/(\d+)/merge", self._merge_pull),
            ("GET", rf"{base}/commits/(.+)/status", self._combined_status),
            ("GET", rf"{base}/commits/(.+)/check-runs", self._check_runs_for),
        ]
        for verb, pattern, action in routes:
            match = re.fullmatch(pattern, path, flags=re.IGNORECASE)
            if match and verb == method:
                with self._lock:
                    reply: _Reply = action(*match.groups(), query=query, body=body)
                    return reply
        return _error(404, "Not Found", status="404")

    # -- git -----------------------------------------------------------------------------

    def _ref(self, branch: str) -> str | None:
        try:
            return git("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}",
                       cwd=self.git_dir)
        except GitError:
            return None

    def _resolve(self, ref: str) -> str | None:
        try:
            return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=self.git_dir)
        except GitError:
            return None

    def _merge_tree(self, base_sha: str, head_sha: str) -> str | None:
        """The merged tree, or None when the branches conflict."""
        try:
            return git("merge-tree", "--write-tree", base_sha, head_sha,
                       cwd=self.git_dir).splitlines()[0]
        except GitError:
            return None

    # -- pulls ---------------------------------------------------------------------------

    def _pull_json(self, pr: _Pull) -> dict[str, Any]:
        head_sha = pr.merged_head_sha or self._ref(pr.head) or ""
        base_sha = self._ref(pr.base) or ""
        mergeable: bool | None
        if pr.merged or pr.state != "open":
            mergeable, state = False, "unknown"
        elif pr.mergeable_override is not None:
            mergeable = pr.mergeable_override
            state = "clean" if mergeable else "blocked"
        else:
            mergeable = self._merge_tree(base_sha, head_sha) is not None
            state = "clean" if mergeable else "dirty"
        api = f"{self.base_url}/repos/{self.owner}/{self.repo}"
        repo_json = {"name": self.repo, "full_name": f"{self.owner}/{self.repo}",
                     "owner": {"login": self.owner}}
        return {
            "url": f"{api}/pulls/{pr.number}", "id": 1000 + pr.number,
            "node_id": f"PR_{pr.number}", "number": pr.number,
            "html_url": f"https://github.invalid/{self.owner}/{self.repo}/pull/{pr.number}",
            "state": pr.state, "locked": False, "title": pr.title, "body": pr.body,
            "user": {"login": "honk"}, "draft": False,
            "created_at": pr.created_at, "updated_at": pr.merged_at or pr.created_at,
            "closed_at": pr.merged_at, "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "head": {"label": f"{self.owner}:{pr.head}", "ref": pr.head, "sha": head_sha,
                     "repo": repo_json},
            "base": {"label": f"{self.owner}:{pr.base}", "ref": pr.base, "sha": base_sha,
                     "repo": repo_json},
            "merged": pr.merged, "mergeable": mergeable, "mergeable_state": state,
            "merged_by": {"login": "honk"} if pr.merged else None,
        }

    def _list_pulls(self, *, query: dict[str, str], body: Any) -> _Reply:
        state = query.get("state", "open")
        head = query.get("head")
        found = [
            pr for pr in self._pulls.values()
            if state in ("all", pr.state)
            and (head is None or head in (f"{self.owner}:{pr.head}", pr.head))
            and query.get("base", pr.base) == pr.base
        ]
        # GitHub lists "pull request simple" objects: merged_at, but no merged or mergeable.
        simple = [{k: v for k, v in self._pull_json(pr).items() if k not in _NOT_LISTED}
                  for pr in found]
        return _Reply(200, simple)

    def _create_pull(self, *, query: dict[str, str], body: Any) -> _Reply:
        if not isinstance(body, dict):
            return _error(400, "Problems parsing JSON")
        missing = [k for k in ("title", "head", "base") if not isinstance(body.get(k), str)]
        if missing:
            return _error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": k, "code": "missing_field"}
                for k in missing])
        head = body["head"].split(":", 1)[-1]
        base = body["base"]
        for name, branch in (("head", head), ("base", base)):
            if self._ref(branch) is None:
                return _error(422, "Validation Failed", errors=[
                    {"resource": "PullRequest", "field": name, "code": "invalid"}])
        for pr in self._pulls.values():
            if pr.state == "open" and (pr.head, pr.base) == (head, base):
                return _error(422, "Validation Failed", errors=[
                    {"resource": "PullRequest", "code": "custom",
                     "message": f"A pull request already exists for {self.owner}:{head}."}])
        if git_ok("merge-base", "--is-ancestor", f"refs/heads/{head}", f"refs/heads/{base}",
                  cwd=self.git_dir):
            return _error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "code": "custom",
                 "message": f"No commits between {base} and {head}"}])
        number = len(self._pulls) + 1
        pr = _Pull(number, body["title"], body.get("body"), head, base, _now())
        self._pulls[number] = pr
        data = self._pull_json(pr)
        return _Reply(201, data, {"Location": data["url"]})

    def _get_pull(self, number: str, *, query: dict[str, str], body: Any) -> _Reply:
        pr = self._pulls.get(int(number))
        if pr is None:
            return _error(404, "Not Found", status="404")
        return _Reply(200, self._pull_json(pr))

    def _merge_pull(self, number: str, *, query: dict[str, str], body: Any) -> _Reply:
        pr = self._pulls.get(int(number))
        if pr is None:
            return _error(404, "Not Found", status="404")
        body = body if isinstance(body, dict) else {}
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            return _error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": "merge_method", "code": "invalid"}])
        if pr.state != "open":
            return _error(405, _NOT_MERGEABLE)
        head_sha, base_sha = self._ref(pr.head), self._ref(pr.base)
        if head_sha is None or base_sha is None:
            return _error(405, _NOT_MERGEABLE)
        if body.get("sha") is not None and body["sha"] != head_sha:
            return _error(409, _HEAD_CHANGED)
        blocked = self._required_blocking(head_sha)
        if blocked:
            return _error(405, blocked)
        tree = self._merge_tree(base_sha, head_sha)
        if pr.mergeable_override is False or tree is None:
            return _error(405, _NOT_MERGEABLE)
        title = body.get("commit_title") or f"Merge pull request #{pr.number} from {pr.head}"
        message = title + (f"\n\n{body['commit_message']}" if body.get("commit_message") else "")
        if method == "rebase":
            if not git_ok("merge-base", "--is-ancestor", base_sha, head_sha, cwd=self.git_dir):
                return _error(405, "This branch can't be rebased")
            new = head_sha  # the simulator rebases only when it is a fast-forward
        else:
            parents = ["-p", base_sha] + (["-p", head_sha] if method == "merge" else [])
            new = git("commit-tree", tree, *parents, "-m", message, cwd=self.git_dir,
                      env=_BOT_ENV)
        try:
            git("update-ref", f"refs/heads/{pr.base}", new, base_sha, cwd=self.git_dir)
        except GitError:
            return _error(405, "Base branch was modified. Review and try the merge again.")
        pr.state, pr.merged, pr.merged_at = "closed", True, _now()
        pr.merge_commit_sha, pr.merged_head_sha = new, head_sha
        if self.after_merge is not None:
            self.after_merge(pr.number)
        return _Reply(200, {"sha": new, "merged": True,
                            "message": "Pull Request successfully merged"})

    # -- checks --------------------------------------------------------------------------

    def _required_blocking(self, sha: str) -> str | None:
        states = {c: s["state"] for c, s in self._statuses.get(sha, {}).items()}
        for name, run in self._check_runs.get(sha, {}).items():
            states[name] = run["conclusion"] or "pending"
        for name in self.required_checks:
            if name not in states:
                return f'Required status check "{name}" is expected.'
            if states[name] not in ("success", "neutral", "skipped"):
                return f'Required status check "{name}" is {states[name]}.'
        return None

    def _combined_status(self, ref: str, *, query: dict[str, str], body: Any) -> _Reply:
        sha = self._resolve(ref)
        if sha is None:
            return _error(422, f"No commit found for SHA: {ref}")
        statuses = list(self._statuses.get(sha, {}).values())
        states = {s["state"] for s in statuses}
        if states & {"failure", "error"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return _Reply(200, {"state": state, "statuses": statuses, "sha": sha,
                            "total_count": len(statuses),
                            "repository": {"full_name": f"{self.owner}/{self.repo}"}})

    def _check_runs_for(self, ref: str, *, query: dict[str, str], body: Any) -> _Reply:
        sha = self._resolve(ref)
        if sha is None:
            return _error(422, f"No commit found for SHA: {ref}")
        runs = list(self._check_runs.get(sha, {}).values())
        return _Reply(200, {"total_count": len(runs), "check_runs": runs})


class _Handler(BaseHTTPRequestHandler):
    sim: FakeGitHub  # set on the subclass made in FakeGitHub.start
    server_version = "FakeGitHub/1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            reply = _error(400, "Problems parsing JSON")
        else:
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                reply = self.sim.handle(self.command, self.path, headers, body)
            except Exception as exc:  # a simulator bug must reach the test, not hang it
                reply = _error(500, f"simulator error: {type(exc).__name__}: {exc}")
        data = b"" if reply.body is None else json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        for key, value in {**self.sim.actions.rate_headers(), **reply.headers}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests read self.sim.requests instead of stderr noise
