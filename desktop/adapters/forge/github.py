"""The `via = "github"` route: pull requests and checks over the shared GitHub HTTP core.

Open (or reuse) a pull request, read the checks on its head, and merge it with the ``sha``
guard so that GitHub refuses if the head moved after approval. The token, paging, rate limits
and GitHub's errors are the core's (``http.py``); the error classes are re-exported here for
the callers that have always imported them from this module. Pushing the branch is git's job
(``GitMerger``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from desktop.adapters.forge.errors import (
    GitHubError,
    GitHubNotFound,
    GitHubUnreachable,
    GitHubValidation,
    HeadChanged,
    NotMergeable,
)
from desktop.adapters.forge.http import API_VERSION, GitHubApiClient

__all__ = [
    "API_VERSION",
    "Check",
    "ChecksStatus",
    "GitHubClient",
    "PullRequest",
]

MERGE_METHODS = ("merge", "squash", "rebase")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_CHECK_OK = {"success", "neutral", "skipped"}


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str  # html_url, for people
    state: str  # open | closed
    title: str
    body: str
    head_ref: str
    head_sha: str
    base_ref: str
    merged: bool
    mergeable: bool | None  # None while GitHub is still computing it
    merge_commit_sha: str | None


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # pending | success | failure
    source: str  # status | check_run
    detail: str = ""


@dataclass(frozen=True)
class ChecksStatus:
    """The commit statuses and check runs on one commit, folded into one state."""

    sha: str
    state: str  # pending | success | failure
    checks: tuple[Check, ...]
    missing: tuple[str, ...] = ()  # required names that have not reported at all

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if c.state == "failure"]

    @property
    def pending(self) -> list[str]:
        return [c.name for c in self.checks if c.state == "pending"] + list(self.missing)

    def summary(self) -> str:
        """One line for people: ``failure: lint failed; ci pending``."""
        if not self.checks and not self.missing:
            return "no checks reported"
        parts = [f"{c.name} {'passed' if c.state == 'success' else c.state}"
                 for c in self.checks] + [f"{name} not reported yet" for name in self.missing]
        return f"{self.state}: " + "; ".join(parts)


class GitHubClient(GitHubApiClient):
    """``async with GitHubClient(token, base_url=...) as gh:`` – one client per route run."""

    PERMISSIONS = "contents and pull requests: write"

    # -- pull requests -------------------------------------------------------------------

    async def create_pull(self, owner: str, repo: str, head: str, base: str, title: str,
                          body: str) -> PullRequest:
        """Open a PR from ``head`` into ``base``, or return the open one that already exists."""
        existing = await self.find_pull(owner, repo, head, base)
        if existing is not None:
            return existing
        try:
            data = await self._request("POST", f"{self._repo(owner, repo)}/pulls",
                                       json={"title": title, "head": head, "base": base,
                                             "body": body})
        except GitHubValidation as exc:
            if "already exists" not in str(exc):
                raise
            existing = await self.find_pull(owner, repo, head, base)  # lost a race: reuse
            if existing is None:
                raise
            return existing
        return self._pull(data)

    async def find_pull(self, owner: str, repo: str, head: str, base: str) -> PullRequest | None:
        """The open PR from ``head`` into ``base``, if there is one."""
        data = await self._request("GET", f"{self._repo(owner, repo)}/pulls",
                                   params={"state": "open", "head": f"{owner}:{head}",
                                           "base": base, "per_page": "100"})
        if not isinstance(data, list):
            raise self._shape("GET", "pulls", "a list")
        found = [self._pull(item) for item in data]
        return next((pr for pr in found if pr.head_ref == head and pr.base_ref == base), None)

    async def find_merged_pull(self, owner: str, repo: str, head: str, base: str,
                               sha: str) -> PullRequest | None:
        """The PR from ``head`` into ``base`` already merged with ``sha`` as its head, if any:
        a retried approval whose first try merged on GitHub but never recorded it."""
        data = await self._request("GET", f"{self._repo(owner, repo)}/pulls",
                                   params={"state": "closed", "head": f"{owner}:{head}",
                                           "base": base, "per_page": "100"})
        if not isinstance(data, list):
            raise self._shape("GET", "pulls", "a list")
        for pr in map(self._pull, data):
            if pr.merged and pr.head_sha == sha and (pr.head_ref, pr.base_ref) == (head, base):
                return pr
        return None

    async def get_pull(self, owner: str, repo: str, number: int) -> PullRequest:
        """The PR as GitHub sees it now."""
        return self._pull(await self._request("GET", f"{self._repo(owner, repo)}/pulls/{number}"))

    async def merge_pull(self, owner: str, repo: str, number: int, sha: str, method: str,
                         title: str, message: str | None = None) -> str:
        """Merge PR ``number`` only if its head is still ``sha``; returns the merge commit sha.

        A PR that is already merged from that same head counts as done (idempotent).
        """
        if method not in MERGE_METHODS:
            raise ValueError(f"GitHub merge method = {method!r}: expected one of "
                             f"{', '.join(MERGE_METHODS)}")
        if not _SHA.fullmatch(sha):
            raise ValueError(f"approved sha = {sha!r}: expected a full lowercase hex commit sha")
        payload: dict[str, Any] = {"sha": sha, "merge_method": method, "commit_title": title}
        if message:
            payload["commit_message"] = message
        path = f"{self._repo(owner, repo)}/pulls/{number}/merge"
        try:
            data = await self._request("PUT", path, json=payload, number=number, sha=sha)
        except NotMergeable:
            pr = await self.get_pull(owner, repo, number)
            if pr.merged and pr.head_sha == sha and pr.merge_commit_sha:
                return pr.merge_commit_sha  # merged by an earlier click or run
            raise
        merged_sha = data.get("sha") if isinstance(data, dict) else None
        if not (isinstance(data, dict) and data.get("merged") is True
                and isinstance(merged_sha, str)):
            raise self._shape("PUT", path, "{merged: true, sha}")
        return merged_sha

    # -- checks --------------------------------------------------------------------------

    async def required_checks(self, owner: str, repo: str, sha: str,
                              required: Sequence[str] = ()) -> ChecksStatus:
        """Commit statuses and check runs on ``sha``; names in ``required`` must report."""
        base = f"{self._repo(owner, repo)}/commits/{sha}"
        explain = partial(self._explain, number=None, sha=sha)
        statuses = await self._core.pages(f"{base}/status", "statuses",
                                          params={"per_page": "100"}, explain=explain)
        runs = await self._core.pages(f"{base}/check-runs", "check_runs",
                                      params={"per_page": "100"}, explain=explain)
        checks: list[Check] = []
        try:
            for status in statuses:
                state = {"success": "success", "pending": "pending"}.get(status["state"],
                                                                         "failure")
                checks.append(Check(status["context"], state, "status",
                                    status.get("description") or ""))
            for run in runs:
                if run["status"] != "completed":
                    state, detail = "pending", run["status"]
                else:
                    state = "success" if run["conclusion"] in _CHECK_OK else "failure"
                    detail = run["conclusion"] or ""
                checks.append(Check(run["name"], state, "check_run", detail))
        except (KeyError, TypeError):
            raise self._shape("GET", base, "statuses and check_runs") from None
        names = {c.name for c in checks}
        missing = tuple(n for n in required if n not in names)
        if any(c.state == "failure" for c in checks):
            state = "failure"
        elif missing or any(c.state == "pending" for c in checks):
            state = "pending"
        else:
            state = "success"
        return ChecksStatus(sha, state, tuple(checks), missing)

    async def wait_for_checks(
        self, owner: str, repo: str, sha: str, *, timeout: float, interval: float = 10.0,
        required: Sequence[str] = (), on_tick: Callable[[ChecksStatus, float], None] | None = None,
    ) -> ChecksStatus:
        """Poll until no check is pending or ``timeout`` runs out; ``on_tick(status, left)``
        lets the caller show a countdown. Returns the last status either way."""
        deadline = time.monotonic() + timeout
        while True:
            status = await self.required_checks(owner, repo, sha, required)
            left = deadline - time.monotonic()
            if on_tick is not None:
                on_tick(status, max(left, 0.0))
            if status.state != "pending" or left <= 0:
                return status
            await asyncio.sleep(min(interval, left))

    # -- plumbing ------------------------------------------------------------------------

    def _repo(self, owner: str, repo: str) -> str:
        return self._core.repo_path(owner, repo)

    def _shape(self, method: str, path: str, expected: str) -> GitHubError:
        return self._core.shape(method, path, expected)

    async def _request(self, method: str, path: str, *, json: Any = None,
                       params: dict[str, str] | None = None, number: int | None = None,
                       sha: str = "") -> Any:
        return await self._core.json(method, path, body=json, params=params,
                                     explain=partial(self._explain, number=number, sha=sha))

    @staticmethod
    def _explain(code: int, said: str, where: str, *, number: int | None,
                 sha: str) -> GitHubError | None:
        """What a pull request's 404, 405 and 409 mean; the core words the rest."""
        quoted = f"{code} {said}".strip()
        pr = f"pull request #{number}" if number is not None else "the request"
        if code == 404:
            return GitHubNotFound(f"GitHub found nothing at {where} ({quoted}): check "
                                  "github_repo, the PR number and that the token can see the "
                                  "repository", code, said)
        if code == 405:
            return NotMergeable(f"GitHub will not merge {pr} ({quoted}): conflicts, branch "
                                "protection or required checks. Nothing was merged.", code, said)
        if code == 409:
            return HeadChanged(f"GitHub did not merge {pr}: its head is no longer the approved "
                               f"commit {sha[:12]} ({quoted}). Review it again.", code, said)
        return None

    @staticmethod
    def _pull(data: Any) -> PullRequest:
        try:
            return PullRequest(
                number=int(data["number"]), url=str(data.get("html_url") or data["url"]),
                state=str(data["state"]), title=str(data["title"]),
                body=str(data.get("body") or ""), head_ref=str(data["head"]["ref"]),
                head_sha=str(data["head"]["sha"]), base_ref=str(data["base"]["ref"]),
                # A listed PR (GitHub's "pull request simple") has merged_at but no merged.
                merged=bool(data.get("merged")) or data.get("merged_at") is not None,
                mergeable=data.get("mergeable"),
                merge_commit_sha=data.get("merge_commit_sha"),
            )
        except (KeyError, TypeError, ValueError):
            raise GitHubUnreachable("GitHub returned a pull request without number, state, "
                                    "head or base; is this a GitHub API URL?") from None
