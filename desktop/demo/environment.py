"""`honk demo`: the whole flow on loopback, with no API key, phone or GitHub token.

:class:`DemoEnvironment` sets up the stand-ins (a sample app repo with a bare "production"
remote, the scripted Messages API, the virtual Android device behind a private real adb
server, a loopback Slack workspace for the phone path and, with ``remote_build``, a loopback
GitHub Actions that builds the app) under a throw-away directory; :func:`run_headless` drives one
change through it at the desk, then one from the phone (the story is in ``desktop.demo.story``,
the scripted sessions in ``desktop.demo.script``). The GUI can use the same environment: pass
``env`` to ``build_services``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from desktop.adapters.git.cli import GitError, git
from desktop.core.config import CONFIG_NAME, BuildConfig, load_config
from desktop.core.errors import HonkError
from desktop.demo.phone import PHONE_USER, PHONE_USER_NAMES
from desktop.demo.script import SuggestedRequest, own_request, scripts, suggested_requests
from desktop.demo.story import PACKAGE, apk_has_manifest, dumps, run_story
from desktop.sim.messages_api import ScriptedMessagesAPI, route_by
from desktop.sim.slack import FakeSlack

if TYPE_CHECKING:
    from desktop.demo.actions import DemoActions
    from desktop.sim.private_adb import PrivateAdbServer

# The story's and the script's names stay importable from here (the window, bench and tests).
__all__ = ["DEMO_KEY", "PACKAGE", "DemoEnvironment", "DemoError", "SuggestedRequest",
           "apk_has_manifest", "demo_resources", "dumps", "own_request", "run_headless",
           "run_story", "suggested_requests"]

DEMO_KEY = "sk-ant-demo-0000-not-a-real-key"


class DemoError(HonkError, RuntimeError):
    """The demo could not be set up; the message says what is missing."""


def demo_resources() -> Path:
    """The `resources/` directory: a bundle, a source checkout or an installed package."""
    from desktop.app.resources import resource_candidates

    candidates = resource_candidates()
    for path in candidates:
        if (path / "demo" / "app" / "honk.toml").is_file():
            return path
    raise DemoError("demo assets not found: expected resources/demo/app/honk.toml under "
                    + " or ".join(str(p) for p in candidates)
                    + "; run from a source checkout, an installed package or a bundle")


def _git(cwd: Path, *args: str) -> str:
    try:
        return git(*args, cwd=cwd)
    except GitError as exc:
        raise DemoError(f"git {' '.join(args)} in {cwd} failed: {exc}") from None


class DemoEnvironment:
    """Stand-ins for the model, the phone and production, all torn down on exit.
    ``remote_build``: the demo repo's honk.toml builds on the loopback GitHub Actions."""

    def __init__(self, *, pace_s: float = 0.0, base_env: Mapping[str, str] | None = None,
                 remote_build: bool = False) -> None:
        self.pace_s = pace_s
        self.remote_build = remote_build
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.suggested_requests = suggested_requests(pace_s)
        self.own_request = own_request("", pace_s)  # any other request plays this session
        self.tmp: Path | None = None
        self.env: dict[str, str] = {}
        self.api: ScriptedMessagesAPI | None = None
        self.slack: FakeSlack | None = None  # the phone's Slack workspace
        self.actions: DemoActions | None = None  # the loopback GitHub Actions (remote_build)
        self.device: Any = None  # VirtualAdbDevice, imported lazily with the adb pieces
        self._device_thread: Any = None
        self._adb: PrivateAdbServer | None = None
        self._adb_env: dict[str, str] = {}

    @property
    def root(self) -> Path:
        if self.tmp is None:
            raise DemoError("the demo environment is not started")
        return self.tmp

    @property
    def repo(self) -> Path:
        """The sample app's checkout (what a person would pass as --repo)."""
        return self.root / "honk-player"

    @property
    def remote(self) -> Path:
        """The bare "production" remote, named origin in the checkout."""
        return self.root / "production.git"

    @property
    def serial(self) -> str:
        """The virtual phone's adb serial."""
        return str(self.device.address)

    def __enter__(self) -> Self:
        self.tmp = Path(tempfile.mkdtemp(prefix="honk-demo-"))
        try:
            self._start_actions()  # first: the repo's honk.toml names its address
            self._make_repo()
            self._start_api()
            self._start_device()
            self._start_slack()
        except BaseException:
            self.close()
            raise
        assert self.slack is not None
        self.env = {
            **self.base_env,
            "HONK_HOME": str(self.root / "honk-home"),
            "HONK_DEMO": "1",
            "ANTHROPIC_API_KEY": DEMO_KEY,
            "ANTHROPIC_BASE_URL": self.api.base_url if self.api else "",
            "HONK_RETRY_BACKOFF_S": "0.05",
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_APP_TOKEN": self.slack.app_token,
            "HONK_SLACK_API_URL": self.slack.api_url,
            **self._adb_env,
            **(self.actions.env if self.actions is not None else {}),
        }
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _make_repo(self) -> None:
        shutil.copytree(demo_resources() / "demo" / "app", self.repo,
                        ignore=shutil.ignore_patterns("__pycache__", "build"))
        if self.actions is not None:
            self._send_builds_to(self.actions)
        _git(self.root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        _git(self.repo, "init", "-q", "-b", "main")
        _git(self.repo, "config", "user.name", "Demo Engineer")
        _git(self.repo, "config", "user.email", "demo@example.invalid")
        _git(self.repo, "add", "--all")
        _git(self.repo, "commit", "-q", "-m", "Honk Player: sample app")
        _git(self.repo, "remote", "add", "origin", str(self.remote))
        _git(self.repo, "push", "-q", "-u", "origin", "main")

    def _start_actions(self) -> None:
        if not self.remote_build:
            return
        # Lazy: the loopback GitHub loads only for `honk demo --remote-build`.
        from desktop.demo.actions import DemoActions

        self.actions = DemoActions(remote=self.remote, work=self.root / "runner",
                                   build=_local_build(), base_env=self.base_env)
        self.actions.start()

    def _send_builds_to(self, actions: DemoActions) -> None:
        """Point the sample app's [build] at the loopback GitHub Actions, with the workflow it
        names beside it, before the first commit."""
        from desktop.demo.actions import WORKFLOW, remote_build_toml, workflow_yaml

        config = self.repo / CONFIG_NAME
        try:
            config.write_text(remote_build_toml(config.read_text("utf-8"), actions.api_url,
                                                actions.build.timeout), "utf-8")
        except ValueError as exc:
            raise DemoError(f"{config}: {exc}") from None
        workflow = self.repo / ".github" / "workflows" / WORKFLOW
        workflow.parent.mkdir(parents=True, exist_ok=True)
        workflow.write_text(workflow_yaml(actions.build), "utf-8")

    def _start_api(self) -> None:
        sessions, routes = scripts(self.suggested_requests, self.own_request)
        self.api = ScriptedMessagesAPI(sessions, route_by(routes), expected_api_key=DEMO_KEY)
        self.api.start()

    def _start_device(self) -> None:
        # Lazy: the adb pieces load only when the demo's phone starts.
        from desktop.sim.adb_device import VirtualAdbDevice
        from desktop.sim.adb_thread import DeviceThread
        from desktop.sim.private_adb import PrivateAdbError, PrivateAdbServer

        self._device_thread = DeviceThread(VirtualAdbDevice(model="Honk Demo Phone"))
        self.device = self._device_thread.start()
        self._adb = PrivateAdbServer(self.root, self.base_env)
        self._adb_env = self._adb.env
        try:
            self._adb.connect(self.serial)
        except PrivateAdbError as exc:
            raise DemoError(str(exc)) from None

    def _start_slack(self) -> None:
        # A fresh app token each time: Honk serves one Slack app once per machine, and two
        # demos may run at once.
        self.slack = FakeSlack(app_token=f"xapp-1-A0HONKDEMO-{secrets.token_hex(8)}",
                               users={PHONE_USER: PHONE_USER_NAMES})
        self.slack.start()

    def close(self) -> None:
        """Stop Slack, the adb server, the device, the API and GitHub, and delete every file
        made."""
        if self.slack is not None:
            self.slack.stop()
            self.slack = None
        if self._adb is not None:
            with contextlib.suppress(Exception):
                self._adb.close()  # it daemonizes and would outlive us
            self._adb = None
        if self._device_thread is not None:
            with contextlib.suppress(Exception):
                self._device_thread.stop()
            self._device_thread = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.actions is not None:
            self.actions.stop()
            self.actions = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


def _local_build() -> BuildConfig:
    """The sample app's own [build] (its command and artifact): what the runner runs."""
    path = demo_resources() / "demo" / "app" / CONFIG_NAME
    try:
        build = load_config(path.read_text("utf-8"), str(path)).build
    except (OSError, ValueError) as exc:
        raise DemoError(f"{path}: {exc}") from None
    if build is None or build.remote:
        raise DemoError(f"{path}: expected a local [build] command for the runner to run")
    return build


async def run_headless(out: TextIO, *, json_lines: bool = False, request: int = 0,
                       text: str | None = None, remote_build: bool = False) -> int:
    """Run one suggested request (or ``text``, a request in the person's own words) end to
    end; 0 only if every stage truly happened. ``remote_build``: build on the loopback
    GitHub Actions."""
    with DemoEnvironment(remote_build=remote_build) as demo:
        chosen = (demo.suggested_requests[request] if text is None
                  else own_request(text, demo.pace_s))
        phone = next(r for r in demo.suggested_requests if r.text != chosen.text)
        return await run_story(demo, chosen, out, json_lines=json_lines, phone=phone)
