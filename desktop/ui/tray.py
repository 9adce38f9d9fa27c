"""The tray icon: show the window, recent changes, quit. Agents keep running behind it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from desktop.core.state import ChangeView
from desktop.ui.icons import icon

__all__ = ["Tray"]

MAX_RECENT = 6


class Tray(QObject):
    """Owns the QSystemTrayIcon; ``available`` says whether the desktop shows one."""

    def __init__(self, show_window: Callable[[], None], open_change: Callable[[str], None],
                 quit_app: Callable[[], object], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.open_change = open_change
        self.icon = QSystemTrayIcon(icon("honk"), self)
        self.icon.setToolTip(self.tr("Honk — no change running"))
        self.menu = QMenu()
        self.menu.setObjectName("trayMenu")
        show = self.menu.addAction(self.tr("Show Honk"))
        show.triggered.connect(show_window)
        self.recent = self.menu.addMenu(self.tr("Recent changes"))
        self.menu.addSeparator()
        quit_action = self.menu.addAction(self.tr("Quit"))
        quit_action.triggered.connect(quit_app)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(
            lambda reason: show_window()
            if reason == QSystemTrayIcon.ActivationReason.Trigger else None)
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        if self.available:
            self.icon.show()

    def set_changes(self, views: list[ChangeView], running: int) -> None:
        self.recent.clear()
        for view in views[:MAX_RECENT]:
            title = (view.request.splitlines()[0] if view.request else view.id)[:48]
            action: QAction = self.recent.addAction(f"{title} — {view.state.value.replace('_', ' ')}")
            action.triggered.connect(lambda _c=False, cid=view.id: self.open_change(cid))
        self.recent.setEnabled(bool(views))
        self.icon.setToolTip(self.tr("Honk — {n} running").format(n=running) if running
                             else self.tr("Honk — no change running"))
