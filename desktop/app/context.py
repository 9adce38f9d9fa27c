"""The one explicit context every use case runs over: where Honk keeps its data, the event
bus and journal, the change locks, the API client, and the threads work is offloaded to.

`desktop.app.services.build_services` makes one per process. Use cases (`changes`,
`change_runs`, `approvals`, `reinstall`) take it as their first argument instead of
reaching into each other.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from desktop.adapters.store.locks import ChangeLocks, FileLock, this_host
from desktop.core.errors import UsageError
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    import asyncio

    from desktop.adapters.git.workspace import Worktree
    from desktop.adapters.process.ledger import ProcessLedger
    from desktop.adapters.process.loop_priority import LoopShare
    from desktop.adapters.store.journal import ChangeJournal
    from desktop.app.warmup import WarmUpStep
    from desktop.core.bus import EventBus
    from desktop.core.config import DeviceConfig, HonkConfig
    from desktop.core.pipeline import ChangeContext, Step
    from desktop.core.pricing import PriceTable

# The adapters that run a change (the SDK, thread pools) are imported on first use, not
# here: the window imports this module to show the history and must not pay for them.

__all__ = ["AppContext", "InstallerFor"]

T = TypeVar("T")
InstallerFor = Callable[["DeviceConfig", "str | None"], "Step | None"]
# Threads for a run's git and file work; more than the cores, since they mostly wait on git.
_BACKGROUND_THREADS = min(8, (os.cpu_count() or 2) + 2)


class AppContext:
    """What the use cases share. Every effect goes out as an event on ``bus``."""

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
        installer_for: InstallerFor | None = None,
        locks: ChangeLocks | None = None,
        github_token: Callable[[], str | None] = lambda: None,
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
        self.github_token = github_token  # blocking (keyring): call it off the loop
        self._client: Any = None
        self._lock = threading.Lock()  # one client and pool, even when threads race to make it
        self._warm = False
        self._writer: ThreadPoolExecutor | None = None
        self._background: ThreadPoolExecutor | None = None
        self._share: LoopShare | None = None

    @property
    def worktrees(self) -> Path:
        """Where changes' worktrees are cut."""
        return self.home / "worktrees"

    @property
    def prices(self) -> PriceTable:
        """The model price table (built on first use)."""
        if self._prices is None:
            from desktop.core.pricing import PriceTable

            self._prices = PriceTable()
        return self._prices

    def client(self) -> Any:
        """One Messages API client per process: its connection pool is shared by changes."""
        with self._lock:
            if self._client is None:
                self._client = self.client_factory()
            return self._client

    # -- warming up and closing -----------------------------------------------------------
    def warm_up(self) -> None:
        """Do now, on this thread, the one-off work of a first run: import the adapters and
        the SDKs (and what the client and first request import), load the keyring's
        backends and make the API client. Idempotent, and nothing to do once a warm-up took
        the steps (:func:`desktop.app.warmup.warm_up` may be at them on a worker thread).

        It blocks, on the keyring too: call it where a pause does not matter (the CLI, a
        benchmark). Where a loop must stay responsive (the window once shown, the Slack
        server), ``await desktop.app.warmup.warm_up(context)`` instead.
        """
        for step in self.warm_up_steps():
            step()

    def warm_up_steps(self, repos: Iterable[Path] | None = None) -> list[WarmUpStep]:
        """:meth:`warm_up` as separate steps, the long ones marked ``off_loop``, so a window
        can handle input between them instead of freezing for the seconds they take. Handed
        out once: then empty, as whoever took them does the warm-up.

        ``repos``: the repositories the person is about to change (a window's chosen one);
        with those of the latest changes, their ``[agent] engine`` says whether to import
        Claude Code's SDK too.
        """
        if self._warm:  # not under _lock: client() holds it while the keyring answers
            return []
        self._warm = True
        # Lazy for start-up: the warm-up names every heavy module the first run needs.
        from desktop.app.warmup import RECENT_CHANGES, configured_engines, recent_repos
        from desktop.app.warmup import warm_up_steps as steps

        named = list(repos or ())

        def engines() -> set[str]:  # blocking (SQLite, honk.toml): run off the loop
            recent = recent_repos(self.journal.changes(RECENT_CHANGES))
            return configured_engines([*named, *recent])

        return steps(self.client, engines)

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
        # Lazy for start-up: history and first paint need no thread pools.
        from desktop.adapters.process.loop_priority import background_pool

        with self._lock:
            if self._writer is None:
                self._writer = background_pool(1, "honk-journal")
            return self._writer

    async def offload(self, fn: Callable[..., T], /, *args: Any) -> T:
        """``fn(*args)`` on the background threads: git and file work that the window's
        loop need not wait for, at a lower CPU priority than the loop's thread."""
        # Lazy for start-up: `honk history` runs without asyncio (~30 ms to import).
        import asyncio

        from desktop.adapters.process.loop_priority import background_pool

        with self._lock:
            if self._background is None:
                self._background = background_pool(_BACKGROUND_THREADS, "honk-work")
            pool = self._background
        return await asyncio.get_running_loop().run_in_executor(
            pool, functools.partial(fn, *args)
        )

    @property
    def loop_share(self) -> LoopShare:
        """The reading slice every run's stream shares per pass of the loop."""
        from desktop.adapters.process.loop_priority import LoopShare  # lazy: see journal_writer

        with self._lock:
            if self._share is None:
                self._share = LoopShare()
            return self._share

    # -- locks ----------------------------------------------------------------------------
    def hold(self, change_id: str, purpose: str) -> FileLock:
        """The change's lock, taken now (raises LockBusy); use it as a context manager."""
        return self.locks.hold(change_id, purpose)

    async def hold_off_loop(self, change_id: str, purpose: str) -> FileLock:
        """The change's lock, taken on a background thread: taking it opens and writes a
        file, and a busy lock is polled for a moment, neither on the window's loop. A lock
        taken after the caller was cancelled is released, not leaked."""
        import asyncio  # lazy: see offload

        taking = asyncio.ensure_future(self.offload(self.locks.hold, change_id, purpose))
        try:
            return await asyncio.shield(taking)
        except asyncio.CancelledError:
            taking.add_done_callback(_release_if_taken)
            raise

    def ledger(self, change_id: str) -> ProcessLedger:
        """Where the change's running verifier and build commands are written down."""
        from desktop.adapters.process.ledger import ProcessLedger  # lazy: see journal_writer

        return ProcessLedger(self.home / "run" / change_id)

    # -- reading --------------------------------------------------------------------------
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
            return view.with_liveness(lambda _pid, host: bool(host) and host != this_host())
        return view.with_liveness(self._liveness(view.id))

    def history(self, limit: int | None = None) -> list[ChangeView]:
        """Changes, newest first (the newest ``limit`` of them)."""
        return [v.with_liveness(self._liveness(v.id)) for v in self.journal.changes(limit)]

    def _liveness(self, change_id: str) -> Callable[[int, str], bool]:
        """On this host a change is alive exactly while its lock is held: the kernel drops
        the lock when the process dies, and a reused pid cannot fake it."""

        def alive(pid: int, host: str) -> bool:
            if host and host != this_host():
                return True
            return self.locks.is_held(change_id)

        return alive

    def pipeline_context(
        self, change_id: str, request: str, worktree: Worktree, config: HonkConfig,
        model: str, device: str | None,
    ) -> ChangeContext:
        """A fresh pipeline context for the change, emitting on the bus."""
        from desktop.core.pipeline import ChangeContext  # lazy: see journal_writer

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


def _release_if_taken(taking: asyncio.Future[FileLock]) -> None:
    if not taking.cancelled() and taking.exception() is None:
        taking.result().release()
