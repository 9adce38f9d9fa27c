"""What the main window shows before its widgets exist: the frame at its saved geometry and
a skeleton of its layout, so the first paint comes before the agent stack has loaded.

Only PySide6 here: this module is imported before anything heavy."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

__all__ = ["StartupSkeleton", "restore_geometry"]


class _Placed(Protocol):
    def restoreGeometry(self, geometry: QByteArray | bytes | bytearray | memoryview) -> bool: ...


def restore_geometry(window: _Placed, settings: QSettings) -> None:
    """Put the window where the person left it (before it is first shown, so it never jumps)."""
    if (geometry := settings.value("window/geometry")) is not None:
        window.restoreGeometry(geometry)


class StartupSkeleton(QWidget):
    """The layout's outline: the changes column and the work area, each saying it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("startupSkeleton")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 8, 8, 8)
        row.setSpacing(8)
        row.addWidget(self._panel(self.tr("Loading your changes…"), min_width=300), 0)
        work = QVBoxLayout()
        work.addWidget(self._panel(""), 1)
        work.addWidget(self._panel(self.tr("Starting Honk…")), 0)
        row.addLayout(work, 1)
        self.setAccessibleName(self.tr("Honk is starting"))

    @staticmethod
    def _panel(text: str, min_width: int = 0) -> QFrame:
        panel = QFrame()
        panel.setFrameShape(QFrame.Shape.StyledPanel)
        label = QLabel(text, panel)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setEnabled(False)  # greyed: nothing here can be used yet
        box = QVBoxLayout(panel)
        box.addWidget(label)
        panel.setMinimumWidth(min_width)
        return panel
