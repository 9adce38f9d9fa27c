"""A desk machine serving Slack, for end-to-end tests: a repo with a bare remote and a
[slack] table, the scripted Messages API, the loopback Slack, and `honk slack` running as a
real subprocess against them (real slack_sdk, real HTTP and WebSocket, real git)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import Response
from desktop.sim.slack import FakeSlack, SlackMessage
from tests.helpers.gitrepo import RepoWithRemote, make_repo
from tests.helpers.honk_toml import SWEDISH, configure, honk_toml

__all__ = ["APPROVER", "CHANNEL", "KEY", "REQUESTER", "STRANGER", "SlackDesk", "slack_desk"]

KEY = "sk-ant-slack-desk-0123456789"
APPROVER, REQUESTER, STRANGER = "U0APPROVE1", "U0REQUEST1", "U0STRANGER"
CHANNEL = "C0MOBILE01"
T = TypeVar("T")


class SlackDesk:
    """The running desk: ``phone`` is the loopback Slack; ``honk`` the served process."""

    def __init__(self, root: Path, repo: RepoWithRemote, phone: FakeSlack,
                 api: ScriptedMessagesAPI) -> None:
        self.root, self.repo, self.phone, self.api = root, repo, phone, api
        self.home = root / "home"
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[dict[str, Any]] = []
        self._reader: threading.Thread | None = None

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
        return {**env, "HONK_HOME": str(self.home), "ANTHROPIC_API_KEY": KEY,
                "ANTHROPIC_BASE_URL": self.api.base_url, "HONK_RETRY_BACKOFF_S": "0.01",
                "SLACK_BOT_TOKEN": self.phone.bot_token, "SLACK_APP_TOKEN": self.phone.app_token,
                "HONK_SLACK_API_URL": self.phone.api_url, "HONK_DEVICE_WATCH": "0"}

    def start(self, *extra: str) -> None:
        """`honk slack --repo REPO --json`, returning once it is connected."""
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "desktop", "slack", "--repo", str(self.repo.path), "--json",
             *extra], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, args=(self.proc,), daemon=True)
        self._reader.start()
        self.wait(lambda: self.line("slack_status", state="connected"), 20, "connected")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            if raw.startswith("{"):
                self.lines.append(json.loads(raw))

    def line(self, kind: str, **fields: object) -> dict[str, Any] | None:
        return next((line for line in self.lines if line.get("type") == kind
                     and all(line.get(k) == v for k, v in fields.items())), None)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Stop the process; its exit code and stderr."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        stderr = self.proc.stderr.read() if self.proc.stderr else ""
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code, stderr

    def wait(self, predicate: Callable[[], T | None], timeout: float = 30,
             what: str = "") -> T:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"honk slack exited ({self.proc.returncode}) while "
                                     f"waiting for {what}: {self.proc.stderr.read() if self.proc.stderr else ''}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; lines: {self.lines[-8:]}")
            time.sleep(0.02)
        return value

    # -- reading the conversation ----------------------------------------------------------
    def status(self, channel: str = CHANNEL) -> SlackMessage | None:
        """Honk's status message (the thread parent) in ``channel``."""
        top = self.phone.messages(channel)
        return top[-1] if top else None

    def replies(self, thread_ts: str, channel: str = CHANNEL) -> list[SlackMessage]:
        return self.phone.messages(channel, thread_ts)

    def reply_with(self, thread_ts: str, text: str, channel: str = CHANNEL
                   ) -> SlackMessage | None:
        return next((m for m in self.replies(thread_ts, channel) if text in m.text), None)

    def buttons(self, message: SlackMessage) -> dict[str, str]:
        """action_id -> value of a message's buttons."""
        return {e["action_id"]: e["value"] for b in message.blocks or []
                if b.get("type") == "actions" for e in b["elements"]}

    def change_id(self) -> str:
        created = self.wait(lambda: self.line("change_created"), 30, "change_created")
        return str(created["change"])


@contextmanager
def slack_desk(root: Path, script: Sequence[Response], *, slack_table: str | None = None,
               users: dict[str, tuple[str, str]] | None = None,
               toml_extra: str = "") -> Iterator[SlackDesk]:
    """The desk with ``script`` as the model's conversation; stops everything on exit."""
    repo = make_repo(root / "git", {"README.md": "# sample\n",
                                    "app/greeting.py": 'GREETING = "Hello"\n'})
    table = slack_table if slack_table is not None else (
        f'[slack]\napprovers = ["{APPROVER}"]\nrequesters = ["{REQUESTER}"]\n')
    configure(repo, honk_toml(SWEDISH, require=["verified"], extra=toml_extra + "\n" + table),
              push=True)
    people = users or {APPROVER: ("Ana Approver", "ana"), REQUESTER: ("Rui Requester", "rui")}
    with FakeSlack(users=people) as phone, ScriptedMessagesAPI(
            list(script), expected_api_key=KEY) as api:
        desk = SlackDesk(root, repo, phone, api)
        try:
            yield desk
        finally:
            if desk.proc is not None and desk.proc.poll() is None:
                desk.stop()
