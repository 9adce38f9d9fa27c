"""GitHub Actions over the shared GitHub HTTP core: dispatch a workflow, find and follow its
run, read its jobs' logs, fetch its artifacts, cancel it.

Logs and artifact zips answer 302 to another host (blob storage) with a link that expires
after about a minute; the core follows it with a fresh request that carries no token.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Unpack

from desktop.adapters.forge.errors import (
    GitHubError,
    GitHubNotFound,
    GitHubUnreachable,
    GitHubValidation,
)
from desktop.adapters.forge.http import LARGE_BODY, GitHubApiClient, HttpOptions

__all__ = ["ActionsClient", "ArtifactExpired", "Job", "RunArtifact", "WorkflowRun"]

_WORKFLOW = re.compile(r"[A-Za-z0-9_.-]+")
# A download is written to its file a MiB at a time, each write on a worker thread.
_WRITE_BYTES = 1024 * 1024


class ArtifactExpired(GitHubError):
    """410: the artifact is past its retention and can no longer be downloaded."""


@dataclass(frozen=True)
class WorkflowRun:
    id: int
    status: str  # queued | in_progress | completed (| waiting | requested | pending)
    conclusion: str | None  # success | failure | cancelled | timed_out | ... once completed
    head_sha: str
    head_branch: str
    html_url: str
    created_at: str  # ISO-8601 UTC, as GitHub gives it


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    status: str
    conclusion: str | None


@dataclass(frozen=True)
class RunArtifact:
    id: int
    name: str
    size_in_bytes: int
    expired: bool


def _when(iso: str) -> datetime:
    """An ISO-8601 time to the whole second (GitHub's precision), in UTC."""
    parsed = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).replace(microsecond=0)


