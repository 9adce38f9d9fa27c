"""The build stage on GitHub Actions: push the change's commit as its branch, dispatch the
repo's workflow, follow the run, fetch its artifact, and record it exactly as a local build
records one, so installing and approving go on unchanged.

The desk machine only waits here: ten changes building are ten runs in flight, each one
polling with backoff. A run the journal already knows (a resumed change) is re-attached,
never dispatched twice. Cancelling the change cancels the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Protocol

from desktop.adapters.process.loop_priority import LoopShare, Offload
from desktop.core.build_events import ArtifactBuilt, BuildLog, RemoteBuildStarted, RemoteBuildStatus
from desktop.core.config import BuildConfig
from desktop.core.events import Event, Notice, StageProgress
from desktop.core.pipeline import SHUTDOWN, ChangeContext, StepResult
from desktop.core.stages import Stage
from desktop.core.text import failure_excerpt, redact
from desktop.steps.build import ArtifactError, find_artifact, sha256_of

__all__ = ["ActionsApi", "BranchPusher", "RemoteBuildStep", "RunInfo", "safe_unzip"]

# A zip may not unpack to more than this (a hostile or broken artifact must not fill the disk).
_MAX_UNPACKED = 8 * 1024**3


class RunInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def conclusion(self) -> str | None: ...
    @property
    def head_sha(self) -> str: ...
    @property
    def html_url(self) -> str: ...


class JobInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


class ArtifactInfo(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def size_in_bytes(self) -> int: ...
    @property
    def expired(self) -> bool: ...


class ActionsApi(Protocol):
    """What the step needs of GitHub Actions (desktop.adapters.forge.actions.ActionsClient)."""

    async def dispatch(self, owner: str, repo: str, workflow: str, ref: str,
                       inputs: dict[str, str]) -> int | None: ...

    async def find_dispatched_run(self, owner: str, repo: str, workflow: str, branch: str,
                                  head_sha: str, created_after: str) -> RunInfo | None: ...

    async def get_run(self, owner: str, repo: str, run_id: int) -> RunInfo: ...

    async def jobs(self, owner: str, repo: str, run_id: int) -> Sequence[JobInfo]: ...

    async def job_log(self, owner: str, repo: str, job_id: int) -> str: ...

    async def artifacts(self, owner: str, repo: str, run_id: int) -> Sequence[ArtifactInfo]: ...

    async def download_artifact(self, owner: str, repo: str, artifact_id: int,
                                dest: Path) -> int: ...

    async def cancel_run(self, owner: str, repo: str, run_id: int) -> None: ...

    async def aclose(self) -> None: ...


class BranchPusher(Protocol):
    """Pushes the change's commit as its branch (desktop.adapters.git.merge.GitMerger)."""

    def push_branch_with_lease(self, *, branch: str, sha: str, remote: str,
                               expected: str | None) -> None: ...


