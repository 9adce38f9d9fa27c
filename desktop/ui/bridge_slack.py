"""Serving Slack from the window: the Slack server started, stopped and reported on the
bridge's ``slack_status`` (a mixin of :class:`~desktop.ui.bridge.Bridge`).

The Slack server loads when the person turns it on, never at start-up."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from desktop.app.services import Services
    from desktop.app.slack.serve import SlackServer

__all__ = ["SlackBridge", "SlackServing"]

T = TypeVar("T")


class SlackBridge(Protocol):
    """The bridge the serving is mixed into: its services, signals and helpers."""

    services: Services
    message: SignalInstance
    slack_status: SignalInstance
    slack_repos: tuple[str, ...]
    _slack: tuple[SlackServer, asyncio.Task[None]] | None

    def tr(self, sourceText: str, /, disambiguation: str | None = ..., n: int = ...) -> str: ...

    def _spawn(self, coro: Awaitable[T]) -> asyncio.Task[T]: ...

    async def _serve_slack(self, server: SlackServer) -> None: ...

    def _on_slack_state(self, status: Any) -> None: ...

    def _on_slack_problem(self, text: str) -> None: ...


class SlackServing:
    """Mixed into the bridge (see :class:`SlackBridge` for what it needs)."""

    _slack: tuple[SlackServer, asyncio.Task[None]] | None  # the server and its task
    slack_repos: tuple[str, ...]  # what the running Slack server serves

    def _init_slack(self) -> None:
        self._slack = None
        self.slack_repos = ()

    @property
    def slack_serving(self) -> bool:
        return self._slack is not None

    def start_slack(self: SlackBridge, specs: Sequence[str]) -> bool:
        """Serve ``specs`` ([NAME=]PATH each) to Slack in the background until
        :meth:`stop_slack`. Its state comes on ``slack_status``; a repo that cannot be
        served, missing tokens, or an app another Honk already serves end it there as an
        "error". False when it did not start (already serving, or bad repos)."""
        if self._slack is not None:
            return False
        from desktop.app.slack.serve import SlackServer, served_repos  # only when turned on

        try:
            repos = served_repos(specs)
        except Exception as exc:  # a checkout gone, a honk.toml without [slack] approvers
            self.slack_status.emit("error", str(exc))
            return False
        server = SlackServer(self.services, repos, on_status=self._on_slack_state,
                             on_problem=self._on_slack_problem)
        self.slack_repos = tuple(specs)
        self.slack_status.emit("connecting", "")
        task = self._spawn(self._serve_slack(server))
        self._slack = (server, task)
        return True

    async def stop_slack(self) -> None:
        """Stop serving Slack (requests in hand finish; running changes are left
        resumable) and wait until it has."""
        if self._slack is None:
            return
        server, task = self._slack
        server.stop()
        await asyncio.gather(task, return_exceptions=True)

    async def _serve_slack(self: SlackBridge, server: SlackServer) -> None:
        failed = False
        try:
            await server.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # already served elsewhere, no tokens, a refused token
            failed = True
            self.slack_status.emit("error", str(exc))
        finally:
            if self._slack is not None and self._slack[0] is server:
                self._slack = None
                self.slack_repos = ()
            if not failed:
                self.slack_status.emit("off", "")

    def _on_slack_state(self: SlackBridge, status: Any) -> None:  # SocketStatus, loop thread
        self.slack_status.emit(str(status.state.value), str(status.reason or ""))

    def _on_slack_problem(self: SlackBridge, text: str) -> None:
        self.message.emit("warning", self.tr("Slack: {problem}").format(problem=text))
