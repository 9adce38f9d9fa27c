"""The main window's dialogs: the command palette, the cheat sheet and the settings (a
mixin of :class:`~desktop.ui.main_window.MainWindow`); each is built on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_parts import WindowParts

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDialog

    from desktop.app.services import Services
    from desktop.ui.notifier import Notifications
    from desktop.ui.settings_dialog import Preferences, SettingsDialog

__all__ = ["DialogIntents", "DialogWindow"]


class DialogWindow(WindowParts, Protocol):
    """The window the dialogs are mixed into: its parts, and the dialogs' own helper."""

    services: Services
    settings: QSettings
    prefs: Preferences
    notifications: Notifications

    async def _save_settings(self, dialog: SettingsDialog) -> None: ...


class DialogIntents:
    """Mixed into the main window (see :class:`DialogWindow` for what it needs)."""

    # The window's (WindowParts), declared here too: mypy would otherwise give the mixin an
    # attribute of the type first assigned below, which clashes with the window's.
    active_dialog: QDialog | None

    def open_palette(self: DialogWindow) -> None:
        from desktop.ui.palette import CommandPalette  # built on first use, not at start-up

        dialog = CommandPalette(self.actions_by_id, self.window())
        dialog.accepted.connect(lambda: dialog.chosen.trigger() if dialog.chosen else None)
        dialog.open()
        self.active_dialog = dialog

    def cheat_sheet(self: DialogWindow) -> None:
        from desktop.ui.palette import CheatSheet

        self.active_dialog = dialog = CheatSheet(self.actions_by_id, self.window())
        dialog.open()

    def open_settings(self: DialogWindow) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        stored = {n: bool(self.services.secrets.get(n)) for n in ("anthropic-api-key", "github-token")}
        dialog = SettingsDialog(self.prefs, stored, self.services.home, self.window())
        dialog.accepted.connect(lambda: self._spawn(self._save_settings(dialog)))
        dialog.open()
        self.active_dialog = dialog

    async def _save_settings(self: DialogWindow, dialog: SettingsDialog) -> None:
        import asyncio

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
