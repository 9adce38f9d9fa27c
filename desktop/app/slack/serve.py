"""`honk slack` and the window's Slack switch: serve the given repos to Slack until told to
stop. Builds the connection, the reporter and the bridge over the app's services, holds the
one-server-per-Slack-app lock, and takes up the changes a previous run left."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.app.inputs import read_config
from desktop.app.slack.bridge import ServedRepo, SlackBridge
from desktop.app.slack.reporter import ThreadReporter
from desktop.app.warmup import warm_up
from desktop.core.errors import UsageError

if TYPE_CHECKING:
    from desktop.adapters.slack import SlackRequest, SocketStatus
    from desktop.app.services import Services

__all__ = ["DEFAULT_API_URL", "SlackServer", "served_repos"]

DEFAULT_API_URL = "https://slack.com/api/"


def served_repos(specs: Sequence[str]) -> dict[str, ServedRepo]:
    """``PATH`` or ``NAME=PATH`` per repo -> the served repos. UsageError naming the repo
    for a missing checkout, a duplicate name, or a honk.toml without [slack] approvers."""
    repos: dict[str, ServedRepo] = {}
    if not specs:
        raise UsageError("no repo to serve: pass --repo PATH (or --repo NAME=PATH, repeated)")
    for spec in specs:
        name, sep, path_text = spec.partition("=")
        path = Path(path_text if sep else spec).expanduser().resolve()
        name = name if sep else path.name
        if not name or not path.is_dir():
            raise UsageError(f"--repo {spec!r}: expected PATH or NAME=PATH of a checkout")
        if name in repos:
            raise UsageError(f"--repo {spec!r}: the name {name!r} is used twice; "
                             "name them with NAME=PATH")
        config = read_config(path)
        if config.slack is None or not config.slack.approvers:
            raise UsageError(f"{path / 'honk.toml'}: no [slack] approvers, so {name} is not "
                             "served over Slack; add [slack] approvers = [\"U...\"] (the "
                             "member IDs who may approve its merges)")
        repos[name] = ServedRepo(name, path, config.slack)
    return repos


class SlackServer:
    """One Slack app served over Socket Mode for ``repos``; ``run()`` until ``stop()``."""

    def __init__(self, services: Services, repos: dict[str, ServedRepo], *,
                 device: str | None = None, api_url: str | None = None,
                 on_status: Callable[[SocketStatus], None] | None = None,
                 on_problem: Callable[[str], None] | None = None,
                 after_warm_up: Callable[[], object] | None = None) -> None:
        """``after_warm_up``: called once the first run's imports and client are made (a
        long-lived process freezes its start-up heap out of later collections then)."""
        self.services, self.repos, self.device = services, repos, device
        self.after_warm_up = after_warm_up
        self.api_url = api_url or services.env.get("HONK_SLACK_API_URL") or DEFAULT_API_URL
        self.on_status = on_status or (lambda _status: None)
        self.on_problem = on_problem or (lambda _message: None)
        self._stop = asyncio.Event()
        self._handlers: set[asyncio.Task[None]] = set()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Connect, serve until :meth:`stop`, then leave running changes resumable.

        UsageError for missing tokens or an app another Honk already serves; the
        adapter's SlackError when Slack refuses a token."""
        from desktop.adapters.secrets import SLACK_APP_TOKEN, SLACK_BOT_TOKEN
        from desktop.adapters.slack import SlackConnection
        from desktop.adapters.store.locks import FileLock

        context, secrets = self.services.context, self.services.secrets
        bot = await context.offload(secrets.get, SLACK_BOT_TOKEN)
        app = await context.offload(secrets.get, SLACK_APP_TOKEN)
        if not bot or not app:
            which = "bot token (xoxb-)" if not bot else "app-level token (xapp-)"
            name = "slack-bot" if not bot else "slack-app"
            env = "SLACK_BOT_TOKEN" if not bot else "SLACK_APP_TOKEN"
            raise UsageError(f"no Slack {which}: set {env} or store it with `honk key set {name}`")
        lock = FileLock(_app_lock_path(app), "slack")
        lock.acquire("this Slack app is already being served by another Honk (the window or "
                     "`honk slack`); stop that one first")
        try:
            await self._serve(SlackConnection, bot, app)
        finally:
            lock.release()

    async def _serve(self, connection: Any, bot: str, app: str) -> None:
        services = self.services
        loop = asyncio.get_running_loop()
        bridge: SlackBridge | None = None

        def on_request(request: SlackRequest) -> None:
            if bridge is None:
                return
            task = loop.create_task(bridge.handle(request))
            self._handlers.add(task)
            task.add_done_callback(self._handled)

        slack = connection(bot_token=bot, app_token=app, loop=loop, on_request=on_request,
                           on_state=self.on_status, api_url=self.api_url)
        runs: dict[str, asyncio.Task[Any]] = {}  # the bridge starts them, the reporter asks
        reporter = ThreadReporter(context=services.context, changes=services.changes,
                                  approvals=services.approvals, slack=slack,
                                  on_problem=self.on_problem, runs_here=runs.__contains__)
        bridge = SlackBridge(context=services.context, changes=services.changes,
                             approvals=services.approvals, slack=slack, repos=self.repos,
                             reporter=reporter, choose_device=self._device_for, runs=runs)
        unsubscribe = services.bus.subscribe(reporter.on_event)
        poll = loop.create_task(reporter.poll())
        try:
            await slack.start()
            await bridge.take_up_threads()
            # The first run's imports and client now, while nobody waits, off the loop so
            # requests are handled meanwhile; Claude Code's SDK too if a served repo uses it.
            await warm_up(services.context, [r.path for r in self.repos.values()])
            if self.after_warm_up is not None:
                self.after_warm_up()
            await self._stop.wait()
        finally:
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poll
            # Stop taking requests first; those already acknowledged (Slack will not send
            # them again) are still handled, then every run is left resumable, and each
            # thread says where its change stands. The Web API outlives the socket.
            await slack.close()
            await self._drain()
            await bridge.stop()
            await reporter.flush()
            unsubscribe()

    async def _drain(self, timeout_s: float = 10.0) -> None:
        """Let the requests in hand finish (a few Slack calls each), then cancel the rest."""
        await asyncio.sleep(0)  # deliveries the socket queued before it closed
        if self._handlers:
            await asyncio.wait(list(self._handlers), timeout=timeout_s)
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    def _handled(self, task: asyncio.Task[None]) -> None:
        self._handlers.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self.on_problem(f"handling a Slack request failed: {type(exc).__name__}: {exc}")

    async def _device_for(self, repo: ServedRepo) -> str | None:
        """The device a Slack change installs on: --device, else the one ready Android
        device when exactly one is connected (none: the change stops at approval)."""
        if self.device:
            return self.device
        config = await self.services.context.offload(read_config, repo.path)
        if config.device is None or config.device.kind != "android":
            return None
        from desktop.app.errors import DeviceError

        try:
            devices = await self.services.installers.android().list()
        except DeviceError:
            return None
        ready = [d.serial for d in devices if d.state == "device"]
        return ready[0] if len(ready) == 1 else None


def _app_lock_path(app_token: str) -> Path:
    """One lock per Slack app on this machine, whichever HONK_HOME serves it: Slack spreads
    a Socket Mode app's events over every open connection, so two servers would each see
    half of them."""
    digest = hashlib.sha256(app_token.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"honk-slack-{os.getuid()}-{digest}.lock"
