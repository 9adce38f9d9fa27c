"""The phone path of `honk demo --headless`: a request sent from Slack on the "phone", its
thread filling up, the build arriving in it, Approve tapped, and Merged.

Slack is the loopback stand-in (``desktop.sim.slack.FakeSlack``) and the person is one of its
members; Honk's side is the real :class:`desktop.app.slack.serve.SlackServer` (what
`honk slack` runs) in this process, over the demo's services.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from desktop.sim.slack import FakeSlack, SlackMessage

if TYPE_CHECKING:
    from desktop.adapters.slack import SocketStatus
    from desktop.app.services import Services

__all__ = ["PHONE_CHANNEL", "PHONE_USER", "PHONE_USER_NAMES", "PhoneButton", "PhoneLeg",
           "PhoneOutcome", "PhoneView", "run_phone_leg"]

PHONE_USER = "U0DEMOPHONE"  # the [slack] approver in resources/demo/app/honk.toml
PHONE_USER_NAMES = ("Demo Engineer", "demo")  # real name, display name
PHONE_CHANNEL = "C0HONKDEMO"
T = TypeVar("T")


@dataclass(frozen=True)
class PhoneOutcome:
    """How the phone path went: ``ok`` only if the change was asked for, reported, approved
    and merged through Slack; ``detail`` says what was seen or what went wrong."""

    ok: bool
    detail: str


async def _until(predicate: Callable[[], T | None], timeout_s: float, what: str) -> T:
    """Poll ``predicate`` on the loop (the stand-in answers from its own threads)."""
    deadline = time.monotonic() + timeout_s
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout_s:g} s")
        await asyncio.sleep(0.05)
    return value


@dataclass
class _Phone:
    """What the person sees in Slack, printed as it arrives."""

    slack: FakeSlack
    say: Callable[[str], None]
    thread_ts: str = ""

    def status(self) -> SlackMessage | None:
        top = self.slack.messages(PHONE_CHANNEL)
        return top[-1] if top else None

    def reply(self, text: str) -> SlackMessage | None:
        if not self.thread_ts:
            return None
        return next((m for m in self.slack.messages(PHONE_CHANNEL, self.thread_ts)
                     if text in m.text), None)

    def show(self, message: SlackMessage, mark: str) -> None:
        shown = message.text
        for block in message.blocks or []:
            if block.get("type") == "section":
                shown = str(block.get("text", {}).get("text", shown))
            elif block.get("type") == "actions":
                labels = [str(e.get("text", {}).get("text", "")) for e in block["elements"]]
                shown += "\n" + "  ".join(f"[ {label} ]" for label in labels)
        for line in html.unescape(shown).splitlines():
            self.say(f"phone: {mark} {line}")
        for file in self.slack.files(PHONE_CHANNEL, self.thread_ts):
            if file.id in message.files:
                self.say(f"phone: {mark} 📎 {file.name} ({len(file.data):,} bytes)")

    def show_thread(self) -> None:
        status = self.status()
        if status is None:
            return
        self.say("phone: the thread in Slack:")
        self.show(status, "│")
        for message in self.slack.messages(PHONE_CHANNEL, self.thread_ts):
            self.show(message, "├")


async def run_phone_leg(*, services: Services, slack: FakeSlack, repo: Path, device: str | None,
                        request: str, say: Callable[[str], None],
                        timeout_s: float = 60.0) -> PhoneOutcome:
    """Serve ``repo`` to ``slack`` with a SlackServer, ask for ``request`` from the phone,
    tap Approve once the approval reply is in the thread, and wait for Merged."""
    from desktop.app.slack.serve import SlackServer, served_repos

    connected = asyncio.Event()
    problems: list[str] = []

    def on_status(status: SocketStatus) -> None:
        if status.state.value == "connected":
            connected.set()

    server = SlackServer(services, served_repos([f"{repo.name}={repo}"]), device=device,
                         api_url=slack.api_url, on_status=on_status, on_problem=problems.append)
    serving = asyncio.ensure_future(server.run())
    phone = _Phone(slack, say)
    try:
        await _until(lambda: connected.is_set() or serving.done(), 20, "Slack connection")
        if serving.done():
            serving.result()  # raises why it stopped
        say(f"phone: /honk {request}    (sent by {PHONE_USER_NAMES[1]} from the phone)")
        slack.slash_command(PHONE_USER, PHONE_CHANNEL, request)
        status = await _until(phone.status, timeout_s, "status message")
        phone.thread_ts = status.ts
        approval = await _until(lambda: phone.reply("ready for approval"), timeout_s,
                                "approval reply")
        # The patch, then the build: both land in the thread after the reply.
        await _until(lambda: len(slack.files(PHONE_CHANNEL, phone.thread_ts)) >= 2, 20,
                     "build in the thread")
        phone.show_thread()
        value = next(e["value"] for b in approval.blocks or [] if b.get("type") == "actions"
                     for e in b["elements"] if e.get("action_id") == "honk_approve")
        say("phone: tapped [ Approve and merge ]")
        slack.click(PHONE_USER, PHONE_CHANNEL, approval.ts, "honk_approve", value)
        merged = await _until(lambda: phone.reply("Merged"), timeout_s, "Merged reply")
        phone.show(merged, "├")
        change = json.loads(value)["change"]
        approved = [r.record for r in services.audit.find(change)
                    if r.record.action == "approved"]
        build = [f.name for f in slack.files(PHONE_CHANNEL, phone.thread_ts)
                 if not f.name.endswith(".patch")]
        if not approved or not build:
            return PhoneOutcome(False, f"change {change}: approved by {approved}, "
                                       f"build in thread: {build}")
        return PhoneOutcome(True, f"change {change} asked from Slack, {build[0]} in its thread, "
                                  f"approved by {approved[0].actor}, merged")
    except Exception as exc:  # reported as a failed check, never hidden
        phone.show_thread()
        return PhoneOutcome(False, f"{type(exc).__name__}: {exc}"
                            + (f" (Slack problems: {'; '.join(problems)})" if problems else ""))
    finally:
        server.stop()
        with contextlib.suppress(Exception):
            await serving


@dataclass(frozen=True)
class PhoneButton:
    """A button on a message in the phone's thread (Approve or Reject)."""

    label: str
    action_id: str
    value: str
    message_ts: str


@dataclass(frozen=True)
class PhoneView:
    """What the phone shows now: the channel's status message and its thread, as lines, and
    the buttons that can still be pressed."""

    lines: tuple[str, ...]
    buttons: tuple[PhoneButton, ...]
    connection: str


class PhoneLeg:
    """The phone path for the window demo: serves ``repo`` to the loopback ``slack`` with a
    SlackServer on the running loop, and lets a small window read the channel and thread
    (:meth:`view`), send ``/honk`` (:meth:`send`) and press a button (:meth:`press`) as the
    demo's person."""

    def __init__(self, services: Services, slack: FakeSlack, repo: Path,
                 device: str | None) -> None:
        self.services, self.slack, self.repo, self.device = services, slack, repo, device
        self.connection = "starting"
        self.problems: list[str] = []
        self._server: Any = None
        self._serving: asyncio.Future[None] | None = None

    def start(self) -> None:
        """Start serving on the running loop (returns at once)."""
        from desktop.app.slack.serve import SlackServer, served_repos

        def on_status(status: SocketStatus) -> None:
            self.connection = status.state.value + (f": {status.reason}" if status.reason else "")

        self._server = SlackServer(self.services,
                                   served_repos([f"{self.repo.name}={self.repo}"]),
                                   device=self.device, api_url=self.slack.api_url,
                                   on_status=on_status, on_problem=self.problems.append)
        self._serving = asyncio.ensure_future(self._server.run())
        self._serving.add_done_callback(self._ended)

    def _ended(self, serving: asyncio.Future[None]) -> None:
        error = None if serving.cancelled() else serving.exception()
        self.connection = f"stopped: {error}" if error else "stopped"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        if self._serving is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await self._serving
        self._server = self._serving = None

    def send(self, text: str) -> None:
        """The person types ``/honk text`` in the demo channel."""
        self.slack.slash_command(PHONE_USER, PHONE_CHANNEL, text)

    def press(self, button: PhoneButton) -> None:
        self.slack.click(PHONE_USER, PHONE_CHANNEL, button.message_ts, button.action_id,
                         button.value)

    def view(self) -> PhoneView:
        lines: list[str] = []
        phone = _Phone(self.slack, lines.append)
        status = phone.status()
        buttons: list[PhoneButton] = []
        if status is not None:
            phone.thread_ts = status.ts
            phone.show(status, "│")
            replies = self.slack.messages(PHONE_CHANNEL, status.ts)
            for message in replies:
                phone.show(message, "├")
            # Buttons only while the last reply that is not just a file carries them.
            said = [m for m in replies if not m.files or m.blocks]
            if said:
                last = said[-1]
                buttons = [PhoneButton(str(e.get("text", {}).get("text", "")),
                                       str(e.get("action_id", "")), str(e.get("value", "")),
                                       last.ts)
                           for b in last.blocks or [] if b.get("type") == "actions"
                           for e in b.get("elements", []) if e.get("value")]
        shown = tuple(line.removeprefix("phone: ") for line in lines)
        return PhoneView(shown, tuple(buttons), self.connection)
