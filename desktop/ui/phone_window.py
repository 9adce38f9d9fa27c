"""The demo's "Phone: Slack" window: a small read-only view of the demo channel and the
change's thread, a line to send ``/honk TEXT`` from the "phone", and Approve / Reject when
the approval reply carries them. Slack is the demo's loopback stand-in, reached only through
:class:`desktop.demo.phone.PhoneLeg`."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.demo.phone import PhoneButton, PhoneLeg, PhoneView

__all__ = ["POLL_MS", "PhoneWindow"]

POLL_MS = 300


class PhoneWindow(QWidget):
    """Polls ``leg`` every :data:`POLL_MS` on the loop; never blocks it."""

    def __init__(self, leg: PhoneLeg, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.leg = leg
        self.setWindowTitle("Phone: Slack")
        self.resize(360, 520)
        self.connection = QLabel("Slack: starting")
        self.conversation = QPlainTextEdit()
        self.conversation.setReadOnly(True)
        self.conversation.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.conversation.setPlaceholderText("Send /honk REQUEST; the thread appears here.")
        self.input = QLineEdit()
        self.input.setPlaceholderText("/honk …  (Enter sends)")
        self.input.setAccessibleName("Request to send from the phone")
        self.send_button = QPushButton("Send")
        self.approve_button = QPushButton("Approve")
        self.reject_button = QPushButton("Reject")
        self._buttons: dict[str, PhoneButton] = {}
        self._shown: PhoneView | None = None

        row = QHBoxLayout()
        row.addWidget(QLabel("/honk"))
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        choice = QHBoxLayout()
        choice.addWidget(self.approve_button)
        choice.addWidget(self.reject_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.connection)
        layout.addWidget(self.conversation, 1)
        layout.addLayout(choice)
        layout.addLayout(row)

        self.input.returnPressed.connect(self.send)
        self.send_button.clicked.connect(self.send)
        self.approve_button.clicked.connect(lambda: self.press("honk_approve"))
        self.reject_button.clicked.connect(lambda: self.press("honk_reject"))
        self._set_buttons(())
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.refresh)
        self.setTabOrder(self.input, self.send_button)

    def start(self) -> None:
        """Start the phone leg (on the running loop) and polling."""
        self.leg.start()
        self.input.setFocus()  # type and press Enter: no mouse needed
        self.timer.start()
        self.refresh()

    async def stop(self) -> None:
        self.timer.stop()
        await self.leg.stop()

    def send(self) -> None:
        text = self.input.text().strip().removeprefix("/honk").strip()
        if not text:
            return
        self.input.clear()
        self.leg.send(text)

    def press(self, action_id: str) -> None:
        button = self._buttons.get(action_id)
        if button is None:
            return
        self._set_buttons(())  # one tap; the reply will say what happened
        self.leg.press(button)

    def refresh(self) -> None:
        view = self.leg.view()
        self.connection.setText(f"Slack: {view.connection}")
        if self._shown is not None and view == self._shown:
            return
        if self._shown is None or view.lines != self._shown.lines:
            bar = self.conversation.verticalScrollBar()
            at_end = bar.value() >= bar.maximum() - 4
            self.conversation.setPlainText("\n".join(view.lines))
            if at_end:
                bar.setValue(bar.maximum())
        if self._shown is None or view.buttons != self._shown.buttons:
            self._set_buttons(view.buttons)
        self._shown = view

    def _set_buttons(self, buttons: tuple[PhoneButton, ...]) -> None:
        self._buttons = {b.action_id: b for b in buttons}
        for action_id, widget in (("honk_approve", self.approve_button),
                                  ("honk_reject", self.reject_button)):
            button = self._buttons.get(action_id)
            widget.setVisible(button is not None)
            if button is not None and button.label:
                widget.setText(button.label)
