"""Closing and quitting the main window: to the tray while changes run, or quit after
asking, cancelling and journalling them; the layout is saved on the way out and restored
at start (a mixin of :class:`~desktop.ui.main_window.MainWindow`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_parts import WindowParts
from desktop.ui.window_state import LaidOutWindow, restore_layout, save_layout

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings, SignalInstance
    from PySide6.QtGui import QCloseEvent

    from desktop.ui.notifier import DBusNotifier
    from desktop.ui.tray import Tray

__all__ = ["QuitIntents", "QuitWindow"]


class QuitWindow(WindowParts, LaidOutWindow, Protocol):
    """The window the closing is mixed into: its parts, and the closing's own helpers."""

    settings: QSettings
    tray: Tray
    dbus: DBusNotifier | None
    ask: Callable[[str, str], bool]  # a confirmation; tests replace it
    quitting: bool
    ready: bool
    finished: SignalInstance

    def hide(self) -> None: ...

    def close(self) -> bool: ...

    def request_quit(self) -> bool: ...

    async def _shutdown(self) -> None: ...

    def save_state(self) -> None: ...


class QuitIntents:
    """Mixed into the main window (see :class:`QuitWindow` for what it needs)."""

    def _close_requested(self: QuitWindow, event: QCloseEvent) -> None:
        """The window's ``closeEvent``: hide to the tray while it can, else quit."""
        if not self.ready:  # closed while starting: nothing runs yet, so it just goes
            self.quitting = True
            event.accept()
            return
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

    def request_quit(self: QuitWindow) -> bool:
        """Quit, asking first when changes are running; they are cancelled and journalled."""
        running = self.bridge.active_count()
        if running and not self.ask(self.tr("Quit Honk"), self.tr(
                "{n} change(s) still running. Quit and cancel them?").format(n=running)):
            return False
        self.quitting = True
        self.save_state()
        self._spawn(self._shutdown())
        return True

    async def _shutdown(self: QuitWindow) -> None:
        await self.bridge.shutdown()
        if self.dbus is not None:
            await self.dbus.aclose()
        self.tray.icon.hide()
        self.close()
        self.finished.emit()

    def save_state(self: QuitWindow) -> None:
        save_layout(self, self.settings)

    def restore_state(self: QuitWindow) -> None:
        restore_layout(self, self.settings)