class RemoteBuildStep:
    """The pipeline's build stage, when honk.toml says ``[build] via = "github-actions"``."""

    stage = Stage.BUILD

    def __init__(
        self,
        config: BuildConfig,
        *,
        client: Callable[[Callable[[float, str], None]], ActionsApi],
        pusher: BranchPusher,
        remote: str,
        artifacts_dir: Path,
        history: Callable[[str], Sequence[Event]],
        secrets: Callable[[], Iterable[str]] = tuple,
        poll_s: tuple[float, float] = (2.0, 30.0),
        max_returns: int = 1,
        clock: Callable[[], float] = time.monotonic,
        offload: Offload | None = None,
        share: LoopShare | None = None,
    ) -> None:
        self.config, self.max_returns = config, max_returns
        # Where the blocking work runs (keyring, journal, git push, unzip, sha256): never on
        # the loop's thread; the app's background threads run it at a lower CPU priority.
        self._offload: Offload = offload or asyncio.to_thread
        # A long job log is thousands of events: emitted in the loop's shared slices.
        self._share = share or LoopShare()
        self._client, self._pusher, self._remote = client, pusher, remote
        self._artifacts_dir, self._history = artifacts_dir, history
        self._secrets, self._poll_s, self._clock = secrets, poll_s, clock
        self.owner, self.repo = config.github_repo.split("/", 1)

    async def run(self, ctx: ChangeContext) -> StepResult:
        if not ctx.commit:
            return StepResult(ok=False, reason="nothing is committed to build")
        def waiting(seconds: float, why: str) -> None:  # the client waits out a rate limit
            self._say(ctx, f"GitHub rate limit: waiting {seconds:.0f} s ({why})")

        try:
            # Made off the loop: making it reads the token from the keyring.
            api = await self._offload(self._client, waiting)
        except ValueError as exc:  # no token, or a malformed one: the message says which
            return StepResult(ok=False, reason=f"GitHub Actions build: {exc}")
        try:
            return await self._run(ctx, api, ctx.commit)
        finally:
            await api.aclose()

    async def _run(self, ctx: ChangeContext, api: ActionsApi, commit: str) -> StepResult:
        started = self._clock()
        events = await self._offload(self._history, ctx.change_id)
        pushed = [e for e in events if isinstance(e, RemoteBuildStarted)]
        done = {e.run_id for e in events
                if isinstance(e, RemoteBuildStatus) and e.status == "completed"}
        live = next((e for e in reversed(pushed) if e.commit == commit
                     and e.run_id not in done), None)
        if live is not None:  # a resumed change: its run is still GitHub's to finish
            run_id = live.run_id
            self._say(ctx, f"re-attached to run {run_id} (dispatched before Honk stopped)")
        else:
            lease = pushed[-1].commit if pushed else None  # what Honk pushed there last
            dispatched = await self._dispatch(ctx, api, commit, lease)
            if isinstance(dispatched, StepResult):
                return dispatched
            run_id = dispatched
        try:
            run = await self._follow(ctx, api, run_id, started)
        except asyncio.CancelledError as exc:
            if SHUTDOWN not in exc.args:  # stopping Honk leaves the run to be re-attached
                await self._cancel(api, run_id)
            raise
        if isinstance(run, StepResult):
            return run
        return await self._finish(ctx, api, run, commit, started)

    # -- dispatching -------------------------------------------------------------------
    async def _dispatch(self, ctx: ChangeContext, api: ActionsApi, commit: str,
                        lease: str | None) -> int | StepResult:
        from desktop.adapters.git.merge import MergeError

        branch = ctx.branch
        self._say(ctx, f"pushing {commit[:12]} to {self._remote}/{branch}")
        try:
            await self._offload(partial(self._pusher.push_branch_with_lease, branch=branch,
                                        sha=commit, remote=self._remote, expected=lease))
        except MergeError as exc:
            return StepResult(ok=False, reason=f"could not push the change's branch: {exc}")
        since = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        inputs = {"sha": commit, "change": ctx.change_id}
        self._say(ctx, f"dispatching {self.config.workflow} on {branch}")
        run_id = await api.dispatch(self.owner, self.repo, self.config.workflow, branch, inputs)
        if run_id is None:  # an older GitHub answers 204: find the run it made
            run_id = await self._find_run(ctx, api, branch, commit, since)
            if run_id is None:
                return StepResult(ok=False, reason=(
                    f"GitHub accepted the dispatch of {self.config.workflow} but no run for "
                    f"{commit[:12]} on {branch} appeared; check the workflow has "
                    "`on: workflow_dispatch` and reads inputs.sha"))
        run = await api.get_run(self.owner, self.repo, run_id)
        ctx.emit(RemoteBuildStarted(change=ctx.change_id, run_id=run_id,
                                    workflow=self.config.workflow, branch=branch,
                                    commit=commit, url=run.html_url))
        return run_id

    async def _find_run(self, ctx: ChangeContext, api: ActionsApi, branch: str, commit: str,
                        since: str) -> int | None:
        delay, deadline = self._poll_s[0], self._clock() + max(60.0, self._poll_s[1] * 4)
        while self._clock() < deadline:
            run = await api.find_dispatched_run(self.owner, self.repo, self.config.workflow,
                                                branch, commit, since)
            if run is not None:
                return run.id
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self._poll_s[1])
        return None

    # -- following ---------------------------------------------------------------------
    async def _follow(self, ctx: ChangeContext, api: ActionsApi, run_id: int,
                      started: float) -> RunInfo | StepResult:
        delay, status = self._poll_s[0], ""
        while True:
            run = await api.get_run(self.owner, self.repo, run_id)
            if run.status != status:
                status = run.status
                ctx.emit(RemoteBuildStatus(change=ctx.change_id, run_id=run_id,
                                           status=run.status, conclusion=run.conclusion))
                self._say(ctx, f"run {run_id} {run.status.replace('_', ' ')}", started)
                delay = self._poll_s[0]
            if run.status == "completed":
                return run
            if self._clock() - started > self.config.timeout:
                await self._cancel(api, run_id)
                return StepResult(ok=False, reason=(
                    f"the GitHub Actions run {run_id} took longer than {self.config.timeout:g} s "
                    f"([build] timeout in {ctx.config.file}); it was cancelled"))
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, self._poll_s[1])

    async def _cancel(self, api: ActionsApi, run_id: int) -> None:
        """Cancel the run, even while our own task is being cancelled."""
        from desktop.adapters.forge.errors import GitHubError  # loaded with the client: no cost

        with contextlib.suppress(GitHubError, asyncio.CancelledError):
            await asyncio.shield(api.cancel_run(self.owner, self.repo, run_id))

    # -- the outcome -------------------------------------------------------------------
    async def _finish(self, ctx: ChangeContext, api: ActionsApi, run: RunInfo, commit: str,
                      started: float) -> StepResult:
        from desktop.adapters.forge.actions import ArtifactExpired

        log = await self._logs(ctx, api, run.id)
        if run.conclusion == "failure":
            excerpt = await self._offload(self._excerpt, log)
            return StepResult(
                ok=False, reason=f"the GitHub Actions build failed (run {run.id})",
                back_to_agent=(
                    f"The build on GitHub Actions ({self.config.workflow}, run {run.id}) "
                    "failed. Fix the cause in the code. The relevant lines of its log:\n"
                    f"<build_log>\n{excerpt}\n</build_log>"))
        if run.conclusion != "success":
            return StepResult(ok=False, reason=(
                f"the GitHub Actions run {run.id} ended {run.conclusion or 'without a result'}"
                f" ({run.html_url})"))
        if run.head_sha != commit:
            return StepResult(ok=False, reason=(
                f"the GitHub Actions run {run.id} built {run.head_sha}, not the change's "
                f"commit {commit}; its artifact is not used"))
        found = [a for a in await api.artifacts(self.owner, self.repo, run.id)
                 if a.name == self.config.actions_artifact]
        if not found:
            return StepResult(ok=False, reason=(
                f"the GitHub Actions run {run.id} uploaded no artifact named "
                f"{self.config.actions_artifact!r} ([build] actions_artifact)"))
        artifact = found[-1]
        into = self._artifacts_dir / ctx.change_id / str(run.id)
        zip_path = into.with_suffix(".zip")
        try:
            if artifact.expired:
                raise ArtifactExpired(f"artifact {artifact.name!r} of run {run.id} has expired")
            await self._offload(partial(zip_path.parent.mkdir, parents=True, exist_ok=True))
            await api.download_artifact(self.owner, self.repo, artifact.id, zip_path)
            path = await self._offload(self._unpack, zip_path, into)
        except ArtifactExpired as exc:
            return StepResult(ok=False, reason=f"{exc}; run the build again (revise or resume)")
        except (ArtifactError, zipfile.BadZipFile) as exc:
            return StepResult(ok=False, reason=f"artifact of run {run.id}: {exc}")
        size, digest = await self._offload(_size_and_sha256, path)
        ctx.artifact_path, ctx.artifact_sha256 = str(path), digest
        ctx.emit(ArtifactBuilt(change=ctx.change_id, path=str(path), size=size, sha256=digest,
                               seconds=round(self._clock() - started, 3)))
        return StepResult(ok=True, reason=f"built {path.name} ({size} bytes) on GitHub Actions")

    async def _logs(self, ctx: ChangeContext, api: ActionsApi, run_id: int) -> str:
        """Every job's log, into the build log; "" when GitHub has none to give."""
        from desktop.adapters.forge.errors import GitHubError  # loaded with the client: no cost

        # Off the loop: the secrets may come from the keyring, and redacting a long log (each
        # secret in each encoding, a regex scan apiece) is CPU work.
        secrets = await self._offload(self._secret_list)
        texts: list[str] = []
        try:
            for job in await api.jobs(self.owner, self.repo, run_id):
                raw = await api.job_log(self.owner, self.repo, job.id)
                text, lines = await self._offload(_redacted_lines, raw, secrets, job.name)
                texts.append(text)
                for line in lines:
                    ctx.emit(BuildLog(change=ctx.change_id, line=line))
                    await self._share.pause_if_spent()
        except GitHubError as exc:
            ctx.emit(Notice(change=ctx.change_id, level="warning",
                            message=f"the run's logs could not be fetched: {exc}"))
        return "\n".join(texts)

    def _secret_list(self) -> list[str]:
        return list(self._secrets())

    def _excerpt(self, log: str) -> str:
        """The failed build's lines for the agent, secrets out."""
        secrets = self._secret_list()
        return redact(failure_excerpt(redact(log, secrets)), secrets)

    def _unpack(self, zip_path: Path, into: Path) -> Path:
        if into.exists():
            shutil.rmtree(into)
        safe_unzip(zip_path, into)
        zip_path.unlink()
        return find_artifact(into, self.config.artifact)

    def _say(self, ctx: ChangeContext, message: str, started: float | None = None) -> None:
        if started is not None:
            message = f"{self._clock() - started:.0f} s: {message}"
        ctx.emit(StageProgress(change=ctx.change_id, stage=Stage.BUILD, message=message))