class ActionsClient(GitHubApiClient):
    """``async with ActionsClient(token, base_url=...) as actions:`` – one per build stage;
    ``per_page`` (1-100) is the page size of the lists it reads."""

    PERMISSIONS = "actions: write, contents: write"

    def __init__(self, token: str, *, per_page: int = 100,
                 **options: Unpack[HttpOptions]) -> None:
        super().__init__(token, **options)
        self._per_page = str(min(max(per_page, 1), 100))

    # -- runs -----------------------------------------------------------------------------

    async def dispatch(self, owner: str, repo: str, workflow: str, ref: str,
                       inputs: dict[str, str]) -> int | None:
        """Start ``workflow`` on branch ``ref``; the run's id when GitHub tells it (200), None
        when it answers 204 (older GitHub Enterprise): then find it with
        ``find_dispatched_run``."""
        path = f"{self._actions(owner, repo)}/workflows/{self._workflow(workflow)}/dispatches"
        body: dict[str, Any] = {"ref": ref, "inputs": inputs, "return_run_details": True}
        explain = partial(self._explain_workflow, workflow=workflow, ref=ref)
        try:
            response = await self._core.send("POST", path, body=body, explain=explain)
        except GitHubValidation as exc:
            if "return_run_details" not in exc.github_message:
                raise
            # A GitHub Enterprise from before 2026-02 may refuse the field: dispatch without.
            del body["return_run_details"]
            response = await self._core.send("POST", path, body=body, explain=explain)
        if response.status_code == 204:
            return None
        try:
            return int(response.json()["workflow_run_id"])
        except (ValueError, KeyError, TypeError):
            raise self._core.shape("POST", path, "{workflow_run_id} or 204") from None

    async def find_dispatched_run(self, owner: str, repo: str, workflow: str, branch: str,
                                  head_sha: str, created_after: str) -> WorkflowRun | None:
        """The newest ``workflow_dispatch`` run of ``workflow`` on ``branch`` whose head is
        ``head_sha`` and which was created at or after ``created_after`` (ISO-8601 UTC, to the
        second); None while GitHub has not listed it yet."""
        since = _when(created_after)
        path = f"{self._actions(owner, repo)}/workflows/{self._workflow(workflow)}/runs"

        def older(page: list[Any]) -> bool:  # newest first: past `since`, stop paging
            return any(_when(self._run(item).created_at) < since for item in page)

        listed = await self._core.pages(
            path, "workflow_runs", enough=older, explain=self._explain_found,
            params={"event": "workflow_dispatch", "branch": branch,
                    "per_page": self._per_page})
        found = [r for r in map(self._run, listed) if r.head_sha == head_sha and r.head_branch == branch
                 and _when(r.created_at) >= since]
        return max(found, key=lambda r: (_when(r.created_at), r.id), default=None)

    async def get_run(self, owner: str, repo: str, run_id: int) -> WorkflowRun:
        """The run as GitHub sees it now."""
        return self._run(await self._core.json(
            "GET", f"{self._actions(owner, repo)}/runs/{int(run_id)}",
            explain=self._explain_found))

    async def cancel_run(self, owner: str, repo: str, run_id: int) -> None:
        """Ask GitHub to cancel the run; a run that already completed is left as it is."""
        path = f"{self._actions(owner, repo)}/runs/{int(run_id)}/cancel"
        with contextlib.suppress(_AlreadyCompleted):
            await self._core.send("POST", path, explain=self._explain_cancel)

    # -- jobs and logs --------------------------------------------------------------------

    async def jobs(self, owner: str, repo: str, run_id: int) -> list[Job]:
        """Every job of the run's latest attempt."""
        listed = await self._core.pages(
            f"{self._actions(owner, repo)}/runs/{int(run_id)}/jobs", "jobs",
            params={"per_page": self._per_page}, explain=self._explain_found)
        try:
            return [Job(int(j["id"]), str(j["name"]), str(j["status"]), j.get("conclusion"))
                    for j in listed]
        except (KeyError, TypeError, ValueError):
            raise GitHubUnreachable("GitHub listed a job without id, name or status; is "
                                    "this a GitHub API URL?") from None

    async def job_log(self, owner: str, repo: str, job_id: int) -> str:
        """The job's plain-text log (GitHub serves it once the job is done)."""
        chunks: list[bytes] = []

        async def keep(chunk: bytes) -> None:
            chunks.append(chunk)

        size = await self._core.fetch(f"{self._actions(owner, repo)}/jobs/{int(job_id)}/logs",
                                      keep, explain=self._explain_found)
        if size >= LARGE_BODY:  # a long build's log is megabytes: decoded off the loop
            return await asyncio.to_thread(_text, chunks)
        return _text(chunks)

    # -- artifacts ------------------------------------------------------------------------

    async def artifacts(self, owner: str, repo: str, run_id: int) -> list[RunArtifact]:
        """The artifacts the run uploaded."""
        listed = await self._core.pages(
            f"{self._actions(owner, repo)}/runs/{int(run_id)}/artifacts", "artifacts",
            params={"per_page": self._per_page}, explain=self._explain_found)
        try:
            return [RunArtifact(int(a["id"]), str(a["name"]), int(a["size_in_bytes"]),
                                bool(a["expired"])) for a in listed]
        except (KeyError, TypeError, ValueError):
            raise GitHubUnreachable("GitHub listed an artifact without id, name, size or "
                                    "expired; is this a GitHub API URL?") from None

    async def download_artifact(self, owner: str, repo: str, artifact_id: int,
                                dest: Path) -> int:
        """Stream the artifact's zip to ``dest`` (whole or not at all); bytes written.
        An expired artifact raises ``ArtifactExpired``."""
        path = f"{self._actions(owner, repo)}/artifacts/{int(artifact_id)}/zip"
        part = dest.with_name(f".{dest.name}.part")
        # The file's opening, writes and rename run on worker threads: a disk that is slow
        # to take them (journal commit, writeback) must not hold up the loop.
        out = await asyncio.to_thread(part.open, "wb")
        sink, done = _FileSink(out), False
        try:
            written = await self._core.fetch(path, sink.write, explain=self._explain_zip)
            await sink.flush()
            done = True
        finally:
            await asyncio.to_thread(_settle, out, part, dest if done else None)
        return written

    # -- plumbing -------------------------------------------------------------------------

    def _actions(self, owner: str, repo: str) -> str:
        return f"{self._core.repo_path(owner, repo)}/actions"

    @staticmethod
    def _workflow(workflow: str) -> str:
        if not _WORKFLOW.fullmatch(workflow):
            raise ValueError(f"GitHub workflow = {workflow!r}: expected a workflow file name "
                             "(honk-build.yml) or its id")
        return workflow

    @staticmethod
    def _explain_workflow(code: int, said: str, where: str, *, workflow: str,
                          ref: str) -> GitHubError | None:
        quoted = f"{code} {said}".strip()
        if code == 404:
            return GitHubNotFound(f"GitHub has no workflow {workflow!r} at {where} ({quoted}): "
                                  "check build.workflow, github_repo and that the token can "
                                  "see the repository", code, said)
        if code == 422:
            return GitHubValidation(f"GitHub would not dispatch {workflow!r} on {ref!r} "
                                    f"({quoted}): is the branch pushed, and does the workflow "
                                    "have `on: workflow_dispatch`?", code, said)
        return None

    @staticmethod
    def _explain_found(code: int, said: str, where: str) -> GitHubError | None:
        if code == 404:
            return GitHubNotFound(f"GitHub found nothing at {where} ({code} {said}".strip()
                                  + "): check github_repo and that the token can see the "
                                  "repository's Actions", code, said)
        return None

    @staticmethod
    def _explain_zip(code: int, said: str, where: str) -> GitHubError | None:
        if code == 410:
            quoted = f"{code} {said}".strip()
            return ArtifactExpired(f"GitHub no longer has the artifact at {where} ({quoted}): "
                                   "it is past its retention; build again", code, said)
        return ActionsClient._explain_found(code, said, where)

    @staticmethod
    def _explain_cancel(code: int, said: str, where: str) -> GitHubError | None:
        if code == 409:
            return _AlreadyCompleted(said, code, said)
        return ActionsClient._explain_found(code, said, where)

    @staticmethod
    def _run(data: Any) -> WorkflowRun:
        try:
            _when(data["created_at"])
            return WorkflowRun(
                id=int(data["id"]), status=str(data["status"]),
                conclusion=data.get("conclusion"), head_sha=str(data["head_sha"]),
                head_branch=str(data.get("head_branch") or ""),
                html_url=str(data.get("html_url") or ""), created_at=str(data["created_at"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            raise GitHubUnreachable("GitHub returned a workflow run without id, status, "
                                    "head_sha or created_at; is this a GitHub API URL?") from None


class _FileSink:
    """Collects a download's chunks and writes them, a MiB at a time, from a worker thread."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._chunks: list[bytes] = []
        self._size = 0

    async def write(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)
        if self._size >= _WRITE_BYTES:
            await self.flush()

    async def flush(self) -> None:
        if self._chunks:
            data, self._chunks, self._size = b"".join(self._chunks), [], 0
            await asyncio.to_thread(self._out.write, data)


def _text(chunks: list[bytes]) -> str:
    return b"".join(chunks).decode("utf-8", errors="replace")


def _settle(out: BinaryIO, part: Path, dest: Path | None) -> None:
    """Close the partial file, then move it to ``dest`` (a whole download) or remove it."""
    try:
        out.close()
        if dest is not None:
            os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


class _AlreadyCompleted(GitHubError):
    """409 to a cancel: the run finished first."""
