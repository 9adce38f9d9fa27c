"""The stage bar: each stage of the change with its state and duration, and a progress
bar while long work runs (agent turns, build, install percent)."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QWidget

from desktop.core.events import Event, StageProgress
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView, StageView

__all__ = ["StageBar"]

_MARKS = {"pending": "○", "running": "◐", "done": "●", "failed": "✕", "waiting": "◆"}


def _seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {int(s % 60)} s"


class StageBar(QWidget):
    """One chip per stage; the chip's ``state`` property drives its style in style.qss."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stageBar")
        self.setAccessibleName(self.tr("Stages"))
        self.view: ChangeView | None = None
        self.chips: dict[Stage, QLabel] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.setSpacing(6)
        for stage in Stage:
            chip = QLabel()
            chip.setObjectName("stageChip")
            chip.setProperty("state", "pending")
            chip.setMinimumWidth(1)  # a longer duration squeezes the row, never widens the window
            self.chips[stage] = chip
            layout.addWidget(chip)
        layout.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setObjectName("stageProgress")
        self.progress.setAccessibleName(self.tr("Progress of the running stage"))
        self.progress.setMinimumWidth(60)
        self.progress.setMaximumWidth(180)
        self.progress.setTextVisible(True)
        self.progress.hide()
        layout.addWidget(self.progress)
        self._timer = QTimer(self)  # running stages show a live duration
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self.show_view(None)

    def show_view(self, view: ChangeView | None) -> None:
        changed = view is None or self.view is None or view.id != self.view.id
        self.view = view
        # the last record of each stage wins (a stage runs again in a later round)
        latest: dict[Stage, StageView] = {s.stage: s for s in (view.stages if view else ())}
        for stage, chip in self.chips.items():
            sv = latest.get(stage)
            state = sv.status if sv else "pending"
            if stage is Stage.APPROVAL and view and view.state is ChangeState.AWAITING_APPROVAL:
                state = "waiting"  # the stage rests here until a person decides
            text = f"{_MARKS[state]} {self.tr(stage.value)}"
            if sv and state not in ("running", "waiting"):
                text += f"  {_seconds(sv.seconds)}"
            elif sv:
                text += f"  {_seconds(max(0.0, time.time() - sv.started_at))}"
            if sv and sv.round > 1:
                text += f" ×{sv.round}"
            chip.setText(text)
            chip.setToolTip(sv.reason if sv and sv.reason else stage.value)
            chip.setAccessibleName(f"{stage.value}: {state}")
            if chip.property("state") != state:
                chip.setProperty("state", state)
                chip.style().unpolish(chip)
                chip.style().polish(chip)
        running = any(sv.status == "running" for sv in latest.values())
        if changed or not running:
            self.progress.hide()
        if running and not self.progress.isVisible():
            self.progress.setRange(0, 0)  # busy until a percent arrives
            self.progress.setFormat("")
            self.progress.show()
        if running:
            self._timer.start()
        else:
            self._timer.stop()

    def on_events(self, batch: list[Event]) -> None:
        view = self.view
        for event in batch:
            if view is None or event.change != view.id or not isinstance(event, StageProgress):
                continue
            self.progress.show()
            if event.percent is None:
                self.progress.setRange(0, 0)
            else:
                self.progress.setRange(0, 100)
                self.progress.setValue(int(event.percent))
            self.progress.setFormat(event.message or "%p%")
            self.progress.setToolTip(event.message)

    def _tick(self) -> None:
        self.show_view(self.view)
