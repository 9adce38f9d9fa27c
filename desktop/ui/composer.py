"""The request composer (new change) and the follow-up box (revise the selected change)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.device_choice import DeviceChoice
from desktop.core.options import RunOptions
from desktop.core.stages import ChangeState

__all__ = ["ENGINES", "KNOWN_MODELS", "Composer", "FollowUp"]

KNOWN_MODELS = ("claude-sonnet-4-6", "claude-opus-4-5", "claude-haiku-4-5")
# The agent engines the model picker offers: (what the person reads, [agent] engine value).
ENGINES = (("Messages API", "messages"), ("Claude Code", "claude-code"))
MAX_RECENT = 8


class Composer(QWidget):
    """Multi-line request, repo picker (recent repos), device and model pickers, and
    suggested requests ("Try:") when there are some (the demo offers them)."""

    suggestion_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composer")
        self.suggestions = QComboBox()
        self.suggestions.setObjectName("suggestionPicker")
        self.suggestions.setAccessibleName(self.tr("Suggested requests"))
        self.suggestions.setToolTip(self.tr("Pick a suggested request to fill the request box"))
        self.suggestions.activated.connect(self._use_suggestion)
        self.suggestions_label = QLabel(self.tr("Try:"))
        self.suggestions_label.setBuddy(self.suggestions)
        self.request = QPlainTextEdit()
        self.request.setObjectName("requestEdit")
        self.request.setAccessibleName(self.tr("Request"))
        self.request.setTabChangesFocus(True)
        self.request.setFixedHeight(72)
        self.request.setPlaceholderText(self.tr(
            "Describe the change, e.g. “the play button overlaps the title on small screens”. "
            "Ctrl+Enter sends."))
        self.repo = QComboBox()
        self.repo.setObjectName("repoPicker")
        self.repo.setEditable(True)
        self.repo.setAccessibleName(self.tr("Repository"))
        self.repo.setToolTip(self.tr("The git repository to change (recent ones are listed)"))
        self.repo.setMinimumContentsLength(16)
        self.repo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        browse = QToolButton()
        browse.setText("…")
        browse.setAccessibleName(self.tr("Choose repository folder"))
        browse.clicked.connect(self._browse)
        self.device = QComboBox()
        self.device.setObjectName("devicePicker")
        self.device.setAccessibleName(self.tr("Device"))
        self.device.setToolTip(self.tr("The test device to install the build on (live list)"))
        self.device.addItem(self.tr("No device"), "")
        self.device.activated.connect(self._device_picked)
        self._wanted_device = ""  # the person's choice: picked again when it comes back
        self._pinned: dict[str, str] = {}  # serial -> label, added by set_device
        self.devices: list[DeviceChoice] = []
        self.model = QComboBox()
        self.model.setObjectName("modelPicker")
        self.model.setEditable(True)
        self.model.setAccessibleName(self.tr("Model"))
        self.model.addItem(self.tr("Repository default"), "")
        for m in KNOWN_MODELS:
            self.model.addItem(m, m)
        self.engine = QComboBox()
        self.engine.setObjectName("enginePicker")
        self.engine.setAccessibleName(self.tr("Agent engine"))
        self.engine.setToolTip(self.tr("Which agent makes the change: Honk's own loop on the "
                                       "Messages API, or Claude Code (the repository's "
                                       "[agent] engine by default)"))
        self.engine.addItem(self.tr("Default engine"), "")
        for label, engine in ENGINES:
            self.engine.addItem(self.tr(label), engine)
        self.send_button = QPushButton(self.tr("Send"))
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName(self.tr("Send request"))
        self.send_button.setDefault(True)
        self.error = QLabel()
        self.error.setObjectName("errorLabel")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()

        repo_row = QHBoxLayout()
        repo_row.addWidget(self.repo, 1)
        repo_row.addWidget(browse)
        pickers = QFormLayout()
        pickers.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        pickers.addRow(self.tr("Repo"), repo_row)
        row = QHBoxLayout()
        row.addWidget(self.device, 1)
        row.addWidget(QLabel(self.tr("Model")))
        row.addWidget(self.model, 1)
        row.addWidget(self.engine)
        row.addWidget(self.send_button)
        pickers.addRow(self.tr("Device"), row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        tries = QHBoxLayout()
        tries.addWidget(self.suggestions_label)
        tries.addWidget(self.suggestions, 1)
        layout.addLayout(tries)
        layout.addWidget(self.request)
        self.pickers = QWidget()  # repo, device, model and Send: folded away with the rest
        self.pickers.setLayout(pickers)
        pickers.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pickers)
        layout.addWidget(self.error)
        self.folded = False
        self._has_suggestions = False
        self.request.installEventFilter(self)
        self.set_suggestions([])

    # -- folding -----------------------------------------------------------------------
    def set_folded(self, folded: bool) -> None:
        """One line (the request box) while a change is selected, so the diff gets the
        room; the whole composer again as soon as the person goes to type a request.

        Never folds while the request box has focus or holds text being written."""
        if folded and (self.request.hasFocus() or self.request.toPlainText().strip()):
            folded = False
        if folded == self.folded:
            return
        self.folded = folded
        self.pickers.setVisible(not folded)
        shown = self._has_suggestions and not folded
        self.suggestions.setVisible(shown)
        self.suggestions_label.setVisible(shown)
        self.request.setFixedHeight(self._folded_height() if folded else 72)
        self.request.setVerticalScrollBarPolicy(
            Qt.ScrollBarPolicy.ScrollBarAlwaysOff if folded else Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.request.setPlaceholderText(self._placeholder())

    def _folded_height(self) -> int:
        return self.request.fontMetrics().height() + 14  # one line, the frame and padding

    def _placeholder(self) -> str:
        if self.folded:
            return self.tr("New request… (Ctrl+N)")
        return self.tr("Describe the change, e.g. “the play button overlaps the title on small "
                       "screens”. Ctrl+Enter sends.")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.request and event.type() == QEvent.Type.FocusIn:
            self.set_folded(False)
        return super().eventFilter(watched, event)

    def set_suggestions(self, texts: list[str]) -> None:
        """Offer ``texts`` in the "Try:" picker (hidden when there are none)."""
        self.suggestions.clear()
        if texts:
            self.suggestions.addItem(self.tr("Choose a suggested request…"), "")
        for text in texts:
            self.suggestions.addItem(text, text)
        self._has_suggestions = bool(texts)
        self.suggestions.setVisible(bool(texts) and not self.folded)
        self.suggestions_label.setVisible(bool(texts) and not self.folded)

    def use_suggestion(self, index: int) -> None:
        """Fill the request box with suggestion ``index`` (0 is the first suggestion)."""
        self.suggestions.setCurrentIndex(index + 1)
        self._use_suggestion(index + 1)

    def _use_suggestion(self, row: int) -> None:
        text = str(self.suggestions.itemData(row) or "")
        if text:
            self.request.setPlainText(text)
            self.suggestion_chosen.emit(text)

    def set_device(self, serial: str, label: str) -> None:
        """Add ``serial`` to the device picker under ``label`` and choose it."""
        self._pinned[serial] = label
        self._wanted_device = serial
        self.set_devices(self.devices)

    def set_devices(self, devices: list[DeviceChoice]) -> None:
        """Show the live device list; keeps the chosen device while it is listed.

        Devices that are not ready (and problems such as adb missing) are listed disabled,
        with what to do about them as the tooltip. "No device" is always first.
        """
        self.devices = list(devices)
        current = str(self.device.currentData() or "")
        listed = {d.serial for d in devices if d.serial}
        pinned = [DeviceChoice(s, label, True) for s, label in self._pinned.items()
                  if s not in listed]
        self.device.blockSignals(True)
        try:
            self.device.clear()
            self.device.addItem(self.tr("No device"), "")
            model = self.device.model()
            for choice in [*devices, *pinned]:
                self.device.addItem(choice.label, choice.serial or None)
                row = self.device.count() - 1
                if choice.hint:
                    self.device.setItemData(row, choice.hint, Qt.ItemDataRole.ToolTipRole)
                if not choice.ready and isinstance(model, QStandardItemModel):
                    item = model.item(row)
                    if item is not None:
                        item.setEnabled(False)
            want = self._wanted_device or current
            index = self.device.findData(want) if want else 0
            self.device.setCurrentIndex(max(0, index))
        finally:
            self.device.blockSignals(False)

    def _device_picked(self, row: int) -> None:
        self._wanted_device = str(self.device.itemData(row) or "")

    def set_recent_repos(self, repos: list[str]) -> None:
        self.repo.clear()
        for r in repos[:MAX_RECENT]:
            self.repo.addItem(r)

    def recent_repos(self) -> list[str]:
        """The current repo first, then the others, de-duplicated."""
        current = self.repo.currentText().strip()
        others = [self.repo.itemText(i) for i in range(self.repo.count())]
        out: list[str] = []
        for r in [current, *others]:
            if r and r not in out:
                out.append(r)
        return out[:MAX_RECENT]

    def set_default_model(self, model: str) -> None:
        if model:
            index = self.model.findData(model)
            if index < 0:
                self.model.addItem(model, model)
                index = self.model.count() - 1
            self.model.setCurrentIndex(index)

    def options(self) -> RunOptions:
        device = self.device.currentData()
        engine = str(self.engine.currentData() or "") or None
        return RunOptions(model=_choice(self.model), device=str(device) if device else None,
                          engine=engine)

    def repo_path(self) -> Path | None:
        text = self.repo.currentText().strip()
        return Path(text).expanduser() if text else None

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def clear_request(self) -> None:
        self.request.clear()
        self.show_error("")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, self.tr("Choose the repository"),
                                                  self.repo.currentText())
        if folder:
            self.repo.setCurrentText(folder)


def _choice(combo: QComboBox) -> str | None:
    """An item's data when the text names an item ("No device" means None), else the text."""
    text = combo.currentText().strip()
    index = combo.findText(text)
    if index >= 0:
        return str(combo.itemData(index) or "") or None
    return text or None


