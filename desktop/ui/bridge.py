"""The one object between the UI and the services: events in as Qt signals, intents out.

The bus may call us from a worker thread (``changes.create`` runs in one); events are
handed to the loop thread and delivered in batches, once per loop iteration, in order.
Runs share a concurrency limit: a change waiting for a slot is shown as queued and is
never dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from desktop.app.services import Services
from desktop.core.build_events import Installed
from desktop.core.errors import UsageError
from desktop.core.events import ChangeFinished, EditApplied, Event, Merged
from desktop.core.options import RunOptions
from desktop.core.review import Review
from desktop.core.stages import ChangeState
from desktop.core.state import ChangeView, fold_one
from desktop.ui.bridge_devices import DeviceWatching
from desktop.ui.bridge_slack import SlackServing

# Reinstalling (the adb and iOS adapters) loads in install(), when first used after the
# window is complete, as device watching and screenshots do (bridge_devices): none of them
# is needed to list the history.

__all__ = ["Bridge"]

T = TypeVar("T")
MAX_PREVIEW_FILE_BYTES = 4_000_000  # a bigger file's streaming edit is shown after its diff


class Bridge(QObject, DeviceWatching, SlackServing):
    """Subscribes to the EventBus; forwards send/cancel/revise/reject/approve/install."""

    events = Signal(object)  # list[Event], in emission order, every change
    change_updated = Signal(object)  # ChangeView after a durable event
    capacity_changed = Signal(int, int, int)  # running, queued, limit
    message = Signal(str, str)  # level ("info" | "warning" | "error"), text
    devices_changed = Signal(object)  # list[DeviceChoice], the whole list on every change
    # The Slack bridge: state ("off", "connecting", "connected", "reconnecting", "error",
    # "closed") and its reason ("" when there is none).
    slack_status = Signal(str, str)

    def __init__(self, services: Services, *, max_concurrent: int = 2,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.changes = services.changes
        self.limit = max(1, max_concurrent)
        self.views: dict[str, ChangeView] = {}
        self.after_delivery: Callable[[list[Event]], None] | None = None  # bench probe
        self._slots = asyncio.Semaphore(self.limit)
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._installs: dict[str, asyncio.Task[Any]] = {}  # quitting cancels them unasked
        self._background: set[asyncio.Task[Any]] = set()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._pending: list[Event] = []
        self._scheduled = False
        self._thread = threading.get_ident()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._texts: dict[tuple[str, str], asyncio.Task[str | None]] = {}
        self._init_devices()
        self._init_slack()

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> None:
        """Load the history and start listening. Call on the loop thread."""
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        for view in self.services.context.history():
            self.views[view.id] = view
        self._unsubscribe = self.services.bus.subscribe(self._on_bus_event)

    async def shutdown(self) -> None:
        """Stop serving Slack, cancel every run (each journals itself as cancelled) and stop
        listening."""
        await self.stop_slack()
        tasks = [*self._tasks.values(), *self._installs.values(), *self._background]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._flush()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self.services.context.aclose()

    # -- state -------------------------------------------------------------------------
    def ordered_views(self) -> list[ChangeView]:
        return sorted(self.views.values(), key=lambda v: v.created_at, reverse=True)

    def is_active(self, change_id: str) -> bool:
        """Running, queued or installing in this process."""
        return change_id in self._tasks or change_id in self._installs

    def active_count(self) -> int:
        return len(self._tasks)

    def queued(self) -> set[str]:
        return set(self._queued)

    def set_limit(self, limit: int) -> None:
        """Raise or lower the number of concurrent runs (queued runs start as slots free)."""
        limit = max(1, limit)
        for _ in range(limit - self.limit):
            self._slots.release()
        if limit < self.limit:
            self._spawn(self._shrink(self.limit - limit))
        self.limit = limit
        self._emit_capacity()

    async def _shrink(self, by: int) -> None:
        for _ in range(by):
            await self._slots.acquire()

    # -- intents -----------------------------------------------------------------------
    async def send_request(self, text: str, repo: Path, options: RunOptions) -> str:
        """Create the change (worktree cut on a background thread, at a lower priority than
        the loop) and queue its run.

        Raises UsageError, ConfigError, WorkspaceError or MissingKey with a message meant
        for the person; nothing is created then.
        """
        await asyncio.to_thread(self.services.require_key)
        ctx, workspace, worktree = await self.changes.create_async(text, repo, options)
        self._schedule(ctx.change_id, lambda: self.changes.run(ctx, workspace, worktree))
        return ctx.change_id

    def revise(self, change_id: str, message: str) -> None:
        """Send a follow-up to a change that is not running."""
        if self.is_active(change_id):
            raise UsageError(f"change {change_id} is still running; cancel it first")

        async def start() -> ChangeState:
            # The key may come from the keyring, which can block: never on the loop.
            await asyncio.to_thread(self.services.require_key)
            return await self.changes.revise(change_id, message)

        self._schedule(change_id, start)

    def cancel(self, change_id: str) -> bool:
        """Cancel a running or queued change; False if it is not active here."""
        task = self._tasks.get(change_id) or self._installs.get(change_id)
        if task is None:
            return False
        task.cancel()
        return True

    def reject(self, change_id: str, reason: str = "") -> asyncio.Task[Any]:
        """Discard the worktree and branch, audited as a rejection."""
        return self._spawn(self._guard(self.services.approvals.reject(change_id, reason)))

    def approve(self, change_id: str, *, reason: str = "", override: bool = False
                ) -> asyncio.Task[Merged]:
        """Approve and merge. The task raises what the approval service raises (UsageError
        naming unmet gates or a void approval, MergeError, LockBusy); it is also said on
        ``message``, so no failure goes unseen."""
        return self._spawn(self._reported(
            self.services.approvals.approve(change_id, reason=reason, override=override),
            self.tr("approval of {id} failed: {{error}}").format(id=change_id)))

    async def review(self, change_id: str) -> tuple[Review, Merged | None]:
        """The approval evidence and the merge record, if any (git and sqlite off the loop)."""
        def load() -> tuple[Review, Merged | None]:
            review = self.services.approvals.review(change_id)
            merged = [e for e in self.services.journal.events(review.view.id)
                      if isinstance(e, Merged)]
            return review, (merged[-1] if merged else None)

        return await asyncio.to_thread(load)

    def install(self, change_id: str, serial: str | None = None
                ) -> asyncio.Task[Installed] | None:
        """Install the change's build on ``serial`` (None: the change's own device).

        Esc cancels it; quitting cancels it too (journalled, the change rests again). None
        when the change is already busy here.
        """
        from desktop.app.reinstall import install_change

        if self.is_active(change_id):
            self.message.emit("warning", self.tr("change {id} is busy; wait or cancel it")
                              .format(id=change_id))
            return None
        task = asyncio.ensure_future(self._reported(
            install_change(self.services.context, change_id, serial),
            self.tr("install of {id} failed: {{error}}").format(id=change_id)))
        self._installs[change_id] = task

        def done(_t: asyncio.Task[Any]) -> None:
            if self._installs.get(change_id) is task:
                del self._installs[change_id]

        task.add_done_callback(done)
        return task

    async def file_text(self, change_id: str, path: str) -> str | None:
        """The current text of ``path`` in the change's worktree (read off the loop thread).

        None for a missing, binary or very large file. Cached per (change, path) until an
        edit of that file lands. Raises UsageError for a change without a worktree or a path
        that resolves outside it.
        """
        key = (change_id, path)
        task = self._texts.get(key)
        if task is None:
            view = self.views.get(change_id)
            if view is None or not view.worktree:
                raise UsageError(f"change {change_id} has no worktree to read {path!r} from")
            task = self._spawn(asyncio.to_thread(_read_in_worktree, Path(view.worktree), path))
            self._texts[key] = task
        return await asyncio.shield(task)

    async def load_events(self, change_id: str) -> list[Event]:
        """The journalled events of a change, read off the loop thread."""
        return await asyncio.to_thread(self.services.journal.events, change_id)

    # -- running -----------------------------------------------------------------------
    def _schedule(self, change_id: str, start: Callable[[], Awaitable[ChangeState]]) -> None:
        self._queued.add(change_id)
        task = asyncio.ensure_future(self._run(change_id, start))
        self._tasks[change_id] = task
        self._emit_capacity()

    async def _run(self, change_id: str, start: Callable[[], Awaitable[ChangeState]]) -> None:
        try:
            async with self._slots:
                self._queued.discard(change_id)
                self._running.add(change_id)
                self._emit_capacity()
                await start()
        except asyncio.CancelledError:
            if change_id in self._queued:  # never started: the pipeline cannot journal it
                self.services.bus.emit(ChangeFinished(
                    change=change_id, state=ChangeState.CANCELLED.value,
                    reason="cancelled while queued"))
        except Exception as exc:  # a usage error raised inside revise, a journal failure
            self.message.emit("error", self.tr("change {id}: {error}").format(
                id=change_id, error=exc))
        finally:
            self._queued.discard(change_id)
            self._running.discard(change_id)
            self._tasks.pop(change_id, None)
            self._emit_capacity()

    async def _reported(self, awaitable: Awaitable[T], template: str) -> T:
        """Say a failure on ``message`` and raise it again for the caller to show."""
        try:
            return await awaitable
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.message.emit("error", template.format(error=exc))
            raise

    async def _guard(self, awaitable: Awaitable[Any]) -> None:
        try:
            await awaitable
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.message.emit("error", str(exc))

    def _spawn(self, coro: Awaitable[T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _emit_capacity(self) -> None:
        self.capacity_changed.emit(len(self._running), len(self._queued), self.limit)

    # -- events ------------------------------------------------------------------------
    def _on_bus_event(self, event: Event) -> None:
        if threading.get_ident() == self._thread or self._loop is None:
            self._enqueue(event)
        else:
            self._loop.call_soon_threadsafe(self._enqueue, event)

    def _enqueue(self, event: Event) -> None:
        self._pending.append(event)
        if self._scheduled:
            return
        self._scheduled = True
        try:
            asyncio.get_running_loop().call_soon(self._flush)
        except RuntimeError:  # no loop running (start-up, tests): deliver now
            self._flush()

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        changed: dict[str, ChangeView] = {}
        for event in batch:
            if isinstance(event, EditApplied):  # before the view hears of it and reads again
                self._texts.pop((event.change, event.path), None)
            elif isinstance(event, ChangeFinished):
                for key in [k for k in self._texts if k[0] == event.change]:
                    del self._texts[key]
            if event.ephemeral:
                continue
            view = fold_one(self.views.get(event.change) or ChangeView(id=event.change), event)
            self.views[event.change] = changed[event.change] = view
        self.events.emit(batch)
        for view in changed.values():
            self.change_updated.emit(view)
        if self.after_delivery is not None:
            self.after_delivery(batch)


def _read_in_worktree(worktree: Path, path: str) -> str | None:
    root = worktree.resolve()
    target = (root / path).resolve()
    if not target.is_relative_to(root):
        raise UsageError(f"{path!r} resolves to {target}, outside the change's worktree {root}")
    if not target.is_file() or target.stat().st_size > MAX_PREVIEW_FILE_BYTES:
        return None
    try:
        return target.read_bytes().decode("utf-8")  # bytes: keep \r\n as the file has it
    except UnicodeDecodeError:
        return None
