"""The command palette (every action, searchable) and the shortcut cheat sheet."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.actions import ACTIONS

__all__ = ["CheatSheet", "CommandPalette"]

_NATIVE = QKeySequence.SequenceFormat.NativeText


def _keys(action: QAction) -> str:
    return "  ".join(s.toString(_NATIVE) for s in action.shortcuts())


class CommandPalette(QDialog):
    """Type to filter; Enter runs the highlighted action. Shortcuts in their own column."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("commandPalette")
        self.setWindowTitle(self.tr("Command palette"))
        self.actions_by_id = actions
        self.chosen: QAction | None = None
        self.search = QLineEdit()
        self.search.setPlaceholderText(self.tr("Type a command…"))
        self.search.setAccessibleName(self.tr("Search commands"))
        self.list = QTreeWidget()
        self.list.setAccessibleName(self.tr("Commands"))
        self.list.setColumnCount(2)
        self.list.setHeaderHidden(True)
        self.list.setRootIsDecorated(False)
        self.list.setIconSize(QSize(18, 18))
        self.list.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.list.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        blank = QPixmap(18, 18)
        blank.fill(Qt.GlobalColor.transparent)
        for row in ACTIONS:
            if row.id == "command_palette":
                continue
            action = actions[row.id]
            item = QTreeWidgetItem([action.text(), _keys(action)])
            item.setIcon(0, action.icon() if not action.icon().isNull() else QIcon(blank))
            item.setForeground(1, self.palette().placeholderText())
            item.setData(0, Qt.ItemDataRole.UserRole, row.id)
            self.list.addTopLevelItem(item)
        self.search.textChanged.connect(self._filter)
        self.search.returnPressed.connect(self._run_current)
        self.list.itemActivated.connect(lambda _item, _col: self._run_current())
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.resize(520, 420)
        self._filter("")

    def count(self) -> int:
        return self.list.topLevelItemCount()

    def _filter(self, text: str) -> None:
        words = text.lower().split()
        first = None
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            assert item is not None  # i is below the count
            hidden = not all(w in item.text(0).lower() for w in words)
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        # None (nothing matches) clears the current item; the stub does not allow None
        self.list.setCurrentItem(first)  # type: ignore[arg-type]

    def _run_current(self) -> None:
        item = self.list.currentItem()
        if item is None or item.isHidden():
            return
        self.chosen = self.actions_by_id[str(item.data(0, Qt.ItemDataRole.UserRole))]
        self.accept()


class CheatSheet(QDialog):
    """Every action and its shortcuts, from the one table."""

    def __init__(self, actions: dict[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cheatSheet")
        self.setWindowTitle(self.tr("Keyboard shortcuts"))
        table = QTableWidget(len(ACTIONS), 2)
        table.setAccessibleName(self.tr("Keyboard shortcuts"))
        table.setHorizontalHeaderLabels([self.tr("Action"), self.tr("Shortcut")])
        table.verticalHeader().hide()
        table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, row in enumerate(ACTIONS):
            action = actions[row.id]
            table.setItem(i, 0, QTableWidgetItem(action.text().replace("&", "")))
            table.setItem(i, 1, QTableWidgetItem(_keys(action)))
        table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.table = table
        layout = QVBoxLayout(self)
        layout.addWidget(table)
        self.resize(480, 560)
