"""A desk machine serving Slack, for end-to-end tests: a repo with a bare remote and a
[slack] table, the scripted Messages API, the loopback Slack, and `honk slack` running as a
real subprocess against them (real slack_sdk, real HTTP and WebSocket, real git)."""

from __future__ import annotations

import json
import os
import secrets
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
from desktop.sim.messages_script import Response, edit_turn, text_turn
from desktop.sim.slack import Ack, Ephemeral, FakeSlack, SlackMessage
from tests.helpers.gitrepo import RepoWithRemote, make_repo
from tests.helpers.honk_toml import SWEDISH, Verifier, configure, honk_toml

__all__ = ["APPROVER", "CHANNEL", "KEY", "REQUEST", "REQUESTER", "SCRIPT", "STRANGER", "SlackDesk",
           "extra_repo", "slack_desk", "slack_toml"]

KEY = "sk-ant-slack-desk-0123456789"
APPROVER, REQUESTER, STRANGER = "U0APPROVE1", "U0REQUEST1", "U0STRANGER"
CHANNEL = "C0MOBILE01"
# The request the tests send, and the model's conversation for it: one edit, then done.
REQUEST = "Say hello in Swedish"
SCRIPT = [edit_turn("app/greeting.py", '"Hello"', '"Hej"'), text_turn("Done.")]
T = TypeVar("T")


def slack_toml(*, approvers: Sequence[str] = (APPROVER,),
               requesters: Sequence[str] = (REQUESTER,), extra: str = "") -> str:
    """A ``[slack]`` table for honk.toml (``extra``: more of its keys, verbatim)."""
    return (f"[slack]\napprovers = {json.dumps(list(approvers))}\n"
            f"requesters = {json.dumps(list(requesters))}\n" + extra.strip("\n") + "\n")


