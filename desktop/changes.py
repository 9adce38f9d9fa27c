"""Starting, resuming, revising and rejecting changes: the use cases the CLI and GUI share.

`ChangeService` wires adapters (git workspace, agent, verifiers) into the core pipeline for
one change. It imports no Qt; `desktop.app` builds it with the services it needs. The work is
spread over focused modules: `change_inputs` (checking what the person gives),
`change_steps` (the pipeline's steps), `change_runs` (running, resuming, revising,
rejecting) and `change_warmup` (a first run's one-off work, done up front).
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from desktop.adapters.journal import JournalError
from desktop.adapters.locks import ChangeLocks, FileLock
from desktop.change_inputs import (
    MAX_REQUEST_BYTES,
    RunOptions,
    UsageError,
    is_alive,
    new_change_id,
    read_config,
    validate_request,
)
from desktop.change_steps import CommitStep
from desktop.core.events import ChangeCreated, Notice
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    import asyncio

    from desktop.adapters.journal import ChangeJournal
    from desktop.adapters.loop_priority import LoopShare
    from desktop.adapters.process_ledger import ProcessLedger
    from desktop.adapters.workspace import GitWorkspace, Worktree
    from desktop.core.bus import EventBus
    from desktop.core.config import DeviceConfig, HonkConfig
    from desktop.core.pipeline import ChangeContext, Step
    from desktop.core.pricing import PriceTable

# The adapters that run a change (agent, verifiers, build, git workspace) are imported where
# a change is created or run, not here: the window imports this module to show the history
# and must not pay for them at start-up.

__all__ = [
    "MAX_REQUEST_BYTES",
    "ChangeService",
    "CommitStep",
    "RunOptions",
    "UsageError",
    "is_alive",
    "new_change_id",
    "read_config",
    "validate_request",
]

T = TypeVar("T")
# Threads for a run's git and file work; more than the cores, since they mostly wait on git.
_BACKGROUND_THREADS = min(8, (os.cpu_count() or 2) + 2)


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
        self._lock = threading.Lock()  # one client and pool, even when threads race to make it
        self._warm = False
        self._writer: ThreadPoolExecutor | None = None
        self._background: ThreadPoolExecutor | None = None
        self._share: LoopShare | None = None

    @property
    def prices(self) -> PriceTable:
        """The model price table (built on first use)."""
        if self._prices is None:
            from desktop.core.pricing import PriceTable

            self._prices = PriceTable()
        return self._prices

    def client(self) -> Any:
        """One Messages API client per service: its connection pool is shared by changes."""
        with self._lock:
            if self._client is None:
                self._client = self.client_factory()
            return self._client

    # -- warming up and closing -----------------------------------------------------------
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
        from desktop.change_warmup import warm_up_steps

        def done() -> None:
            self._warm = True

        return [*warm_up_steps(self.client), done]

    def prepare_run(self) -> None:
        """The I/O a run needs before its first step (key, client, secret values), made in
        a worker thread; after :meth:`warm_up` it imports nothing."""
        self.client()
        self.secret_values()

    async def aclose(self) -> None:
        """Close the API client's connections (call on the loop that used them) and stop
        the journal's writer thread and the background threads."""
        for pool in (self._writer, self._background):
            if pool is not None:
                pool.shutdown(wait=False)
        self._writer = self._background = None
        if self._client is not None:
            client, self._client = self._client, None
            await client.close()

    # -- threads and the loop -------------------------------------------------------------
    def journal_writer(self) -> ThreadPoolExecutor:
        """The one thread that journals runs' events (one, so batches keep their order)."""
        from desktop.adapters.loop_priority import background_pool

        with self._lock:
            if self._writer is None:
                self._writer = background_pool(1, "honk-journal")
            return self._writer

    async def offload(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)`` on the service's background threads: git and file work that the
        window's loop need not wait for, at a lower CPU priority than the loop's thread."""
        from desktop.adapters.loop_priority import background_pool

        with self._lock:
            if self._background is None:
                self._background = background_pool(_BACKGROUND_THREADS, "honk-work")
            pool = self._background
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(fn, *args)
        )

    @property
    def loop_share(self) -> LoopShare:
        """The reading slice every run's stream shares per pass of the loop."""
        from desktop.adapters.loop_priority import LoopShare

        with self._lock:
            if self._share is None:
                self._share = LoopShare()
            return self._share

    # -- creating -----------------------------------------------------------------------
    def create(
        self, request: str, repo: Path, options: RunOptions | None = None
    ) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """Validate input, cut the worktree, journal the new change. Raises UsageError."""
        from desktop.adapters.workspace import GitWorkspace

        options = options or RunOptions()
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
        ctx = self.context(change_id, text, worktree, config, model, options.device)
        ctx.prompt = text
        return ctx, workspace, worktree

    async def create_async(
        self, request: str, repo: Path, options: RunOptions | None = None
    ) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """:meth:`create` on the background threads (the window's way: its git runs off
        the loop thread, at a lower priority)."""
        return await self.offload(self.create, request, repo, options)

    def context(
        self,
        change_id: str,
        request: str,
        worktree: Worktree,
        config: HonkConfig,
        model: str,
        device: str | None,
    ) -> ChangeContext:
        """A fresh pipeline context for the change, emitting on the bus."""
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
        from desktop.change_runs import run_locked

        with await self._hold_off_loop(ctx.change_id, "run"):
            return await run_locked(self, ctx, workspace, worktree, start_at=start_at)

    async def _hold_off_loop(self, change_id: str, purpose: str) -> FileLock:
        """The change's lock, taken on a background thread: taking it opens and writes a
        file, and a busy lock is polled for a moment, neither on the window's loop. A lock
        taken after the caller was cancelled is released, not leaked."""
        import asyncio

        taking = asyncio.ensure_future(self.offload(self.locks.hold, change_id, purpose))
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:
            taking.add_done_callback(_release_if_taken)
            raise

    def ledger(self, change_id: str) -> ProcessLedger:
        """Where the change's running verifier and build commands are written down."""
        from desktop.adapters.process_ledger import ProcessLedger

        return ProcessLedger(self.home / "run" / change_id)

    def hold(self, change_id: str, purpose: str) -> FileLock:
        """The change's lock, taken now (raises LockBusy); use it as a context manager."""
        return self.locks.hold(change_id, purpose)

    def steps(self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree) -> list[Step]:
        """The change's pipeline steps, as its config asks for."""
        from desktop.change_steps import pipeline_steps

        return pipeline_steps(self, ctx, workspace, worktree)

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
        from desktop.change_runs import reopen

        return reopen(self, view)

    async def resume(self, change_id: str) -> ChangeState:
        """Continue an interrupted change from the stage it was cut in."""
        from desktop.change_runs import resume_locked

        # Lock first, then read the state: two resumes racing cannot both see "interrupted".
        with self.locks.hold(self.view(change_id).id, "resume"):
            return await resume_locked(self, change_id)

    async def revise(self, change_id: str, message: str) -> ChangeState:
        """A follow-up request on an existing change, continuing its worktree and branch."""
        from desktop.change_runs import revise_locked

        text = validate_request(message)
        with self.locks.hold(self.view(change_id).id, "revise"):
            return await revise_locked(self, change_id, text)

    def reject(self, change_id: str, reason: str = "") -> None:
        """Discard the worktree and branch; the journal keeps the record."""
        from desktop.change_runs import reject_locked

        with self.locks.hold(self.view(change_id).id, "reject"):
            reject_locked(self, change_id, reason)


def _release_if_taken(taking: asyncio.Future[FileLock]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        taking.result().release()
