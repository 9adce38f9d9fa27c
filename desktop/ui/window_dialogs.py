"""The main window's dialogs: the command palette, the cheat sheet and the settings (a
mixin of :class:`~desktop.ui.main_window.MainWindow`); each is built on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.ui.settings_dialog import SettingsDialog

__all__ = ["DialogIntents"]


class DialogIntents:
    """Needs the window's ``actions_by_id``, ``services``, ``settings``, ``prefs``,
    ``bridge``, ``composer``, ``notifications``, ``_spawn`` and status bar."""

    def open_palette(self) -> None:
        from desktop.ui.palette import CommandPalette  # built on first use, not at start-up

        dialog = CommandPalette(self.actions_by_id, self)
        dialog.accepted.connect(lambda: dialog.chosen.trigger() if dialog.chosen else None)
        dialog.open()
        self.active_dialog = dialog

    def cheat_sheet(self) -> None:
        from desktop.ui.palette import CheatSheet

        self.active_dialog = CheatSheet(self.actions_by_id, self)
        self.active_dialog.open()

    def open_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        stored = {n: bool(self.services.secrets.get(n)) for n in ("anthropic-api-key", "github-token")}
        dialog = SettingsDialog(self.prefs, stored, self.services.home, self)
        dialog.accepted.connect(lambda: self._spawn(self._save_settings(dialog)))
        dialog.open()
        self.active_dialog = dialog

    async def _save_settings(self, dialog: SettingsDialog) -> None:
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