class FollowUp(QWidget):
    """One line under the diff: what the selected change allows now (its state, in words)
    and a follow-up message that revises it (Ctrl+Enter sends)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("followUp")
        self.change_id: str | None = None
        self.state: ChangeState | None = None
        self.label = QLabel()
        self.label.setObjectName("followUpStatus")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setMinimumWidth(0)
        # Shrinks with the window (the text is the tooltip too) instead of holding it wide.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("followUpEdit")
        self.edit.setAccessibleName(self.tr("Follow-up message"))
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(self.edit.fontMetrics().height() + 14)
        self.edit.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # one line
        self.edit.setPlaceholderText(self.tr("Ask for a revision… (Ctrl+Enter)"))
        self.button = QPushButton(self.tr("Revise"))
        self.button.setObjectName("reviseButton")
        self.button.setAccessibleName(self.tr("Send follow-up"))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(self.label, 2)
        row.addWidget(self.edit, 3)
        row.addWidget(self.button)
        self.set_change(None, running=False)

    def set_change(self, change_id: str | None, *, running: bool,
                   state: ChangeState | None = None) -> None:
        """Say what ``change_id`` (in ``state``) allows; ``running``: busy in this window."""
        self.change_id, self.state = change_id, state
        self.setVisible(change_id is not None)
        text, revisable = _follow_up_status(state, running=running)
        self.edit.setEnabled(revisable)
        self.button.setEnabled(revisable)
        self.edit.setVisible(revisable)
        self.button.setVisible(revisable)
        self.label.setText(self.tr(text).format(id=change_id))
        self.label.setToolTip(self.label.text())

    @property
    def status(self) -> str:
        """The state line shown (what the screenshot tests read)."""
        return self.label.text()


# What a resting change allows, said under the diff: (text, whether a follow-up can be sent).
_RESTING = {
    ChangeState.AWAITING_APPROVAL: ("Change {id} awaits your approval; or ask for changes:", True),
    ChangeState.COMMITTED: ("Change {id} is committed; ask for changes:", True),
    ChangeState.MERGED: ("Change {id} is merged; start a new request to change more", False),
    ChangeState.REJECTED: ("Change {id} was rejected; start a new request", False),
    ChangeState.FAILED: ("Change {id} failed; a follow-up runs it again:", True),
    ChangeState.CANCELLED: ("Change {id} was cancelled; a follow-up runs it again:", True),
    ChangeState.INTERRUPTED: ("Change {id} was interrupted; a follow-up runs it again:", True),
}


def _follow_up_status(state: ChangeState | None, *, running: bool) -> tuple[str, bool]:
    """(what to say, whether a follow-up can be sent) for a change in ``state``."""
    if state is ChangeState.MERGING:
        return "Change {id} is merging…", False
    if running or (state is not None and state.is_running):
        return "Change {id} is running; cancel it (Esc) to revise", False
    return _RESTING.get(state, ("Follow-up for change {id}:", True)) if state else (
        "Follow-up for change {id}:", True)
