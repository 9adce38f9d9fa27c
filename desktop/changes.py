"""Starting, resuming, revising and rejecting changes: the use cases the CLI and GUI share.

This module wires adapters (git workspace, agent, verifiers) into the core pipeline for one
change. It imports no Qt; `desktop.app` builds it with the services it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets as pysecrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.adapters.journal import JournalError
from desktop.adapters.locks import ChangeLocks, FileLock
from desktop.core.events import (
    ChangeCreated,
    ChangeFinished,
    Committed,
    Notice,
    RevisionRequested,
    RunAttached,
)
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    from desktop.adapters.journal import ChangeJournal
    from desktop.adapters.process_ledger import ProcessLedger
    from desktop.adapters.workspace import GitWorkspace, Worktree
    from desktop.core.bus import EventBus
    from desktop.core.config import DeviceConfig, HonkConfig
    from desktop.core.pipeline import ChangeContext, Step, StepResult
    from desktop.core.pricing import PriceTable

# The adapters that run a change (agent, verifiers, build, git workspace) are imported where
# a change is created or run, not here: the window imports this module to show the history
# and must not pay for them at start-up.

__all__ = ["ChangeService", "CommitStep", "RunOptions", "UsageError", "is_alive"]

MAX_REQUEST_BYTES = 100_000
# What a run imports (see ChangeService.warm_up).
_RUN_MODULES = tuple(f"desktop.{m}" for m in (
    "adapters.agent", "adapters.agent_prompt", "adapters.build", "adapters.commands",
    "adapters.editor_tool", "adapters.gitcli", "adapters.journal_writer", "adapters.judge",
    "adapters.process_ledger", "adapters.verifiers", "adapters.workspace", "core.approval",
    "core.pipeline",
))


class UsageError(ValueError):
    """Bad input from the person (exit code 2 in the CLI); nothing was changed."""


@dataclass(frozen=True)
class RunOptions:
    model: str | None = None
    max_turns: int | None = None
    target: str | None = None
    device: str | None = None


def is_alive(pid: int, host: str) -> bool:
    """Whether the process that owns a change still runs (on another host: assume so)."""
    if host and host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def validate_request(request: str) -> str:
    text = request.strip()
    if not text:
        raise UsageError("the request is empty: say what the agent should change")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_REQUEST_BYTES:
        raise UsageError(
            f"the request is {size:,} bytes; the limit is {MAX_REQUEST_BYTES:,}. Put long "
            "material in a file in the repo and refer to it"
        )
    return text


def read_config(repo: Path) -> HonkConfig:
    """The repo's honk.toml from the person's checkout (never from an agent's worktree)."""
    from desktop.core.config import CONFIG_NAME, load_config

    path = repo / CONFIG_NAME
    if not path.is_file():
        return load_config(None, str(path))
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_config(text, str(path))


class CommitStep:
    """Commit the agent's work on the change branch, authorship disclosed in trailers."""

    stage = Stage.COMMIT
    max_returns = 0

    def __init__(self, workspace: GitWorkspace, worktree: Worktree) -> None:
        self.workspace, self.worktree = workspace, worktree

    async def run(self, ctx: ChangeContext) -> StepResult:
        from desktop.core.pipeline import StepResult

        if not await asyncio.to_thread(self.workspace.changed_files, self.worktree):
            if ctx.commit:  # already committed in an earlier round; nothing new
                return StepResult(ok=True)
            return StepResult(ok=False, reason="the agent finished without changing any file")
        sha = await asyncio.to_thread(self._unjournalled_commit, ctx)
        if sha is None:
            sha = await asyncio.to_thread(
                self.workspace.commit,
                self.worktree,
                request=ctx.request,
                change_id=ctx.change_id,
                model=ctx.model,
            )
        files = await asyncio.to_thread(self.workspace.changed_files, self.worktree)
        ctx.commit = sha
        ctx.emit(Committed(change=ctx.change_id, commit=sha, branch=ctx.branch, files=tuple(files)))
        return StepResult(ok=True)

    def _unjournalled_commit(self, ctx: ChangeContext) -> str | None:
        """A commit of this change that a killed run made but never journalled, if the
        worktree holds nothing newer; committing again would fail on a clean tree."""
        from desktop.adapters.gitcli import git

        head = self.workspace.head(self.worktree)
        if head in (ctx.base_commit, ctx.commit):
            return None
        if git("status", "--porcelain", "--untracked-files=all", cwd=self.worktree.path):
            return None
        message = git("log", "-1", "--format=%B", head, cwd=self.worktree.path)
        return head if f"Honk-Change: {ctx.change_id}" in message else None


class ChangeService:
    """Creates changes and runs their pipelines; every effect is an event on the bus."""

    def __init__(
        self,
        *,
        home: Path,
        journal: ChangeJournal,
        bus: EventBus,
        client_factory: Callable[[], Any],
        secret_values: Callable[[], list[str]],
        prices: PriceTable | None = None,
        backoff_s: float = 1.0,
        installer_for: Callable[[DeviceConfig, str | None], Step | None] | None = None,
        locks: ChangeLocks | None = None,
    ) -> None:
        self.home = home
        self.locks = locks or ChangeLocks(home / "locks")
        self.journal = journal
        self.bus = bus
        self.client_factory = client_factory
        self.secret_values = secret_values
        self._prices = prices
        self.backoff_s = backoff_s
        self.installer_for = installer_for  # builds the install step for a device, if any
        self._client: Any = None
        self._client_lock = threading.Lock()  # one client, even when threads race to make it
        self._warm = False
        self._writer: ThreadPoolExecutor | None = None

    @property
    def prices(self) -> PriceTable:
        """The model price table (built on first use)."""
        if self._prices is None:
            from desktop.core.pricing import PriceTable

            self._prices = PriceTable()
        return self._prices

    def client(self) -> Any:
        """One Messages API client per service: its connection pool is shared by changes."""
        with self._client_lock:
            if self._client is None:
                self._client = self.client_factory()
            return self._client

    def warm_up(self) -> None:
        """Do now, on this thread, the one-off work of a first run: import the adapters, the
        SDK (and what its client and first request import), the keyring's backends, and
        make the API client. Idempotent.

        Call it on the main thread when a pause does not matter (the window once shown,
        before any change runs): imports must not run in worker threads (CPython 3.11's
        compiler is not thread-safe) and, left to the first run, they stall the loop.
        """
        for step in self.warm_up_steps():
            step()

    def warm_up_steps(self) -> list[Callable[[], None]]:
        """:meth:`warm_up` as separate steps (empty once warm), so a window can handle
        input between them instead of freezing for the whole second it takes."""
        if self._warm:
            return []
        import importlib

        def sdk() -> None:
            from desktop.adapters.agent import preload_sdk

            preload_sdk()

        def client() -> None:
            with contextlib.suppress(Exception):  # no key yet: the run says so, where seen
                self.client()
            self._warm = True

        def module(name: str) -> Callable[[], None]:
            def load() -> None:
                importlib.import_module(name)

            return load

        return [*map(module, _RUN_MODULES), sdk, _preload_keyring, client]

    def _prepare_run(self) -> None:
        """The I/O a run needs before its first step (key, client, secret values), made in
        a worker thread; after :meth:`warm_up` it imports nothing."""
        self.client()
        self.secret_values()

    async def aclose(self) -> None:
        """Close the API client's connections (call on the loop that used them) and stop
        the journal's writer thread."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.shutdown(wait=False)
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # -- creating -----------------------------------------------------------------------
    def create(
        self, request: str, repo: Path, options: RunOptions = RunOptions()
    ) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """Validate input, cut the worktree, journal the new change. Raises UsageError."""
        from desktop.adapters.workspace import GitWorkspace

        text = validate_request(request)
        config = read_config(repo)
        workspace = GitWorkspace.open(repo, self.home / "worktrees")
        target = options.target or config.merge.target
        change_id = new_change_id()
        worktree = workspace.create(change_id, text, target)  # it slugifies for the branch
        model = options.model or config.agent.model
        if options.max_turns is not None:
            config = replace(config, agent=replace(config.agent, max_turns=options.max_turns))
        created = ChangeCreated(
            change=change_id,
            request=text,
            repo=str(workspace.repo),
            branch=worktree.branch,
            worktree=str(worktree.path),
            base=target,
            base_commit=worktree.base_commit,
            model=model,
            device=options.device,
        )
        try:
            self.bus.emit(created)
        except JournalError:  # unrecorded, the worktree would be an orphan nobody can find
            workspace.remove(worktree, delete_branch=True)
            raise
        hint = config.hint()
        if hint:
            self.bus.emit(Notice(change=change_id, level="info", message=hint))
        ctx = self._context(change_id, text, worktree, config, model, options.device)
        ctx.prompt = text
        return ctx, workspace, worktree

    def _context(
        self,
        change_id: str,
        request: str,
        worktree: Worktree,
        config: HonkConfig,
        model: str,
        device: str | None,
    ) -> ChangeContext:
        from desktop.core.pipeline import ChangeContext

        return ChangeContext(
            change_id=change_id,
            request=request,
            worktree=str(worktree.path),
            branch=worktree.branch,
            base_commit=worktree.base_commit,
            config=config,
            emit=self.bus.emit,
            model=model,
            device=device,
        )

    # -- running ------------------------------------------------------------------------
    async def run(
        self,
        ctx: ChangeContext,
        workspace: GitWorkspace,
        worktree: Worktree,
        *,
        start_at: Stage = Stage.AGENT,
    ) -> ChangeState:
        """Run the change's pipeline; raises LockBusy if another process is driving it."""
        with self.locks.hold(ctx.change_id, "run"):
            return await self._run_locked(ctx, workspace, worktree, start_at=start_at)

    async def _run_locked(
        self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree, *,
        start_at: Stage = Stage.AGENT,
    ) -> ChangeState:
        from desktop.adapters.journal_writer import OrderedEmitter

        # The run's events are journalled by the writer thread, so the loop (which the
        # window shares) never waits on SQLite; each is reported once stored, in order.
        emitter = OrderedEmitter(self.journal, self.bus.emit, self._journal_writer(),
                                 asyncio.get_running_loop())
        ctx.emit = emitter.emit
        try:
            state = await self._pipeline_run(ctx, workspace, worktree, start_at)
        except BaseException:
            with contextlib.suppress(Exception):  # the run's own failure is the one to raise
                await emitter.flush()
            raise
        finally:
            ctx.emit = self.bus.emit
        await emitter.flush()  # the caller reads the journal next: everything is in it
        return state

    async def _pipeline_run(
        self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree, start_at: Stage
    ) -> ChangeState:
        from desktop.core.pipeline import Pipeline

        ctx.emit(RunAttached(change=ctx.change_id, pid=os.getpid(), host=socket.gethostname()))
        # Verifiers or a build that a killed run of this change left running are stopped
        # before anything else touches the worktree.
        stopped = await asyncio.to_thread(self.ledger(ctx.change_id).reap)
        for argv in stopped:
            ctx.emit(Notice(change=ctx.change_id, level="warning",
                            message=f"stopped {' '.join(argv)!r}, left running by an "
                                    "earlier run that died"))
        self.warm_up()  # a no-op when the app warmed up; else one pause, on this thread
        await asyncio.to_thread(self._prepare_run)
        pipeline = Pipeline(self.steps(ctx, workspace, worktree))
        return await pipeline.run(ctx, start_at=start_at)

    def _journal_writer(self) -> ThreadPoolExecutor:
        """The one thread that journals runs' events (one, so batches keep their order)."""
        with self._client_lock:
            if self._writer is None:
                self._writer = ThreadPoolExecutor(1, thread_name_prefix="honk-journal")
            return self._writer

    def ledger(self, change_id: str) -> ProcessLedger:
        """Where the change's running verifier and build commands are written down."""
        from desktop.adapters.process_ledger import ProcessLedger

        return ProcessLedger(self.home / "run" / change_id)

    def hold(self, change_id: str, purpose: str) -> FileLock:
        """The change's lock, taken now (raises LockBusy); use it as a context manager."""
        return self.locks.hold(change_id, purpose)

    def steps(self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree) -> list[Step]:
        from desktop.adapters.agent import AgentSettings, AgentStep, Toolbox
        from desktop.adapters.agent_prompt import system_prompt
        from desktop.adapters.build import BuildStep
        from desktop.adapters.editor_tool import EditorTool
        from desktop.adapters.verifiers import VerifierRunner, VerifyStep
        from desktop.core.approval import ApprovalStep

        config = ctx.config
        ledger = self.ledger(ctx.change_id)
        runner = VerifierRunner(config.verify, secrets=self.secret_values, ledger=ledger)
        settings = AgentSettings(
            model=ctx.model,
            max_turns=config.agent.max_turns,
            max_cost_usd=config.agent.max_cost_usd,
            max_tokens=config.agent.max_tokens,
            system=system_prompt(worktree.path),
            prices=self.prices,
            backoff_s=self.backoff_s,
        )
        editor = EditorTool(worktree.path)

        async def file_diff(rel: str) -> tuple[str, int, int]:
            d = await asyncio.to_thread(workspace.file_diff, worktree, rel)
            return d.diff, d.added, d.removed

        async def run_verifiers() -> str:
            report = await runner.run(ctx.change_id, worktree.path, ctx.emit)
            return report.failures_text()

        def toolbox(_: ChangeContext) -> Toolbox:
            return Toolbox(edit=editor.run, file_diff=file_diff, run_verifiers=run_verifiers)

        steps: list[Step] = [
            AgentStep(self.client(), settings, toolbox),
            VerifyStep(runner, max_returns=config.agent.verify_rounds),
            CommitStep(workspace, worktree),
        ]
        if config.judge.enabled:
            steps.append(self._judge_step(ctx, workspace, worktree))
        if config.build is not None:
            steps.append(BuildStep(config.build, secrets=self.secret_values, ledger=ledger))
        if config.device is not None and self.installer_for is not None:
            installer = self.installer_for(config.device, ctx.device)
            if installer is not None:
                steps.append(installer)
        steps.append(ApprovalStep())
        return steps

    def _judge_step(self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree) -> Step:
        from desktop.adapters.judge import JudgeSettings, JudgeStep

        async def diff() -> str:
            return await asyncio.to_thread(workspace.diff, worktree)

        settings = JudgeSettings(model=ctx.config.judge.model, prices=self.prices)
        return JudgeStep(self.client(), diff, secret_values=self.secret_values,
                         settings=settings)

    # -- after the fact -----------------------------------------------------------------
    def view(self, change_id: str, *, owner: bool = False) -> ChangeView:
        """The change's state (interrupted if its process died). Accepts a unique prefix.

        ``owner``: the caller holds the change's lock, so a run still marked running on
        this host is a dead one (its process can no longer hold the lock).
        """
        matches = self.journal.find(change_id)
        if change_id in matches:
            matches = [change_id]
        if not matches:
            raise UsageError(f"no change {change_id!r} in {self.journal.path}")
        if len(matches) > 1:
            raise UsageError(f"{change_id!r} matches several changes: {', '.join(matches[:5])}")
        view = self.journal.view(matches[0])
        assert view is not None
        if owner:
            return view.with_liveness(lambda _pid, host: bool(host) and host != socket.gethostname())
        return view.with_liveness(self._liveness(view.id))

    def history(self, limit: int | None = None) -> list[ChangeView]:
        """Changes, newest first (the newest ``limit`` of them)."""
        return [v.with_liveness(self._liveness(v.id)) for v in self.journal.changes(limit)]

    def _liveness(self, change_id: str) -> Callable[[int, str], bool]:
        """On this host a change is alive exactly while its lock is held: the kernel drops
        the lock when the process dies, and a reused pid cannot fake it."""

        def alive(pid: int, host: str) -> bool:
            if host and host != socket.gethostname():
                return True
            return self.locks.is_held(change_id)

        return alive

    def reopen(self, view: ChangeView) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """Context for resuming or revising a change from what the journal holds."""
        from desktop.adapters.workspace import GitWorkspace

        repo = Path(view.repo)
        workspace = GitWorkspace.open(repo, self.home / "worktrees")
        worktree = workspace.attach(Path(view.worktree), view.branch, view.base, view.base_commit)
        _clear_crash_leftovers(worktree.path)
        ctx = self._context(
            view.id, view.request, worktree, read_config(repo), view.model, view.device
        )
        ctx.commit = view.commit
        ctx.cost_usd = view.cost_usd
        return ctx, workspace, worktree

    async def resume(self, change_id: str) -> ChangeState:
        """Continue an interrupted change from the stage it was cut in."""
        # Lock first, then read the state: two resumes racing cannot both see "interrupted".
        with self.locks.hold(self.view(change_id).id, "resume"):
            return await self._resume_locked(change_id)

    async def _resume_locked(self, change_id: str) -> ChangeState:
        view = self.view(change_id, owner=True)
        if view.state is not ChangeState.INTERRUPTED:
            raise UsageError(f"change {view.id} is {view.state.value}, not interrupted")
        from desktop.core.pipeline import revise_prompt

        ctx, workspace, worktree = self.reopen(view)
        last = view.stages[-1].stage if view.stages else Stage.AGENT
        if last is Stage.MERGE:
            raise UsageError(f"change {view.id} was cut while merging: run `honk approve "
                             f"{view.id}` to check the remote and finish the record")
        # Work that may have been cut half-way (edits, a commit) is checked again; an install
        # starts from the build, whose artifact path and sha256 only live in that run.
        start = {Stage.AGENT: Stage.AGENT, Stage.COMMIT: Stage.VERIFY,
                 Stage.INSTALL: Stage.BUILD}.get(last, last)
        stages_here = {step.stage for step in self.steps(ctx, workspace, worktree)}
        if start not in stages_here:
            start = Stage.VERIFY
        if start is Stage.AGENT:
            diff = await asyncio.to_thread(workspace.diff, worktree)
            ctx.prompt = revise_prompt(
                view.request, diff, "You were interrupted. Finish the original request."
            )
        self.bus.emit(
            Notice(change=view.id, level="info", message=f"resumed from the {start.value} stage")
        )
        return await self._run_locked(ctx, workspace, worktree, start_at=start)

    async def revise(self, change_id: str, message: str) -> ChangeState:
        """A follow-up request on an existing change, continuing its worktree and branch."""
        text = validate_request(message)
        with self.locks.hold(self.view(change_id).id, "revise"):
            return await self._revise_locked(change_id, text)

    async def _revise_locked(self, change_id: str, text: str) -> ChangeState:
        view = self.view(change_id, owner=True)
        if view.state.is_running:
            raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
        if view.state.is_final:
            raise UsageError(f"change {view.id} is {view.state.value} and cannot be revised")
        from desktop.core.pipeline import revise_prompt

        ctx, workspace, worktree = self.reopen(view)
        diff = await asyncio.to_thread(workspace.diff, worktree)
        ctx.prompt = revise_prompt(view.request, diff, text)
        self.bus.emit(RevisionRequested(change=view.id, message=text))
        return await self._run_locked(ctx, workspace, worktree)

    def reject(self, change_id: str, reason: str = "") -> None:
        """Discard the worktree and branch; the journal keeps the record."""
        with self.locks.hold(self.view(change_id).id, "reject"):
            self._reject_locked(change_id, reason)

    def _reject_locked(self, change_id: str, reason: str) -> None:
        view = self.view(change_id, owner=True)
        if view.state.is_running:
            raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
        if view.state is ChangeState.MERGED:
            raise UsageError(f"change {view.id} is already merged")
        from desktop.adapters.workspace import GitWorkspace

        workspace = GitWorkspace.open(Path(view.repo), self.home / "worktrees")
        try:
            worktree = workspace.attach(
                Path(view.worktree), view.branch, view.base, view.base_commit
            )
            workspace.remove(worktree, delete_branch=True)
        except Exception as exc:  # already gone: rejecting still records the decision
            self.bus.emit(
                Notice(change=view.id, level="warning", message=f"worktree already gone: {exc}")
            )
        self.bus.emit(
            ChangeFinished(
                change=view.id, state=ChangeState.REJECTED.value, reason=reason or "rejected"
            )
        )


def _preload_keyring() -> None:
    """Load the keyring's backends (plugin imports) so reading secrets later imports nothing."""
    try:
        import keyring
    except ImportError:
        return
    with contextlib.suppress(Exception):  # no usable backend: reading a secret says so
        keyring.get_keyring()


def _clear_crash_leftovers(worktree: Path) -> None:
    """Remove what a killed run can leave in its worktree: the editor's temp files (the
    edit they carried never landed) and git's index.lock. Only called under the change's
    lock, so no live Honk process is writing there."""
    from desktop.adapters.gitcli import GitError, git

    try:
        stale = git("ls-files", "--others", "-z", "--", ":(glob)**/.honk-edit-*.tmp",
                    cwd=worktree, strip=False)
        for rel in filter(None, stale.split("\0")):
            with contextlib.suppress(FileNotFoundError):
                (worktree / rel).unlink()
        index = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index.lock",
                         cwd=worktree))
    except GitError:
        return
    deadline = time.monotonic() + 2.0  # an orphaned git of the dead run may still finish
    while index.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(FileNotFoundError):
        index.unlink()


def new_change_id() -> str:
    """Short, unique enough for one person's history, and easy to type."""
    return pysecrets.token_hex(4)
