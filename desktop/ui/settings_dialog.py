"""Settings: API key and forge token (keyring only; never shown after saving), default
model, concurrent runs, notification categories, and the Slack bridge (on or off, and the
repos it serves; its tokens stay in the keyring or the environment). The theme follows the
OS palette."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.composer import KNOWN_MODELS
from desktop.ui.notifier import Category
from desktop.ui.preferences import Preferences

__all__ = ["SettingsDialog", "SettingsResult"]


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
        slack_box = QGroupBox(self.tr("Slack"))
        sform = QVBoxLayout(slack_box)
        self.slack_enabled = QCheckBox(self.tr("Serve requests from Slack"))
        self.slack_enabled.setObjectName("slackEnabled")
        self.slack_enabled.setChecked(prefs.slack_enabled)
        self.slack_enabled.setToolTip(self.tr(
            "Tokens: `honk key set slack-bot` and `honk key set slack-app`, or "
            "SLACK_BOT_TOKEN and SLACK_APP_TOKEN in the environment"))
        sform.addWidget(self.slack_enabled)
        sform.addWidget(QLabel(self.tr("Repos it serves, one per line: PATH or NAME=PATH")))
        self.slack_repos = QPlainTextEdit("\n".join(prefs.slack_repos))
        self.slack_repos.setObjectName("slackRepos")
        self.slack_repos.setAccessibleName(self.tr("Repos served over Slack"))
        self.slack_repos.setTabChangesFocus(True)
        self.slack_repos.setFixedHeight(self.slack_repos.fontMetrics().height() * 4 + 12)
        sform.addWidget(self.slack_repos)
        self.slack_error = QLabel()
        self.slack_error.setObjectName("slackError")
        self.slack_error.setWordWrap(True)
        self.slack_error.setStyleSheet("color: #dc2626;")
        self.slack_error.hide()
        sform.addWidget(self.slack_error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (secrets_box, general, notify_box, slack_box):
            layout.addWidget(w)
        layout.addWidget(buttons)

    def set_stored(self, stored: dict[str, bool] | None) -> None:
        """Say which keys are stored (None: still asking the keyring)."""
        for name, edit in self.secret_edits.items():
            edit.setPlaceholderText(
                self.tr("checking the keyring…") if stored is None
                else self.tr("stored — type to replace") if stored.get(name)
                else self.tr("not set"))

    def slack_entries(self) -> list[str]:
        return [line.strip() for line in self.slack_repos.toPlainText().splitlines()
                if line.strip()]

    def accept(self) -> None:
        """Save only when the Slack repos are valid; otherwise say why, here, and stay."""
        error = self.slack_problem()
        self.slack_error.setText(error or "")
        self.slack_error.setVisible(bool(error))
        if error:
            self.slack_repos.setFocus()
            return
        super().accept()

    def slack_problem(self) -> str | None:
        """Why the Slack entries cannot be served (None: they can, or the bridge is off and
        none are listed). Reads each repo's honk.toml: a few small files."""
        entries = self.slack_entries()
        if not entries and not self.slack_enabled.isChecked():
            return None
        from desktop.app.errors import HonkError
        from desktop.app.slack.serve import served_repos  # only when Slack is set up

        try:
            served_repos(entries)
        except (HonkError, OSError) as exc:  # UsageError, a honk.toml that does not parse
            return str(exc)
        return None

    def result_values(self) -> SettingsResult:
        """What to save; the secret fields are cleared so the values do not linger."""
        secrets = {n: e.text().strip() for n, e in self.secret_edits.items() if e.text().strip()}
        for edit in self.secret_edits.values():
            edit.clear()
        prefs = Preferences(
            default_model=self.model.currentText().strip(),
            max_concurrent=self.concurrent.value(),
            notify={c for c, b in self.notify_boxes.items() if b.isChecked()},
            slack_enabled=self.slack_enabled.isChecked(),
            slack_repos=self.slack_entries(),
        )
        return SettingsResult(prefs, secrets)
