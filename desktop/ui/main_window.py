"""The main window: changes list, live diff, transcript, stage bar and composer, wired to
the bridge. Every action comes from the one table in ``actions.py``."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLayout,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.icons import icon
from desktop.ui.window_approval import ApprovalIntents
from desktop.ui.window_dialogs import DialogIntents
from desktop.ui.window_events import EventHandlers
from desktop.ui.window_frame import StartupSkeleton, restore_geometry
from desktop.ui.window_quit import QuitIntents
from desktop.ui.window_requests import RequestIntents

# The widgets, the bridge and the services below import the agent stack (asyncio, the
# journal, the event types): they load in complete(), after the frame's first paint.
if TYPE_CHECKING:
    import asyncio

    from desktop.app.services import Services
    from desktop.ui.notifier import DBusNotifier, Notifier

__all__ = ["MainWindow"]

T = TypeVar("T")

MIN_SIZE = QSize(640, 420)
LIST_WIDTH = 240  # the changes column, at first start (then as the person left it)
SIDE_WIDTH = 330  # evidence, phone and transcript beside the diff, at first start
DEVICE_WATCH_WAIT_MS = 1000  # at most this long for the complete window's first paint
_MENUS = (("file", "&File"), ("change", "&Change"), ("go", "&Go"), ("view", "&View"))
_TOOLBAR = ("new_request", "cancel", None, "approve", "reject", "install", "open_worktree", None,
            "toggle_diff_mode", "command_palette", "settings")


class MainWindow(QMainWindow, EventHandlers, RequestIntents, ApprovalIntents, DialogIntents,
                 QuitIntents):
    """``extra_notifiers`` get every notice too (tests pass a RecordingNotifier)."""

    finished = Signal()  # quitting is done: runs cancelled and journalled, state saved

    def __init__(self, services: Services | None, settings: QSettings | None, *,
                 extra_notifiers: list[Notifier] | None = None, use_dbus: bool = True) -> None:
        """Without ``services``, only the frame and a skeleton (start-up paints it first);
        :meth:`complete` builds the rest."""
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Honk"))
        self.setWindowIcon(icon("honk"))
        self.quitting = False
        self.ready = False
        self.resize(1280, 800)
        # The window never resizes itself as its panels fill (a long path, a new chip):
        # its size is the person's. Children wrap, elide or scroll instead.
        self.setMinimumSize(MIN_SIZE)
        layout = self.layout()
        if layout is not None:
            layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
        if settings is not None:
            restore_geometry(self, settings)
        if services is None:
            self.setCentralWidget(StartupSkeleton())
        else:
            assert settings is not None
            self.complete(services, settings, extra_notifiers=extra_notifiers,
                          use_dbus=use_dbus)

    def complete(self, services: Services, settings: QSettings, *,
                 extra_notifiers: list[Notifier] | None = None, use_dbus: bool = True) -> None:
        """Build the widgets, actions, tray and notifiers over the frame."""
        from desktop.ui.actions import build_actions
        from desktop.ui.bridge import Bridge
        from desktop.ui.notifier import (
            DBusNotifier,
            Notifications,
            StatusBarNotifier,
            TrayNotifier,
        )
        from desktop.ui.preferences import Preferences
        from desktop.ui.tray import Tray

        self.services, self.settings = services, settings
        self.prefs = Preferences.load(settings)
        self.bridge = Bridge(services, max_concurrent=self.prefs.max_concurrent, parent=self)
        self.ask: Callable[[str, str], bool] = self._ask_box  # confirmations; tests replace it
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self.active_dialog: QDialog | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loaded: set[str] = set()
        self._select_next: str | None = None
        self._review_gen = 0  # only the newest review load may fill the panel
        self.demo = False
        self._build_widgets()
        self.actions_by_id = build_actions(self, {
            "new_request": self.new_request, "send": self.send, "cancel": self.cancel,
            "next_change": lambda: self.changes.step(1),
            "prev_change": lambda: self.changes.step(-1),
            "next_file": self.diff.next_file, "prev_file": self.diff.prev_file,
            "next_hunk": self.diff.next_hunk, "prev_hunk": self.diff.prev_hunk,
            "toggle_diff_mode": self.diff.toggle_mode, "approve": self.approve,
            "reject": self.reject, "install": self.install, "open_worktree": self.open_worktree,
            "focus_filter": self.changes.filter.setFocus, "command_palette": self.open_palette,
            "cheat_sheet": self.cheat_sheet, "settings": self.open_settings,
            "quit": self.request_quit, "phone_screen": self.take_phone_screen,
        })
        self._build_menus()
        self.tray = Tray(self.show_window, self.open_change, self.request_quit, self)
        backends: list[Notifier] = [StatusBarNotifier(self.statusBar(), self.open_change)]
        self.dbus: DBusNotifier | None = None
        if self.tray.available:
            backends.append(TrayNotifier(self.tray.icon, self.open_change))
        elif use_dbus and DBusNotifier.available():
            self.dbus = DBusNotifier(self.open_change)
            backends.append(self.dbus)
        backends += extra_notifiers or []
        self.notifications = Notifications(backends, self.prefs.notify)
        self.slack_label = QLabel()  # the Slack bridge's state; shown once it is turned on
        self.slack_label.setObjectName("slackStatus")
        self.slack_label.setMaximumWidth(420)  # a long reason is clipped; the tooltip has it
        self.slack_label.setAccessibleName(self.tr("Slack bridge"))
        self.slack_label.hide()
        self.statusBar().addPermanentWidget(self.slack_label)
        self._connect()
        self._ages = QTimer(self)
        self._ages.setInterval(30_000)
        self._ages.timeout.connect(self.changes.model.refresh)
        self.ready = True

    # -- building ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        from desktop.ui.approval_panel import ApprovalPanel
        from desktop.ui.changes_list import ChangesList
        from desktop.ui.composer import Composer, FollowUp
        from desktop.ui.device_panel import DevicePanel
        from desktop.ui.diff_view import DiffView
        from desktop.ui.stage_bar import StageBar
        from desktop.ui.transcript import Transcript

        # Top-down, each widget made inside its parent: with the app's stylesheet, every
        # re-parenting re-polishes the moved subtree (building bottom-up cost ~12 ms).
        self.main = QSplitter(Qt.Orientation.Horizontal)
        self.main.setObjectName("mainSplitter")
        self.changes = ChangesList(self.main)
        center = QWidget(self.main)
        center.setObjectName("center")
        self.stage_bar = StageBar(center)
        self.work = QSplitter(Qt.Orientation.Horizontal, center)
        self.work.setObjectName("workSplitter")
        self.diff = DiffView(self.work)
        self.side = QSplitter(Qt.Orientation.Vertical, self.work)  # evidence beside the diff
        self.side.setObjectName("sideSplitter")
        self.approval = ApprovalPanel(self.side)
        self.device_panel = DevicePanel(self.side)
        self.transcript = Transcript(self.side)
        self.follow_up = FollowUp(center)
        self.composer = Composer(center)
        for widget in (self.approval, self.device_panel, self.transcript):
            self.side.addWidget(widget)  # already its child: this fixes the order only
        self.side.setSizes([300, 150, 120])  # the evidence first, then the phone
        for i, stretch in enumerate((2, 1, 1)):
            self.side.setCollapsible(i, False)
            self.side.setStretchFactor(i, stretch)
        self.work.addWidget(self.diff)
        self.work.addWidget(self.side)
        # The diff is the main thing on screen: a wider window mostly widens the diff.
        self.work.setStretchFactor(0, 3)
        self.work.setStretchFactor(1, 1)
        self.work.setSizes([680, SIDE_WIDTH])
        col = QVBoxLayout(center)
        col.setContentsMargins(8, 0, 8, 8)
        col.setSpacing(8)
        col.addWidget(self.stage_bar)
        col.addWidget(self.work, 1)
        col.addWidget(self.follow_up)
        col.addWidget(self.composer)
        self.changes.setContentsMargins(8, 8, 0, 8)
        self.main.addWidget(self.changes)
        self.main.addWidget(center)
        self.main.setStretchFactor(0, 0)
        self.main.setStretchFactor(1, 1)
        self.main.setSizes([LIST_WIDTH, 1280 - LIST_WIDTH])
        self.setCentralWidget(self.main)  # deletes the skeleton, if any

    def _build_menus(self) -> None:
        from desktop.ui.actions import ACTIONS

        menus = {key: self.menuBar().addMenu(self.tr(title)) for key, title in _MENUS}
        for row in ACTIONS:
            menus[row.group].addAction(self.actions_by_id[row.id])
            self.addAction(self.actions_by_id[row.id])  # shortcuts work with the menu bar hidden
        bar = QToolBar(self.tr("Actions"))
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action_id in _TOOLBAR:
            (bar.addAction(self.actions_by_id[action_id]) if action_id else bar.addSeparator())
        self.addToolBar(bar)

    def _connect(self) -> None:
        b = self.bridge
        b.events.connect(self._on_events)
        b.change_updated.connect(self._on_change)
        b.capacity_changed.connect(self._on_capacity)
        b.message.connect(lambda _level, text: self.statusBar().showMessage(text, 10_000))
        b.slack_status.connect(self._on_slack_status)
        self.changes.selected.connect(self._select)
        self.composer.send_button.clicked.connect(self.send_request)
        self.follow_up.button.clicked.connect(self.send_follow_up)
        self.composer.suggestion_chosen.connect(lambda _text: self.new_request())
        p = self.approval
        p.approve_requested.connect(self.approve)
        p.override_requested.connect(self.override)
        p.changes_requested.connect(self.request_changes)
        p.reject_requested.connect(self.reject)
        p.install_requested.connect(self.install)
        self.device_panel.screenshot_requested.connect(self.take_phone_screen)
        self._approve_tip = self.actions_by_id["approve"].toolTip()

    def start(self) -> None:
        """Load history, restore layout and selection. Call on the running loop."""
        from desktop.ui.live_wiring import connect_live

        self.bridge.start()
        connect_live(self.bridge, self.composer, self.diff)  # device list, in-place previews
        # Watching loads the adb and iOS adapters (~15 ms): after the complete window's first
        # paint, so the person sees it that much sooner.
        if self.isVisible():
            from desktop.ui.first_paint import after_paint_or_timeout

            after_paint_or_timeout(self.main, self._watch_devices, DEVICE_WATCH_WAIT_MS)
        else:
            self._watch_devices()
        for view in reversed(self.bridge.ordered_views()):
            self.changes.upsert(view)
        self.restore_state()
        self.tray.set_changes(self.bridge.ordered_views(), 0)
        self._ages.start()
        if self.prefs.slack_enabled:
            self._spawn(self.apply_slack())

    def _watch_devices(self) -> None:
        if not self.quitting:  # a late start would outlive the bridge's shutdown
            self.bridge.watch_devices()

    def current_id(self) -> str | None:
        return self.changes.current_id()

    # -- intents -----------------------------------------------------------------------
    def take_phone_screen(self) -> None:
        """Ctrl+Shift+S: what the phone shows now (the selected change's device, else the
        one chosen in the composer)."""
        cid = self.current_id()
        view = self.bridge.views.get(cid or "")
        serial = None if view is not None and view.device else self.composer.options().device
        self._spawn(self._phone_screen(cid, serial))

    async def _phone_screen(self, change_id: str | None, serial: str | None, *,
                            settle_s: float = 0.0) -> None:
        import asyncio

        self.device_panel.taking(change_id)
        if settle_s:
            await asyncio.sleep(settle_s)  # a launched app takes a moment to draw
        try:
            screen = await self.bridge.phone_screen(change_id, serial)
        except Exception as exc:  # a vanished change or repo: said in the panel
            from desktop.app.screens import PhoneScreen

            screen = PhoneScreen(serial or "", reason=str(exc))
        if not self.quitting:
            self.device_panel.show_screen(change_id, screen)

    # -- demo --------------------------------------------------------------------------
    def set_demo(self, repo: str, serial: str, suggestions: list[str]) -> None:
        """Label the window DEMO and prefill the composer with the demo's stand-ins."""
        self.demo = True
        self.setWindowTitle(self.tr("Honk — DEMO"))
        badge = QLabel(self.tr("DEMO"))
        badge.setObjectName("demoBadge")
        badge.setAccessibleName(self.tr("Demo mode"))
        badge.setToolTip(self.tr("Scripted model, virtual phone and a throw-away repo: nothing "
                                 "real is touched"))
        badge.setStyleSheet("background: #d97706; color: white; font-weight: 700; "
                            "padding: 2px 10px; border-radius: 4px;")
        self.demo_badge = badge
        self.menuBar().setCornerWidget(badge, Qt.Corner.TopRightCorner)
        self.approval.set_demo(True)
        self.composer.set_recent_repos([repo])
        self.composer.set_device(serial, self.tr("Virtual phone ({serial})").format(
            serial=serial))
        self.composer.set_suggestions(suggestions)

    def open_worktree(self) -> None:
        view = self.bridge.views.get(self.current_id() or "")
        if view and view.worktree:
            self.open_url(QUrl.fromLocalFile(view.worktree))

    def open_change(self, change_id: str) -> None:
        self.show_window()
        self.changes.select(change_id)

    def show_window(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    # -- closing -----------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self._close_requested(event)  # to the tray, or quit (window_quit)

    # -- helpers -----------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        import asyncio

        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ask_box(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes
