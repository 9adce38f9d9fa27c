"""The person's preferences, kept in QSettings: loaded as the window completes, so they
live apart from the settings dialog (which loads only when opened)."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QSettings

from desktop.ui.notifier import Category

__all__ = ["Preferences"]


@dataclass
class Preferences:
    """Per-user preferences kept in QSettings (no secrets here, ever)."""

    default_model: str = ""
    max_concurrent: int = 2
    notify: set[Category] = field(default_factory=lambda: set(Category))
    slack_enabled: bool = False
    slack_repos: list[str] = field(default_factory=list)  # [NAME=]PATH, one per served repo

    @classmethod
    def load(cls, settings: QSettings) -> Preferences:
        prefs = cls()
        prefs.default_model = str(settings.value("prefs/default_model", "") or "")
        try:
            prefs.max_concurrent = max(1, int(str(settings.value("prefs/max_concurrent", 2))))
        except ValueError:
            prefs.max_concurrent = 2
        prefs.notify = {c for c in Category
                        if str(settings.value(f"notify/{c.value}", "true")).lower() == "true"}
        prefs.slack_enabled = str(settings.value("slack/enabled", "false")).lower() == "true"
        repos = settings.value("slack/repos", [])
        # An ini file gives one entry back as a plain string, none as None.
        items = [repos] if isinstance(repos, str) else list(repos or [])  # type: ignore[call-overload]
        prefs.slack_repos = [str(r).strip() for r in items if str(r).strip()]
        return prefs

    def save(self, settings: QSettings) -> None:
        settings.setValue("prefs/default_model", self.default_model)
        settings.setValue("prefs/max_concurrent", self.max_concurrent)
        for c in Category:
            settings.setValue(f"notify/{c.value}", "true" if c in self.notify else "false")
        settings.setValue("slack/enabled", "true" if self.slack_enabled else "false")
        settings.setValue("slack/repos", list(self.slack_repos))
