"""Keeping a change's Slack thread current: the status message edited as stages start and
finish (at most about once a second), and the one-off replies: the evidence with Approve /
Reject at awaiting approval (patch and build attached), and merged, failed or rejected.

It follows the bus for this process's changes and polls the journal for everyone else's
(a `honk approve` or `honk resume` in a terminal), so the thread tells the truth either way.
What was posted once is journalled, so a restart never posts it twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from desktop.app.slack.messages import (
    approval_reply,
    diff_stat,
    escape,
    failure_reply,
    status_message,
)
from desktop.core.build_events import BuildLog
from desktop.core.events import Event, Merged, Notice, StageStarted
from desktop.core.slack_events import SlackPosted, SlackThread
from desktop.core.stages import ChangeState

if TYPE_CHECKING:
    from desktop.app.approvals import ApprovalService
    from desktop.app.changes import ChangeService
    from desktop.app.context import AppContext
    from desktop.core.config import SlackConfig
    from desktop.core.state import ChangeView

__all__ = ["SlackPort", "ThreadReporter", "TrackedThread"]

_OUTCOMES = (ChangeState.MERGED, ChangeState.FAILED, ChangeState.REJECTED,
             ChangeState.CANCELLED, ChangeState.INTERRUPTED)


class SlackPort(Protocol):
    """What the bridge needs of a Slack connection (the adapter's SlackConnection)."""

    @property
    def bot_user_id(self) -> str | None: ...

    async def call(self, method: str, /, **params: Any) -> dict[str, Any]: ...

    async def upload_file(self, *, channel: str, thread_ts: str | None, filename: str,
                          data: bytes, title: str | None = None,
                          initial_comment: str | None = None) -> dict[str, Any]: ...


@dataclass
class TrackedThread:
    """A change that came from Slack, and where it reports."""

    change: str
    repo_name: str
    config: SlackConfig
    thread: SlackThread
    posted: set[tuple[str, str]] = field(default_factory=set)
    shown: str = ""  # the status text last sent
    seen_at: float = 0.0  # the view's updated_at last reported
    last_update: float = 0.0
    pending: asyncio.TimerHandle | None = None
    log_tail: deque[str] = field(default_factory=lambda: deque(maxlen=30))
    problems: dict[str, str] = field(default_factory=dict)  # method -> last failure told


class ThreadReporter:
    """Reports every tracked change into its thread; Slack failures never fail a change."""

    def __init__(self, *, context: AppContext, changes: ChangeService,
                 approvals: ApprovalService, slack: SlackPort,
                 on_problem: Callable[[str], None], min_interval_s: float = 1.0,
                 runs_here: Callable[[str], bool] = lambda _change: False) -> None:
        """``runs_here``: whether this process holds the change's run (the bridge's)."""
        self.context, self.changes, self.approvals = context, changes, approvals
        self.slack = slack
        self.on_problem = on_problem
        self.min_interval_s = min_interval_s
        self.runs_here = runs_here
        self.threads: dict[str, TrackedThread] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._closing = False  # after flush(): nothing more is reported
        self._loop = asyncio.get_running_loop()

    # -- what to follow ------------------------------------------------------------------
    def track(self, tracked: TrackedThread) -> None:
        self.threads[tracked.change] = tracked
        self.refresh_soon(tracked.change)

    def by_thread(self, channel: str, thread_ts: str) -> TrackedThread | None:
        return next((t for t in self.threads.values()
                     if t.thread.channel == channel and t.thread.thread_ts == thread_ts), None)

    def on_event(self, event: Event) -> None:
        """Bus subscriber; may be called from a worker thread."""
        tracked = self.threads.get(event.change)
        if tracked is None:
            return
        if isinstance(event, BuildLog):  # ephemeral: kept for a failure's log tail
            tracked.log_tail.append(event.line)
            return
        if isinstance(event, StageStarted):  # the tail shown is the failing stage's own
            tracked.log_tail.clear()
        if event.ephemeral or isinstance(event, (Notice, SlackPosted)):
            # Neither changes the status message; and a refresh on the reporter's own
            # notice of a failed update would retry it once a second for as long as Slack
            # refuses (a deleted status message: forever).
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self.refresh_soon, event.change)

    async def poll(self, every_s: float = 2.0) -> None:
        """Refresh changes another process moved (the journal is the truth)."""
        while True:
            await asyncio.sleep(every_s)
            for change in list(self.threads):
                with contextlib.suppress(Exception):  # a bad row must not stop the others
                    view = await self.context.offload(self.context.view, change)
                    if view.updated_at > self.threads[change].seen_at:
                        self.refresh_soon(change)

    async def flush(self, timeout_s: float = 5.0) -> None:
        """Report every tracked change once more and stop reporting: on the way out, so a
        change the stop interrupted says so in its thread. Keeps the once-a-second budget;
        gives up after ``timeout_s`` (Slack may be what is failing)."""
        self._closing = True
        for tracked in self.threads.values():
            if tracked.pending is not None:
                tracked.pending.cancel()
                tracked.pending = None

        async def last_word(change: str) -> None:
            running = self._refreshing.get(change)
            if running is not None:
                await asyncio.gather(running, return_exceptions=True)
            tracked = self.threads.get(change)
            if tracked is None:
                return
            wait = tracked.last_update + self.min_interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await self.refresh(change)

        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(
                *(last_word(change) for change in list(self.threads)),
                return_exceptions=True), timeout_s)

    # -- reporting -----------------------------------------------------------------------
    def refresh_soon(self, change: str) -> None:
        """Refresh now, or when the once-a-second budget allows (coalescing bursts)."""
        tracked = self.threads.get(change)
        if tracked is None or tracked.pending is not None or self._closing:
            return
        wait = tracked.last_update + self.min_interval_s - time.monotonic()
        if wait > 0:
            tracked.pending = self._loop.call_later(wait, self._start_refresh, change)
        else:
            self._start_refresh(change)

    def _start_refresh(self, change: str) -> None:
        tracked = self.threads.get(change)
        if tracked is not None:
            tracked.pending = None
        running = self._refreshing.get(change)
        if running is not None and not running.done():
            self._again.add(change)  # one more pass once this one ends
            return
        task = asyncio.ensure_future(self.refresh(change))
        self._refreshing[change] = task

        def done(t: asyncio.Task[None]) -> None:
            if self._refreshing.get(change) is t:
                del self._refreshing[change]
            if change in self._again:
                self._again.discard(change)
                self.refresh_soon(change)

        task.add_done_callback(done)

    async def refresh(self, change: str) -> None:
        tracked = self.threads.get(change)
        if tracked is None:
            return
        view = await self.context.offload(self.context.view, change)
        if view.state is ChangeState.INTERRUPTED and self.runs_here(change):
            return  # queued here and not yet attached: its run's own events will follow
        tracked.seen_at = view.updated_at
        tracked.last_update = time.monotonic()
        text, blocks = status_message(view, tracked.repo_name)
        shown = repr(blocks)
        if shown != tracked.shown and await self._send(
                change, "chat.update", channel=tracked.thread.channel,
                ts=tracked.thread.status_ts, text=text, blocks=blocks):
            tracked.shown = shown
        if view.state is ChangeState.AWAITING_APPROVAL and view.commit:
            await self._once(tracked, "approval", view.commit,
                             lambda: self._post_approval(tracked, view))
        elif view.state in _OUTCOMES:
            key = f"{view.state.value}:{len(view.stages)}"
            await self._once(tracked, "outcome", key, lambda: self._post_outcome(tracked, view))
        if view.state.is_final:
            self.threads.pop(change, None)

    async def _once(self, tracked: TrackedThread, kind: str, key: str,
                    post: Callable[[], Awaitable[bool]]) -> None:
        if (kind, key) in tracked.posted:
            return
        tracked.posted.add((kind, key))
        if await post():
            self.context.bus.emit(SlackPosted(change=tracked.change, kind=kind, key=key))
        else:
            tracked.posted.discard((kind, key))  # try again on the next refresh

    async def _post_approval(self, tracked: TrackedThread, view: ChangeView) -> bool:
        review = await self.context.offload(self.approvals.review, view.id)
        patch = await self.context.offload(self.changes.patch, view)
        text, blocks = approval_reply(review, diff_stat(patch))
        channel, thread = tracked.thread.channel, tracked.thread.thread_ts
        if not await self._send(view.id, "chat.postMessage", channel=channel, thread_ts=thread,
                                text=text, blocks=blocks):
            return False
        commit = view.commit or ""
        await self._upload(view.id, channel, thread, f"honk-{view.id}-{commit[:12]}.patch",
                           patch.encode("utf-8", "surrogateescape"), "The change's patch")
        artifact = review.evidence.artifact
        if artifact is not None and tracked.config.upload_artifact:
            limit = tracked.config.max_upload_mb * 1024 * 1024
            if artifact.size > limit:
                await self._send(view.id, "chat.postMessage", channel=channel, thread_ts=thread,
                                 text=f"The build ({artifact.size / 1048576:.1f} MB) is over "
                                      f"max_upload_mb = {tracked.config.max_upload_mb:g}; "
                                      "it is on the desk machine only.")
            else:
                data = await self.context.offload(Path(artifact.path).read_bytes)
                await self._upload(view.id, channel, thread, Path(artifact.path).name, data,
                                   f"Build {artifact.sha256[:12]}")
        return True

    async def _post_outcome(self, tracked: TrackedThread, view: ChangeView) -> bool:
        channel, thread = tracked.thread.channel, tracked.thread.thread_ts
        if view.state is ChangeState.MERGED:
            merged = await self.context.offload(self._merged, view.id)
            text = (f"✅ Merged: `{merged.commit[:12]}` is in {merged.remote}/{merged.target} "
                    f"as `{merged.merged_commit}`" if merged else "✅ Merged")
        elif view.state is ChangeState.FAILED:
            text = failure_reply(view, tuple(tracked.log_tail))
        elif view.state is ChangeState.REJECTED:
            text = f"🗑 Rejected: worktree and branch removed ({escape(view.reason)})"
        else:
            text = f"Change {view.id} is {view.state.value}: {escape(view.reason)}"
        return await self._send(view.id, "chat.postMessage", channel=channel,
                                thread_ts=thread, text=text)

    def _merged(self, change: str) -> Merged | None:
        return next((e for e in reversed(self.context.journal.events(change))
                     if isinstance(e, Merged)), None)

    async def _send(self, change: str, method: str, **params: Any) -> bool:
        from desktop.adapters.slack import SlackError

        try:
            await self.slack.call(method, **params)
        except SlackError as exc:
            self._problem(change, method, f"Slack {method} failed: {exc}")
            return False
        if (tracked := self.threads.get(change)) is not None:
            tracked.problems.pop(method, None)  # working again: its next failure is news
        return True

    async def _upload(self, change: str, channel: str, thread: str, filename: str,
                      data: bytes, title: str) -> None:
        from desktop.adapters.slack import SlackError

        try:
            await self.slack.upload_file(channel=channel, thread_ts=thread, filename=filename,
                                         data=data, title=title)
        except SlackError as exc:
            self._problem(change, "upload", f"Slack upload of {filename} failed: {exc}")

    def _problem(self, change: str, method: str, message: str) -> None:
        """Tell the output and the journal, once per failure in a row of one method."""
        tracked = self.threads.get(change)
        if tracked is not None:
            if tracked.problems.get(method) == message:
                return  # said once is enough: the journal and the output are not a log
            tracked.problems[method] = message
        self.on_problem(message)
        with contextlib.suppress(Exception):  # the journal failing must not stop the bridge
            self.context.bus.emit(Notice(change=change, level="warning", message=message))