def _redacted_lines(raw: str, secrets: list[str], job: str) -> tuple[str, list[str]]:
    """A job's log with the secrets out, and its lines as the build log shows them."""
    text = redact(raw, secrets)
    return text, [f"[{job}] {line}" for line in text.splitlines()]


def _size_and_sha256(path: Path) -> tuple[int, str]:
    return path.stat().st_size, sha256_of(path)


def safe_unzip(zip_path: Path, into: Path) -> None:
    """Unpack a downloaded artifact: no member may leave ``into`` (absolute paths, "..",
    links) and the whole may not exceed a few GB. ArtifactError otherwise."""
    into.mkdir(parents=True, exist_ok=True)
    root = into.resolve()
    with zipfile.ZipFile(zip_path) as archive:
        members = archive.infolist()
        if sum(m.file_size for m in members) > _MAX_UNPACKED:
            raise ArtifactError(f"{zip_path.name} unpacks to more than {_MAX_UNPACKED} bytes")
        for member in members:
            target = (root / member.filename).resolve()
            link = (member.external_attr >> 16) & 0o170000 == 0o120000
            if link or not target.is_relative_to(root) or Path(member.filename).is_absolute():
                raise ArtifactError(f"{zip_path.name}: refusing member {member.filename!r} "
                                    "(outside the artifact folder, or a link)")
        archive.extractall(root)
