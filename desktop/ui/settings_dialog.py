"""Settings: API key and forge token (keyring only; never shown after saving), default
model, concurrent runs, notification categories. The theme follows the OS palette."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.composer import KNOWN_MODELS
from desktop.ui.notifier import Category

__all__ = ["Preferences", "SettingsDialog", "SettingsResult"]


@dataclass
class Preferences:
    """Per-user preferences kept in QSettings (no secrets here, ever)."""

    default_model: str = ""
    max_concurrent: int = 2
    notify: set[Category] = field(default_factory=lambda: set(Category))

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
        return prefs

    def save(self, settings: QSettings) -> None:
        settings.setValue("prefs/default_model", self.default_model)
        settings.setValue("prefs/max_concurrent", self.max_concurrent)
        for c in Category:
            settings.setValue(f"notify/{c.value}", "true" if c in self.notify else "false")


@dataclass
class SettingsResult:
    prefs: Preferences
    secrets: dict[str, str]  # secret name -> new value; only the fields the person typed in


class SettingsDialog(QDialog):
    """Secret fields start empty and say whether a value is stored; typing replaces it."""

    def __init__(self, prefs: Preferences, stored: dict[str, bool] | None, home: Path,
                 parent: QWidget | None = None) -> None:
        """``stored`` None: not known yet (the keyring is read off the loop; see
        :meth:`set_stored`)."""
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle(self.tr("Settings"))
        self.secret_edits: dict[str, QLineEdit] = {}
        secrets_box = QGroupBox(self.tr("Keys (stored in the system keyring)"))
        form = QFormLayout(secrets_box)
        for name, label in (("anthropic-api-key", self.tr("Anthropic API key")),
                            ("github-token", self.tr("Forge token"))):
            edit = QLineEdit()
            edit.setObjectName(f"secret_{name}")
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setAccessibleName(label)
            self.secret_edits[name] = edit
            form.addRow(label, edit)
        self.set_stored(stored)
        general = QGroupBox(self.tr("General"))
        gform = QFormLayout(general)
        self.model = QComboBox()
        self.model.setEditable(True)
        self.model.setAccessibleName(self.tr("Default model"))
        self.model.addItem("")
        self.model.addItems(list(KNOWN_MODELS))
        self.model.setCurrentText(prefs.default_model)
        gform.addRow(self.tr("Default model"), self.model)
        self.concurrent = QSpinBox()
        self.concurrent.setRange(1, 16)
        self.concurrent.setValue(prefs.max_concurrent)
        self.concurrent.setAccessibleName(self.tr("Concurrent agent runs"))
        gform.addRow(self.tr("Concurrent agent runs"), self.concurrent)
        data = QLabel(str(home))
        data.setAccessibleName(self.tr("Data directory"))
        data.setToolTip(self.tr("Set HONK_HOME to use another directory"))
        gform.addRow(self.tr("Data directory"), data)
        gform.addRow(self.tr("Theme"), QLabel(self.tr("Follows the system (light or dark)")))
        notify_box = QGroupBox(self.tr("Notify me when"))
        nlayout = QVBoxLayout(notify_box)
        self.notify_boxes: dict[Category, QCheckBox] = {}
        for c in Category:
            box = QCheckBox(c.label)
            box.setChecked(c in prefs.notify)
            self.notify_boxes[c] = box
            nlayout.addWidget(box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (secrets_box, general, notify_box):
            layout.addWidget(w)
        layout.addWidget(buttons)

    def set_stored(self, stored: dict[str, bool] | None) -> None:
        """Say which keys are stored (None: still asking the keyring)."""
        for name, edit in self.secret_edits.items():
            edit.setPlaceholderText(
                self.tr("checking the keyring…") if stored is None
                else self.tr("stored — type to replace") if stored.get(name)
                else self.tr("not set"))

    def result_values(self) -> SettingsResult:
        """What to save; the secret fields are cleared so the values do not linger."""
        secrets = {n: e.text().strip() for n, e in self.secret_edits.items() if e.text().strip()}
        for edit in self.secret_edits.values():
            edit.clear()
        prefs = Preferences(
            default_model=self.model.currentText().strip(),
            max_concurrent=self.concurrent.value(),
            notify={c for c, b in self.notify_boxes.items() if b.isChecked()},
        )
        return SettingsResult(prefs, secrets)
