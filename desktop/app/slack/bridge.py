"""Serving requests from Slack: a request starts a change, a reply in its thread revises it,
and the buttons approve or reject it, each through the same use cases as `honk run`,
`honk revise`, `honk approve` and `honk reject`. Who may do what comes from the repo's own
honk.toml ``[slack]``; anyone else gets a private (ephemeral) answer and nothing changes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.app.inputs import validate_request
from desktop.app.slack.intents import Ask, Press, Reply, pick_repo, read_intent
from desktop.app.slack.messages import (
    APPROVE_ACTION,
    REJECT_ACTION,
    escape,
    parse_button_value,
)
from desktop.app.slack.reporter import SlackPort, ThreadReporter, TrackedThread
from desktop.core.errors import HonkError, UsageError
from desktop.core.options import RunOptions
from desktop.core.pipeline import SHUTDOWN
from desktop.core.slack_events import SlackPosted, SlackRefused, SlackThread
from desktop.core.stages import ChangeState, Stage

if TYPE_CHECKING:
    from desktop.adapters.slack import SlackRequest
    from desktop.app.approvals import ApprovalService
    from desktop.app.changes import ChangeService
    from desktop.app.context import AppContext
    from desktop.core.config import SlackConfig

__all__ = ["ServedRepo", "SlackBridge"]


@dataclass(frozen=True)
class ServedRepo:
    """A repo this Honk takes Slack requests for (its [slack] read from its checkout)."""

    name: str
    path: Path
    config: SlackConfig


class SlackBridge:
    """Turns Slack requests into use-case calls; runs on the event loop."""

    def __init__(self, *, context: AppContext, changes: ChangeService,
                 approvals: ApprovalService, slack: SlackPort,
                 repos: Mapping[str, ServedRepo], reporter: ThreadReporter,
                 choose_device: Callable[[ServedRepo], Awaitable[str | None]],
                 runs: dict[str, asyncio.Task[Any]]) -> None:
        """``runs``: change -> its run, revise or merge in this process; shared with the
        reporter, which asks it whether an interrupted change is still being taken up."""
        self.context, self.changes, self.approvals = context, changes, approvals
        self.slack, self.repos, self.reporter = slack, dict(repos), reporter
        self.choose_device = choose_device
        self._tasks = runs
        self._names: dict[str, str] = {}

    # -- requests ------------------------------------------------------------------------
    async def handle(self, request: SlackRequest) -> None:
        """One acknowledged, de-duplicated request from the connection."""
        intent = read_intent(request, self.slack.bot_user_id)
        if isinstance(intent, Ask):
            await self._ask(intent)
        elif isinstance(intent, Reply):
            await self._reply(intent)
        elif isinstance(intent, Press):
            await self._press(intent)

    async def _ask(self, ask: Ask) -> None:
        try:
            name, text = pick_repo(ask.text, sorted(self.repos))
            served = self.repos[name]
            if not served.config.may_request(ask.user):
                raise UsageError(f"you are not a requester of {name}: an approver can add your "
                                 f"member ID ({ask.user}) to [slack] requesters in its honk.toml")
            if not served.config.takes_requests_in(ask.channel):
                raise UsageError(f"{name} takes requests only in "
                                 + ", ".join(f"<#{c}>" for c in served.config.channels))
            text = validate_request(text)
        except UsageError as exc:
            await self._ephemeral(ask.channel, ask.user, str(exc))
            return
        user_name = await self._name(ask.user)
        posted = await self._post(
            ask.channel, f"Honk is starting on {escape(name)}: {escape(text[:200])}",
            thread_ts=ask.thread_ts)
        if posted is None:
            return
        thread_ts = ask.thread_ts or posted
        try:
            device = await self.choose_device(served)
            ctx, workspace, worktree = await self.changes.create_async(
                text, served.path, RunOptions(device=device))
        except HonkError as exc:
            await self._post(ask.channel, f"❌ Could not start: {escape(str(exc))}",
                             thread_ts=thread_ts)
            return
        thread = SlackThread(change=ctx.change_id, channel=ask.channel, thread_ts=thread_ts,
                             status_ts=posted, user=ask.user, user_name=user_name)
        self.context.bus.emit(thread)
        self.reporter.track(TrackedThread(ctx.change_id, name, served.config, thread))
        self._spawn(ctx.change_id, self.changes.run(ctx, workspace, worktree))

    async def _reply(self, reply: Reply) -> None:
        tracked = self.reporter.by_thread(reply.channel, reply.thread_ts)
        if tracked is None and reply.mentioned:  # asked in some other thread: answered there
            await self._ask(Ask(reply.user, reply.channel, reply.text, "mention",
                                thread_ts=reply.thread_ts))
            return
        if tracked is None or not reply.text:
            return  # a thread that is not a change's: not for Honk
        config = tracked.config
        if not (config.may_request(reply.user) or config.may_approve(reply.user)):
            await self._ephemeral(reply.channel, reply.user, "only the repo's requesters and "
                                  "approvers can send a change a follow-up")
            return
        view = await self.context.offload(self.context.view, tracked.change)
        if view.state.is_running or tracked.change in self._tasks:
            doing = (view.state.value.replace("_", " ") if view.state.is_running
                     else "busy (being revised, approved or rejected)")
            await self._ephemeral(reply.channel, reply.user, f"change {view.id} is still "
                                  f"{doing}; send the follow-up once it awaits approval")
            return
        if view.state.is_final:
            await self._ephemeral(reply.channel, reply.user,
                                  f"change {view.id} is {view.state.value}; ask for a new one")
            return
        # Spawned before anything else is awaited: a second reply meanwhile finds it busy.
        self._spawn(view.id, self._revise(view.id, reply))

    async def _revise(self, change: str, reply: Reply) -> None:
        await self._post(reply.channel, f"↻ Revising: {escape(reply.text[:300])}",
                         thread_ts=reply.thread_ts)
        await self.changes.revise(change, reply.text)

    async def _press(self, press: Press) -> None:
        value = parse_button_value(press.value)
        if press.action_id not in (APPROVE_ACTION, REJECT_ACTION) or value is None:
            return  # not one of Honk's buttons
        actor = f"slack:{press.user}"
        if name := await self._name(press.user):
            actor += f" ({name})"
        deny, change = await self._check_press(press, value["change"])
        if deny:
            await self._ephemeral(press.channel, press.user, deny)
            return
        # No await from the busy check to the spawn: a second press (a double tap) that
        # arrives meanwhile finds this one's task and is told so.
        tracked = self.reporter.threads.get(change)
        thread = tracked.thread.thread_ts if tracked else press.message_ts
        if press.action_id == APPROVE_ACTION:
            self._spawn(change, self._approve(change, value["commit"], actor, press, thread))
        else:
            self._spawn(change, self._reject(change, actor, press))

    async def _check_press(self, press: Press, change: str) -> tuple[str, str]:
        """(why the press is refused, or "" when it may go ahead; the change's full id).
        Refusals of a person who may not act are journalled too."""
        try:
            view = await self.context.offload(self.context.view, change)
        except UsageError:
            view = None
        if view is None or view.id != change:  # a button names its change exactly
            return f"Honk knows no change {change!r} (was it made by another Honk?)", change
        served = next((r for r in self.repos.values()
                       if r.path.resolve() == Path(view.repo).resolve()), None)
        if served is None:
            return (f"change {view.id} belongs to {view.repo}, which this Honk does not "
                    "serve"), view.id
        approving = press.action_id == APPROVE_ACTION
        tracked = self.reporter.threads.get(view.id)
        asked = tracked is not None and tracked.thread.user == press.user
        if not (served.config.may_approve(press.user) or (not approving and asked)):
            action = "approve" if approving else "reject"
            reason = f"only an approver of {served.name} may {action} its changes"
            self.context.bus.emit(SlackRefused(change=view.id, user=press.user,
                                               action=action, reason=reason))
            return reason, view.id
        if view.state in (ChangeState.MERGED, ChangeState.REJECTED):
            return f"change {view.id} is already {view.state.value}", view.id
        if view.id in self._tasks:
            return (f"change {view.id} is busy (running, or being approved); try again "
                    "later"), view.id
        return "", view.id

    async def _approve(self, change: str, commit: str, actor: str, press: Press,
                       thread: str) -> None:
        from desktop.app.errors import LockBusy, MergeError

        try:
            await self.approvals.approve(change, actor=actor, commit=commit or None)
        except (UsageError, LockBusy) as exc:
            await self._ephemeral(press.channel, press.user, str(exc))
            await self._post(press.channel,
                             f"Approval by <@{press.user}> refused: {escape(str(exc))}",
                             thread_ts=thread)
        except MergeError as exc:
            view = await self.context.offload(self.context.view, change)
            if view.state is not ChangeState.FAILED:  # a failed change: the reporter says so
                await self._post(press.channel, "❌ Merge failed, nothing was merged: "
                                 f"{escape(str(exc))}\nThe change still awaits approval: "
                                 "press Approve again once that is fixed.", thread_ts=thread)
        self.reporter.refresh_soon(change)

    async def _reject(self, change: str, actor: str, press: Press) -> None:
        from desktop.app.errors import LockBusy

        try:  # the thread hears of it from the reporter, as of a `honk reject` elsewhere
            await self.approvals.reject(change, f"rejected in Slack by {actor}", actor=actor)
        except (UsageError, LockBusy) as exc:
            await self._ephemeral(press.channel, press.user, str(exc))
            return
        self.reporter.refresh_soon(change)

    # -- after a restart -----------------------------------------------------------------
    async def take_up_threads(self) -> list[str]:
        """Follow every unfinished change that came from Slack to a served repo, and resume
        those the last process left interrupted. Returns the ids taken up."""
        taken: list[str] = []
        views = await self.context.offload(self.context.history)
        for view in views:
            # The summary row says whether a change came from Slack: only those have their
            # events read (a long history is mostly desk changes).
            if view.state.is_final or not view.requested_by.startswith("slack:"):
                continue
            served = next((r for r in self.repos.values()
                           if r.path.resolve() == Path(view.repo).resolve()), None)
            if served is None:
                continue
            events = await self.context.offload(self.context.journal.events, view.id)
            thread = next((e for e in events if isinstance(e, SlackThread)), None)
            if thread is None:
                continue
            if view.id in self._tasks or view.id in self.reporter.threads:
                # Asked for since this process connected: it runs here already (its lock
                # maybe not taken yet, so it read as interrupted). No await from here on.
                continue
            tracked = TrackedThread(view.id, served.name, served.config, thread)
            tracked.posted = {(e.kind, e.key) for e in events if isinstance(e, SlackPosted)}
            self.reporter.track(tracked)
            taken.append(view.id)
            cut_merging = bool(view.stages) and view.stages[-1].stage is Stage.MERGE
            if view.state is ChangeState.INTERRUPTED and not cut_merging:
                # (One cut while merging is finished by pressing Approve again, which checks
                # the remote first: its thread says it was interrupted.)
                self._spawn(view.id, self.changes.resume(view.id))
        return taken

    # -- shutting down -------------------------------------------------------------------
    async def stop(self) -> None:
        """Stop every run this bridge started; they end interrupted, resumable."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel(SHUTDOWN)
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- helpers -------------------------------------------------------------------------
    def _spawn(self, change: str, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks[change] = task

        def done(t: asyncio.Task[Any]) -> None:
            if self._tasks.get(change) is t:
                del self._tasks[change]
            if not t.cancelled() and (exc := t.exception()) is not None:
                self.reporter.on_problem(f"change {change}: {type(exc).__name__}: {exc}")
            self.reporter.refresh_soon(change)

        task.add_done_callback(done)

    async def _name(self, user: str) -> str:
        """The person's display name (users.info), or "" when Slack does not say."""
        from desktop.adapters.slack import SlackError

        if user not in self._names:
            name = ""
            with contextlib.suppress(SlackError):
                info = (await self.slack.call("users.info", user=user)).get("user") or {}
                profile = info.get("profile") or {}
                name = str(profile.get("display_name") or info.get("real_name")
                           or info.get("name") or "")
            self._names[user] = name
        return self._names[user]

    async def _post(self, channel: str, text: str, *, thread_ts: str | None = None
                    ) -> str | None:
        """Post a message; its ts, or None when Slack refused (reported, nothing raised)."""
        from desktop.adapters.slack import SlackError

        try:
            answer = await self.slack.call("chat.postMessage", channel=channel, text=text,
                                           thread_ts=thread_ts)
        except SlackError as exc:
            self.reporter.on_problem(f"Slack chat.postMessage failed: {exc}")
            return None
        return str(answer.get("ts") or "") or None

    async def _ephemeral(self, channel: str, user: str, text: str) -> None:
        from desktop.adapters.slack import SlackError

        try:
            await self.slack.call("chat.postEphemeral", channel=channel, user=user, text=text)
        except SlackError as exc:
            self.reporter.on_problem(f"Slack chat.postEphemeral failed: {exc}")
