"""The main window's dialogs: the command palette, the cheat sheet and the settings (a
mixin of :class:`~desktop.ui.main_window.MainWindow`); each is built on first use. The
settings also turn the Slack bridge on and off (:meth:`DialogIntents.apply_slack`)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_parts import WindowParts

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QDialog

    from desktop.app.services import Services
    from desktop.ui.notifier import Notifications
    from desktop.ui.preferences import Preferences
    from desktop.ui.settings_dialog import SettingsDialog

__all__ = ["DialogIntents", "DialogWindow"]

_SETTINGS_KEYS = ("anthropic-api-key", "github-token")  # the keyring entries the page shows


class DialogWindow(WindowParts, Protocol):
    """The window the dialogs are mixed into: its parts, and the dialogs' own helper."""

    services: Services
    settings: QSettings
    prefs: Preferences
    notifications: Notifications

    async def _save_settings(self, dialog: SettingsDialog) -> None: ...

    async def _show_stored_keys(self, dialog: SettingsDialog) -> None: ...

    async def apply_slack(self) -> None: ...


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

        dialog = SettingsDialog(self.prefs, None, self.services.home, self.window())
        dialog.accepted.connect(lambda: self._spawn(self._save_settings(dialog)))
        dialog.open()
        self.active_dialog = dialog
        self._spawn(self._show_stored_keys(dialog))

    async def _show_stored_keys(self: DialogWindow, dialog: SettingsDialog) -> None:
        """Which keys are stored, read on a thread: a locked keyring may ask for its
        password, and the window must not freeze while it does."""
        import asyncio

        secrets = self.services.secrets
        stored = await asyncio.to_thread(
            lambda: {n: bool(secrets.get(n)) for n in _SETTINGS_KEYS})
        with contextlib.suppress(RuntimeError):  # the dialog was closed and deleted meanwhile
            dialog.set_stored(stored)

    async def _save_settings(self: DialogWindow, dialog: SettingsDialog) -> None:
        import asyncio

        values = dialog.result_values()
        self.prefs = values.prefs
        self.prefs.save(self.settings)
        self.notifications.enabled = set(self.prefs.notify)
        self.bridge.set_limit(self.prefs.max_concurrent)
        self.composer.set_default_model(self.prefs.default_model)
        await self.apply_slack()
        for name, value in values.secrets.items():
            try:
                await asyncio.to_thread(self.services.secrets.set, name, value)
            except Exception as exc:
                self.statusBar().showMessage(self.tr("Key not saved: {e}").format(e=exc))
                return
        self.statusBar().showMessage(self.tr("Settings saved"), 5000)

    async def apply_slack(self: DialogWindow) -> None:
        """Serve Slack as the preferences say: start, stop, or restart with other repos."""
        prefs, bridge = self.prefs, self.bridge
        wanted = tuple(prefs.slack_repos) if prefs.slack_enabled else ()
        if bridge.slack_serving and bridge.slack_repos == wanted:
            return
        await bridge.stop_slack()
        if wanted:
            bridge.start_slack(wanted)
