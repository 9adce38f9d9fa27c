"""The main window: changes list, live diff, transcript, stage bar and composer, wired to
the bridge. Every action comes from the one table in ``actions.py``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices
from PySide6.QtWidgets import (
    QApplication,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.app import Services
from desktop.core.events import Event
from desktop.core.state import ChangeView
from desktop.ui.actions import build_actions
from desktop.ui.bridge import Bridge
from desktop.ui.changes_list import ChangesList
from desktop.ui.composer import Composer, FollowUp
from desktop.ui.diff_view import DiffView
from desktop.ui.icons import icon
from desktop.ui.notifier import (
    DBusNotifier,
    Notifications,
    Notifier,
    StatusBarNotifier,
    TrayNotifier,
)
from desktop.ui.palette import CheatSheet, CommandPalette
from desktop.ui.settings_dialog import Preferences, SettingsDialog
from desktop.ui.stage_bar import StageBar
from desktop.ui.transcript import Transcript
from desktop.ui.tray import Tray

__all__ = ["MainWindow"]

_MENUS = (("file", "&File"), ("change", "&Change"), ("go", "&Go"), ("view", "&View"))
_TOOLBAR = ("new_request", "cancel", None, "approve", "reject", "install", "open_worktree", None,
            "toggle_diff_mode", "command_palette", "settings")


class MainWindow(QMainWindow):
    """``extra_notifiers`` get every notice too (tests pass a RecordingNotifier)."""

    finished = Signal()  # quitting is done: runs cancelled and journalled, state saved

    def __init__(self, services: Services, settings: QSettings, *,
                 extra_notifiers: list[Notifier] | None = None, use_dbus: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self.setWindowTitle(self.tr("Honk"))
        self.setWindowIcon(icon("honk"))
        self.services, self.settings = services, settings
        self.prefs = Preferences.load(settings)
        self.bridge = Bridge(services, max_concurrent=self.prefs.max_concurrent, parent=self)
        self.ask: Callable[[str, str], bool] = self._ask_box  # confirmations; tests replace it
        self.open_url: Callable[[QUrl], bool] = QDesktopServices.openUrl
        self.quitting = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loaded: set[str] = set()
        self._select_next: str | None = None
        self._build_widgets()
        self.actions_by_id = build_actions(self, {
            "new_request": self.new_request, "send": self.send, "cancel": self.cancel,
            "next_change": lambda: self.changes.step(1),
            "prev_change": lambda: self.changes.step(-1),
            "next_file": self.diff.next_file, "prev_file": self.diff.prev_file,
            "next_hunk": self.diff.next_hunk, "prev_hunk": self.diff.prev_hunk,
            "toggle_diff_mode": self.diff.toggle_mode, "approve": self.approve,
            "reject": self.reject, "install": self.install, "open_worktree": self.open_worktree,
            "focus_filter": self.changes.filter.setFocus, "command_palette": self.palette,
            "cheat_sheet": self.cheat_sheet, "settings": self.open_settings,
            "quit": self.request_quit,
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
        self._connect()
        self._ages = QTimer(self)
        self._ages.setInterval(30_000)
        self._ages.timeout.connect(self.changes.model.refresh)

    # -- building ----------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.changes = ChangesList()
        self.diff = DiffView()
        self.transcript = Transcript()
        self.stage_bar = StageBar()
        self.composer = Composer()
        self.follow_up = FollowUp()
        self.work = QSplitter(Qt.Orientation.Horizontal)
        self.work.setObjectName("workSplitter")
        self.work.addWidget(self.diff)
        self.work.addWidget(self.transcript)
        self.work.setStretchFactor(0, 3)
        self.work.setStretchFactor(1, 1)
        self.work.setSizes([760, 300])
        center = QWidget()
        center.setObjectName("center")
        col = QVBoxLayout(center)
        col.setContentsMargins(8, 0, 8, 8)
        col.setSpacing(8)
        col.addWidget(self.stage_bar)
        col.addWidget(self.work, 1)
        col.addWidget(self.follow_up)
        col.addWidget(self.composer)
        self.main = QSplitter(Qt.Orientation.Horizontal)
        self.main.setObjectName("mainSplitter")
        self.changes.setContentsMargins(8, 8, 0, 8)
        self.main.addWidget(self.changes)
        self.main.addWidget(center)
        self.main.setStretchFactor(1, 1)
        self.main.setSizes([300, 980])
        self.setCentralWidget(self.main)
        self.resize(1280, 800)

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
        self.changes.selected.connect(self._select)
        self.composer.send_button.clicked.connect(self.send_request)
        self.follow_up.button.clicked.connect(self.send_follow_up)

    def start(self) -> None:
        """Load history, restore layout and selection. Call on the running loop."""
        self.bridge.start()
        for view in reversed(self.bridge.ordered_views()):
            self.changes.upsert(view)
        self.restore_state()
        self.tray.set_changes(self.bridge.ordered_views(), 0)
        self._ages.start()

    # -- events ------------------------------------------------------------------------
    def _on_events(self, batch: list[Event]) -> None:
        self.diff.on_events(batch)
        self.transcript.on_events(batch)
        self.stage_bar.on_events(batch)
        for event in batch:
            if not event.ephemeral:
                self.notifications.on_event(event, self.bridge.views.get(event.change))

    def _on_change(self, view: ChangeView) -> None:
        self.changes.upsert(view)
        if view.id == self._select_next:
            self._select_next = None
            self.changes.select(view.id)
        if view.id == self.current_id():
            self.stage_bar.show_view(view)
            self._update_follow_up()

    def _on_capacity(self, running: int, queued: int, limit: int) -> None:
        self.changes.model.queued = self.bridge.queued()
        self.changes.model.refresh()
        self.changes.set_capacity(running, queued, limit)
        self.tray.set_changes(self.bridge.ordered_views(), running)
        self._update_follow_up()

    def current_id(self) -> str | None:
        return self.changes.current_id()

    def _select(self, change_id: str) -> None:
        cid = change_id or None
        self.diff.show_change(cid)
        self.transcript.show_change(cid)
        self.stage_bar.show_view(self.bridge.views.get(cid or ""))
        self._update_follow_up()
        if cid and cid not in self._loaded and not self.bridge.is_active(cid):
            self._loaded.add(cid)
            self._spawn(self._load(cid))

    async def _load(self, change_id: str) -> None:
        events = await self.bridge.load_events(change_id)
        self.diff.load(change_id, events)
        self.transcript.load(change_id, events)

    def _update_follow_up(self) -> None:
        cid = self.current_id()
        view = self.bridge.views.get(cid or "")
        running = bool(cid and (self.bridge.is_active(cid) or (view and view.state.is_running)))
        self.follow_up.set_change(cid, running=running)

    # -- intents -----------------------------------------------------------------------
    def new_request(self) -> None:
        self.composer.request.setFocus()
        self.composer.request.selectAll()

    def send(self) -> None:
        """Ctrl+Enter: the follow-up box when it has focus, else the request composer."""
        if self.follow_up.edit.hasFocus():
            self.send_follow_up()
        else:
            self.send_request()

    def send_request(self) -> None:
        self._spawn(self._send_request())

    async def _send_request(self) -> None:
        text = self.composer.request.toPlainText()
        repo = self.composer.repo_path()
        if repo is None:
            self.composer.show_error(self.tr("Choose a repository first."))
            return
        self.composer.send_button.setEnabled(False)
        try:
            change_id = await self.bridge.send_request(text, repo, self.composer.options())
        except Exception as exc:  # usage, config, git or key problems: say it where they typed
            self.composer.show_error(str(exc))
            return
        finally:
            self.composer.send_button.setEnabled(True)
        self.composer.clear_request()
        self.composer.set_recent_repos(self.composer.recent_repos())
        self.settings.setValue("composer/recent_repos", self.composer.recent_repos())
        self._select_next = change_id
        self.diff.follow = True
        if not self.changes.select(change_id):
            return
        self._select_next = None

    def send_follow_up(self) -> None:
        cid = self.current_id()
        text = self.follow_up.edit.toPlainText().strip()
        if not cid or not text:
            return
        try:
            self.bridge.revise(cid, text)
        except Exception as exc:
            self.statusBar().showMessage(str(exc), 10_000)
            return
        self.follow_up.edit.clear()
        self._update_follow_up()

    def cancel(self) -> None:
        focus = QApplication.focusWidget()
        if isinstance(focus, QPlainTextEdit) and not focus.isReadOnly():
            self.changes.view.setFocus()  # Esc while typing leaves the editor, cancels nothing
            return
        cid = self.current_id()
        if cid and self.bridge.cancel(cid):
            self.statusBar().showMessage(self.tr("Cancelling change {id}…").format(id=cid), 5000)

    def approve(self) -> None:
        cid = self.current_id()
        view = self.bridge.views.get(cid or "")
        if view is None:
            return
        commit = (view.commit or "")[:12] or self.tr("(no commit yet)")
        if self.ask(self.tr("Approve change"),
                    self.tr("Approve commit {sha} of change {id} for merging?").format(
                        sha=commit, id=view.id)):
            self.bridge.approve(view.id)

    def reject(self) -> None:
        cid = self.current_id()
        if cid and self.ask(self.tr("Reject change"), self.tr(
                "Reject change {id}? Its worktree and branch are removed; the journal keeps "
                "the record.").format(id=cid)):
            self.bridge.reject(cid)

    def install(self) -> None:
        cid = self.current_id()
        if cid:
            self.bridge.install(cid)

    def open_worktree(self) -> None:
        view = self.bridge.views.get(self.current_id() or "")
        if view and view.worktree:
            self.open_url(QUrl.fromLocalFile(view.worktree))

    def palette(self) -> None:
        dialog = CommandPalette(self.actions_by_id, self)
        dialog.accepted.connect(lambda: dialog.chosen.trigger() if dialog.chosen else None)
        dialog.open()
        self.active_dialog: Any = dialog

    def cheat_sheet(self) -> None:
        self.active_dialog = CheatSheet(self.actions_by_id, self)
        self.active_dialog.open()

    def open_settings(self) -> None:
        stored = {n: bool(self.services.secrets.get(n)) for n in ("anthropic-api-key", "github-token")}
        dialog = SettingsDialog(self.prefs, stored, self.services.home, self)
        dialog.accepted.connect(lambda: self._spawn(self._save_settings(dialog)))
        dialog.open()
        self.active_dialog = dialog

    async def _save_settings(self, dialog: SettingsDialog) -> None:
        values = dialog.result_values()
        self.prefs = values.prefs
        self.prefs.save(self.settings)
        self.notifications.enabled = set(self.prefs.notify)
        self.bridge.set_limit(self.prefs.max_concurrent)
        self.composer.set_default_model(self.prefs.default_model)
        for name, value in values.secrets.items():
            try:
                await asyncio.to_thread(self.services.secrets.set, name, value)
            except Exception as exc:
                self.statusBar().showMessage(self.tr("Key not saved: {e}").format(e=exc))
                return
        self.statusBar().showMessage(self.tr("Settings saved"), 5000)

    def open_change(self, change_id: str) -> None:
        self.show_window()
        self.changes.select(change_id)

    def show_window(self) -> None:
        self.show()
        self.raise_()
        self.activateWindow()

    # -- closing -----------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_state()
        if self.quitting:
            event.accept()
            return
        event.ignore()
        if self.tray.available:  # agents keep running; the tray brings the window back
            self.hide()
            self.tray.icon.showMessage(self.tr("Honk is still running"),
                                       self.tr("Changes keep running in the background."))
        else:
            self.request_quit()

    def request_quit(self) -> bool:
        """Quit, asking first when changes are running; they are cancelled and journalled."""
        running = self.bridge.active_count()
        if running and not self.ask(self.tr("Quit Honk"), self.tr(
                "{n} change(s) still running. Quit and cancel them?").format(n=running)):
            return False
        self.quitting = True
        self.save_state()
        self._spawn(self._shutdown())
        return True

    async def _shutdown(self) -> None:
        await self.bridge.shutdown()
        if self.dbus is not None:
            await self.dbus.aclose()
        self.tray.icon.hide()
        self.close()
        self.finished.emit()

    def save_state(self) -> None:
        s = self.settings
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        for name, splitter in (("main", self.main), ("work", self.work),
                               ("diff", self.diff.splitter)):
            s.setValue(f"window/splitter_{name}", splitter.saveState())
        s.setValue("window/selected", self.current_id() or "")
        s.setValue("window/diff_mode", self.diff.mode)
        s.setValue("composer/recent_repos", self.composer.recent_repos())
        s.sync()

    def restore_state(self) -> None:
        s = self.settings
        if (geometry := s.value("window/geometry")) is not None:
            self.restoreGeometry(geometry)  # type: ignore[arg-type]
        if (state := s.value("window/state")) is not None:
            self.restoreState(state)  # type: ignore[arg-type]
        for name, splitter in (("main", self.main), ("work", self.work),
                               ("diff", self.diff.splitter)):
            if (value := s.value(f"window/splitter_{name}")) is not None:
                splitter.restoreState(value)  # type: ignore[arg-type]
        self.diff.set_mode(str(s.value("window/diff_mode", "unified")))
        repos = s.value("composer/recent_repos", [])
        self.composer.set_recent_repos([str(r) for r in (repos if isinstance(repos, list) else [repos]) if r])
        self.composer.set_default_model(self.prefs.default_model)
        selected = str(s.value("window/selected", "") or "")
        if not (selected and self.changes.select(selected)):
            self.changes.step(0)

    # -- helpers -----------------------------------------------------------------------
    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _ask_box(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text)
        return answer == QMessageBox.StandardButton.Yes
