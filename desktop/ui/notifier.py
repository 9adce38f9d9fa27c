"""Notices that need a person: tray balloons, the desktop's notification service over
D-Bus, the status bar, or a recording (tests). Clicking a notice opens its change."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QStatusBar, QSystemTrayIcon

from desktop.core.events import ChangeFinished, Event, StageFinished, StageStarted
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

__all__ = [
    "Category",
    "DBusNotifier",
    "Notice",
    "Notifications",
    "Notifier",
    "RecordingNotifier",
    "StatusBarNotifier",
    "TrayNotifier",
    "notice_for",
]

log = logging.getLogger(__name__)
OpenChange = Callable[[str], None]


def _tr(text: str) -> str:
    return QCoreApplication.translate("notifier", text)


class Category(StrEnum):
    AGENT_FINISHED = "agent_finished"
    VERIFIERS_FAILED = "verifiers_failed"
    BUILD_FAILED = "build_failed"
    FAILED = "failed"
    INSTALLED = "installed"
    AWAITING_APPROVAL = "awaiting_approval"
    MERGED = "merged"

    @property
    def label(self) -> str:
        return _tr(self.value.replace("_", " ").capitalize())


@dataclass(frozen=True)
class Notice:
    category: Category
    change_id: str
    title: str
    body: str


class Notifier(Protocol):
    """Shows a notice somewhere a person will see it."""

    def notify(self, notice: Notice) -> None: ...


def notice_for(event: Event, view: ChangeView | None) -> Notice | None:
    """The notice an event deserves, if it needs a person; pure, so it is easy to test."""
    subject = (view.request.splitlines()[0] if view and view.request else event.change)[:80]
    category: Category | None = None
    title = ""
    if isinstance(event, StageFinished) and event.stage is Stage.AGENT:
        category, title = Category.AGENT_FINISHED, _tr("Agent finished")
    elif isinstance(event, StageFinished) and event.stage is Stage.INSTALL:
        category, title = Category.INSTALLED, _tr("Installed on the device")
    elif isinstance(event, StageStarted) and event.stage is Stage.APPROVAL:
        category, title = Category.AWAITING_APPROVAL, _tr("Awaiting your approval")
    elif isinstance(event, ChangeFinished):
        state = ChangeState(event.state)
        if state is ChangeState.COMMITTED:
            category, title = Category.AGENT_FINISHED, _tr("Agent finished")
        elif state is ChangeState.AWAITING_APPROVAL:
            category, title = Category.AWAITING_APPROVAL, _tr("Awaiting your approval")
        elif state is ChangeState.MERGED:
            category, title = Category.MERGED, _tr("Merged")
        elif state is ChangeState.FAILED:
            failed = [s for s in (view.stages if view else ()) if s.status == "failed"]
            stage = failed[-1].stage if failed else None
            if stage is Stage.VERIFY:
                category, title = Category.VERIFIERS_FAILED, _tr("Verifiers failed")
            elif stage is Stage.BUILD:
                category, title = Category.BUILD_FAILED, _tr("Build failed")
            else:
                category, title = Category.FAILED, _tr("Change failed")
            subject += f"\n{event.reason}" if event.reason else ""
    if category is None:
        return None
    return Notice(category, event.change, title, subject)


class Notifications:
    """Routes notices to every backend, skipping categories the person turned off and
    repeats of the same notice for the same change."""

    def __init__(self, backends: Iterable[Notifier], enabled: Iterable[Category] = Category):
        self.backends = list(backends)
        self.enabled = set(enabled)
        self._last: dict[str, Category] = {}

    def on_event(self, event: Event, view: ChangeView | None) -> Notice | None:
        notice = notice_for(event, view)
        if notice is None or notice.category not in self.enabled:
            return None
        if self._last.get(notice.change_id) is notice.category:
            return None
        self._last[notice.change_id] = notice.category
        for backend in self.backends:
            try:
                backend.notify(notice)
            except Exception:  # one broken backend must not hide the notice elsewhere
                log.exception("notifier %s failed", type(backend).__name__)
        return notice


class RecordingNotifier:
    """Keeps every notice; for tests and for a 'recent notices' view."""

    def __init__(self) -> None:
        self.notices: list[Notice] = []

    def notify(self, notice: Notice) -> None:
        self.notices.append(notice)

    def categories(self) -> list[Category]:
        return [n.category for n in self.notices]


class StatusBarNotifier:
    """The last notice as a link in the status bar; works everywhere, tray or not."""

    def __init__(self, bar: QStatusBar, open_change: OpenChange) -> None:
        self.label = QLabel()
        self.label.setObjectName("noticeLabel")
        self.label.setAccessibleName(_tr("Latest notice"))
        self.label.linkActivated.connect(open_change)
        bar.addPermanentWidget(self.label)
        self.last: Notice | None = None

    def notify(self, notice: Notice) -> None:
        self.last = notice
        first = notice.body.splitlines()[0] if notice.body else ""
        self.label.setText(f'<a href="{notice.change_id}">{notice.title}</a>: {first}')
        self.label.setToolTip(notice.body)


class TrayNotifier:
    """A balloon from the tray icon; clicking it opens the change it was about."""

    def __init__(self, tray: QSystemTrayIcon, open_change: OpenChange) -> None:
        self.tray = tray
        self.last: Notice | None = None
        tray.messageClicked.connect(lambda: open_change(self.last.change_id) if self.last else None)

    def notify(self, notice: Notice) -> None:
        self.last = notice
        self.tray.showMessage(notice.title, notice.body, self.tray.icon(), 8000)


class DBusNotifier:
    """org.freedesktop.Notifications through jeepney (QtDBus gets the `u` argument wrong).

    Sends are tasks on the running loop; the 'default' action (a click) opens the change.
    """

    def __init__(self, open_change: OpenChange, app_name: str = "Honk",
                 bus_address: str | None = None) -> None:
        self.open_change = open_change
        self.app_name = app_name
        self.bus = bus_address or "SESSION"
        self.sent: dict[int, str] = {}  # notification id -> change id
        self._router: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.failed = False

    @staticmethod
    def available() -> bool:
        return bool(os.environ.get("DBUS_SESSION_BUS_ADDRESS"))

    def notify(self, notice: Notice) -> None:
        if self.failed:
            return
        task = asyncio.ensure_future(self._send(notice))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, notice: Notice) -> None:
        from jeepney import DBusAddress, new_method_call

        try:
            router = await self._connect()
            addr = DBusAddress("/org/freedesktop/Notifications",
                               bus_name="org.freedesktop.Notifications",
                               interface="org.freedesktop.Notifications")
            msg = new_method_call(addr, "Notify", "susssasa{sv}i", (
                self.app_name, 0, "honk", notice.title, notice.body,
                ["default", _tr("Open change")],
                {"category": ("s", f"honk.{notice.category.value}")}, -1))
            reply = await router.send_and_get_reply(msg)
            self.sent[int(reply.body[0])] = notice.change_id
        except Exception as exc:  # no service: the status bar still has the notice
            self.failed = True
            log.warning("desktop notifications unavailable: %s", exc)

    async def _connect(self) -> Any:
        if self._router is not None:
            return self._router
        from jeepney import MatchRule
        from jeepney.bus_messages import message_bus
        from jeepney.io.asyncio import open_dbus_router

        self._opener = open_dbus_router(self.bus)
        self._router = await self._opener.__aenter__()
        rule = MatchRule(type="signal", interface="org.freedesktop.Notifications",
                         member="ActionInvoked")
        await self._router.send_and_get_reply(message_bus.AddMatch(rule))
        self._listener = asyncio.ensure_future(self._listen(rule))
        return self._router

    async def _listen(self, rule: Any) -> None:
        with self._router.filter(rule, bufsize=16) as queue:
            while True:
                msg = await queue.get()
                nid, _action = msg.body
                change = self.sent.get(int(nid))
                if change:
                    self.open_change(change)

    async def aclose(self) -> None:
        for task in [*self._tasks, *([self._listener] if self._listener else [])]:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._router is not None:
            await self._opener.__aexit__(None, None, None)
            self._router = None