class SlackDesk:
    """The running desk: ``phone`` is the loopback Slack; ``proc`` the `honk slack` process.

    ``lines`` holds every JSON line the `honk slack` processes printed (all runs, in order),
    ``stdout`` and ``stderr`` every raw line."""

    def __init__(self, root: Path, repo: RepoWithRemote, phone: FakeSlack,
                 api: ScriptedMessagesAPI) -> None:
        self.root, self.repo, self.phone, self.api = root, repo, phone, api
        self.home = root / "home"
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[dict[str, Any]] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers: list[threading.Thread] = []
        self._run_start = 0  # index in ``lines`` where the current process's lines begin

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k.upper() not in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")}
        return {**env, "HONK_HOME": str(self.home), "ANTHROPIC_API_KEY": KEY,
                "ANTHROPIC_BASE_URL": self.api.base_url, "HONK_RETRY_BACKOFF_S": "0.01",
                "SLACK_BOT_TOKEN": self.phone.bot_token, "SLACK_APP_TOKEN": self.phone.app_token,
                "HONK_SLACK_API_URL": self.phone.api_url, "HONK_DEVICE_WATCH": "0",
                # Never the machine's own keyring: a token missing from the environment
                # must read as missing.
                "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}

    def launch(self, *extra: str, repos: Sequence[str] | None = None,
               env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start `honk slack --json` (``repos``: the --repo values, default this desk's
        repo) and return at once."""
        served = [str(self.repo.path)] if repos is None else list(repos)
        argv = [sys.executable, "-m", "desktop", "slack", "--json", *extra]
        for spec in served:
            argv += ["--repo", spec]
        self._run_start = len(self.lines)
        self.proc = subprocess.Popen(argv, env=env or self.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self._readers = [threading.Thread(target=self._read, args=(self.proc,), daemon=True),
                         threading.Thread(target=self._read_err, args=(self.proc,),
                                          daemon=True)]
        for reader in self._readers:
            reader.start()
        return self.proc

    def start(self, *extra: str, repos: Sequence[str] | None = None) -> None:
        """`honk slack --repo REPO --json`, returning once it is connected."""
        self.launch(*extra, repos=repos)
        self.wait(lambda: self.line("slack_status", current=True, state="connected"), 20,
                  "connected")

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            self.stdout.append(raw)
            if raw.startswith("{"):
                self.lines.append(json.loads(raw))

    def _read_err(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stderr is not None
        for raw in proc.stderr:
            self.stderr.append(raw)

    def line(self, kind: str, *, current: bool = False, **fields: object
             ) -> dict[str, Any] | None:
        """The first JSON line of ``kind`` with these fields (``current``: of this run)."""
        lines = self.lines[self._run_start:] if current else self.lines
        return next((line for line in lines if line.get("type") == kind
                     and all(line.get(k) == v for k, v in fields.items())), None)

    def all_lines(self, kind: str, **fields: object) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("type") == kind
                and all(line.get(k) == v for k, v in fields.items())]

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Stop the process; its exit code and the stderr of this run."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        for reader in self._readers:
            reader.join(timeout=5)
        stderr = "".join(self.stderr)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return code, stderr

    def wait(self, predicate: Callable[[], T | None], timeout: float = 30,
             what: str = "") -> T:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if self.proc is not None and self.proc.poll() is not None:
                time.sleep(0.1)  # let the readers catch the last lines
                raise AssertionError(f"honk slack exited ({self.proc.returncode}) while "
                                     f"waiting for {what}: {''.join(self.stderr)}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; lines: {self.lines[-8:]}")
            time.sleep(0.02)
        return value

    def honk(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Another `honk` command on the same HONK_HOME (e.g. `show ID --json`)."""
        return subprocess.run([sys.executable, "-m", "desktop", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)

    def show(self, change: str) -> dict[str, Any]:
        """`honk show CHANGE --json`: the change and its events."""
        done = self.honk("show", change, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)  # type: ignore[no-any-return]

    def audit(self) -> list[dict[str, Any]]:
        """`honk audit export --json`: the audit records, oldest first."""
        done = self.honk("audit", "export", "--json")
        assert done.returncode == 0, done.stderr
        return list(json.loads(done.stdout)["records"])

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

    def replies_with(self, thread_ts: str, text: str, channel: str = CHANNEL
                     ) -> list[SlackMessage]:
        return [m for m in self.replies(thread_ts, channel) if text in m.text]

    def approval(self, thread_ts: str, channel: str = CHANNEL, *, nth: int = 1,
                 timeout: float = 30) -> SlackMessage:
        """The ``nth`` "ready for approval" reply in the thread, once it is there."""
        def found() -> SlackMessage | None:
            shown = self.replies_with(thread_ts, "ready for approval", channel)
            return shown[nth - 1] if len(shown) >= nth else None
        return self.wait(found, timeout, f"approval reply #{nth}")

    def ephemeral(self, user: str, text: str, timeout: float = 10) -> Ephemeral:
        """The private answer to ``user`` containing ``text``, once it is there."""
        return self.wait(lambda: next((e for e in self.phone.ephemerals(user)
                                       if text in e.text), None), timeout,
                         f"an ephemeral to {user} with {text!r}")

    def buttons(self, message: SlackMessage) -> dict[str, str]:
        """action_id -> value of a message's buttons."""
        return {e["action_id"]: e["value"] for b in message.blocks or []
                if b.get("type") == "actions" for e in b["elements"]}

    def click(self, user: str, message: SlackMessage, action_id: str,
              value: str | None = None) -> str:
        """``user`` presses a button of ``message`` (``value``: forge another one)."""
        chosen = self.buttons(message)[action_id] if value is None else value
        return self.phone.click(user, message.channel, message.ts, action_id, chosen)

    def acked(self, envelope_id: str, timeout: float = 10) -> Ack:
        """Honk's ack of the envelope (as last sent), once it came."""
        return self.wait(lambda: next((a for a in reversed(self.phone.acks())
                                       if a.envelope_id == envelope_id), None), timeout,
                         f"the ack of {envelope_id}")

    def thread(self, change: str) -> tuple[str, str]:
        """(thread_ts, status_ts) of a change's Slack thread, from its slack_thread line."""
        line = self.wait(lambda: self.line("slack_thread", change=change), 30, "slack_thread")
        return str(line["thread_ts"]), str(line["status_ts"])

    def change_id(self) -> str:
        created = self.wait(lambda: self.line("change_created"), 30, "change_created")
        return str(created["change"])

    def remote_main(self) -> str:
        return self.repo.git("ls-remote", "origin", "refs/heads/main").split()[0]


def extra_repo(root: Path, toml: str) -> RepoWithRemote:
    """Another served checkout (its own bare remote) with ``toml`` as its honk.toml."""
    repo = make_repo(root, {"README.md": "# other\n", "app/greeting.py": 'GREETING = "Hello"\n'})
    return configure(repo, toml, push=True)


@contextmanager
def slack_desk(root: Path, script: Sequence[Response], *, slack_table: str | None = None,
               users: dict[str, tuple[str, str]] | None = None,
               toml_extra: str = "", verifiers: Sequence[Verifier] = (SWEDISH,)
               ) -> Iterator[SlackDesk]:
    """The desk with ``script`` as the model's conversation; stops everything on exit.
    ``slack_table`` replaces the default [slack] (APPROVER approves, REQUESTER requests);
    ``toml_extra`` adds tables ([build], [device], ...) to the repo's honk.toml."""
    repo = make_repo(root / "git", {"README.md": "# sample\n",
                                    "app/greeting.py": 'GREETING = "Hello"\n'})
    table = slack_table if slack_table is not None else slack_toml()
    configure(repo, honk_toml(*verifiers, require=["verified"], extra=toml_extra + "\n" + table),
              push=True)
    people = users or {APPROVER: ("Ana Approver", "ana"), REQUESTER: ("Rui Requester", "rui")}
    # A fresh app token per desk: `honk slack` locks per app, and desks may run at once.
    app_token = f"xapp-1-A0HONK-{secrets.token_hex(8)}"
    with FakeSlack(users=people, app_token=app_token) as phone, ScriptedMessagesAPI(
            list(script), expected_api_key=KEY) as api:
        desk = SlackDesk(root, repo, phone, api)
        try:
            yield desk
        finally:
            if desk.proc is not None and desk.proc.poll() is None:
                desk.stop()
