"""What the main window does as the bridge speaks (events, a change's new state, capacity,
the Slack bridge's state) and as the person picks a change (a mixin of
:class:`~desktop.ui.main_window.MainWindow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_parts import WindowParts

if TYPE_CHECKING:
    from PySide6.QtWidgets import QLabel

    from desktop.core.events import Event
    from desktop.core.state import ChangeView
    from desktop.ui.changes_list import ChangesList
    from desktop.ui.composer import FollowUp
    from desktop.ui.device_panel import DevicePanel
    from desktop.ui.diff_view import DiffView
    from desktop.ui.notifier import Notifications
    from desktop.ui.stage_bar import StageBar
    from desktop.ui.transcript import Transcript
    from desktop.ui.tray import Tray

__all__ = ["LAUNCH_SETTLE_S", "EventHandlers", "EventWindow"]

LAUNCH_SETTLE_S = 1.0  # after a launch, before the screenshot: the app draws its first frame


class EventWindow(WindowParts, Protocol):
    """The window the handlers are mixed into: the panels they fill, and their helpers."""

    changes: ChangesList
    diff: DiffView
    transcript: Transcript
    stage_bar: StageBar
    device_panel: DevicePanel
    follow_up: FollowUp
    notifications: Notifications
    tray: Tray
    slack_label: QLabel
    _loaded: set[str]  # changes whose journalled events were read once
    _select_next: str | None  # a change just sent: selected when it is first listed

    def current_id(self) -> str | None: ...

    async def _load(self, change_id: str) -> None: ...

    def _update_follow_up(self) -> None: ...

    def _update_approval(self, view: ChangeView | None, *, reload: bool) -> None: ...

    async def _phone_screen(self, change_id: str | None, serial: str | None, *,
                            settle_s: float = 0.0) -> None: ...


class EventHandlers:
    """Mixed into the main window (see :class:`EventWindow` for what it needs)."""

    # The window's, declared here too: mypy would otherwise give the mixin an attribute of
    # the type first assigned below, which clashes with the window's.
    _select_next: str | None

    def _on_events(self: EventWindow, batch: list[Event]) -> None:
        self.diff.on_events(batch)
        self.transcript.on_events(batch)
        self.stage_bar.on_events(batch)
        for event in batch:
            if not event.ephemeral:
                self.notifications.on_event(event, self.bridge.views.get(event.change))
            if event.type == "launched":  # the new build runs on the phone: show its screen
                self._spawn(self._phone_screen(event.change, None, settle_s=LAUNCH_SETTLE_S))

    def _on_change(self: EventWindow, view: ChangeView) -> None:
        self.changes.upsert(view)
        if view.id == self._select_next:
            self._select_next = None
            self.changes.select(view.id)
        if view.id == self.current_id():
            self.stage_bar.show_view(view)
            self._update_follow_up()
            self._update_approval(view, reload=True)

    def _on_capacity(self: EventWindow, running: int, queued: int, limit: int) -> None:
        self.changes.model.queued = self.bridge.queued()
        self.changes.model.refresh()
        self.changes.set_capacity(running, queued, limit)
        self.tray.set_changes(self.bridge.ordered_views(), running)
        self._update_follow_up()

    def _on_slack_status(self: EventWindow, state: str, reason: str) -> None:
        text = self.tr("Slack: {state}").format(state=state)
        if reason:
            text += f" ({reason})"
        self.slack_label.setText(text)
        self.slack_label.setToolTip(text)
        self.slack_label.show()
        if state == "error":  # e.g. the app is already served by `honk slack`: say it in full
            self.statusBar().showMessage(text, 15_000)

    # -- the selected change -----------------------------------------------------------
    def _select(self: EventWindow, change_id: str) -> None:
        cid = change_id or None
        self.diff.show_change(cid)
        self.transcript.show_change(cid)
        self.device_panel.show_change(cid)
        self.composer.set_folded(cid is not None)  # a change to look at: the diff gets the room
        self.stage_bar.show_view(self.bridge.views.get(cid or ""))
        self._update_follow_up()
        self._update_approval(self.bridge.views.get(cid or ""), reload=True)
        if cid and cid not in self._loaded and not self.bridge.is_active(cid):
            self._loaded.add(cid)
            self._spawn(self._load(cid))

    async def _load(self: EventWindow, change_id: str) -> None:
        events = await self.bridge.load_events(change_id)
        self.diff.load(change_id, events)
        self.transcript.load(change_id, events)

    def _update_follow_up(self: EventWindow) -> None:
        cid = self.current_id()
        view = self.bridge.views.get(cid or "")
        running = bool(cid and self.bridge.is_active(cid))
        self.follow_up.set_change(cid, running=running, state=view.state if view else None)
