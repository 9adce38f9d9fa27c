"""The diff view's file tree: one row per touched file (+/- counts), one per folder path."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSignalBlocker, Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem, QWidget

from desktop.ui.diff_model import FileEntry
from desktop.ui.theme import accents

__all__ = ["PATH_ROLE", "FileTree"]

PATH_ROLE = Qt.ItemDataRole.UserRole


class FileTree(QTreeWidget):
    """Files of the shown change; an italic name is a file with an edit still streaming."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffFiles")
        self.setAccessibleName(self.tr("Changed files"))
        self.setColumnCount(3)
        self.setHeaderLabels([self.tr("File"), "+", "−"])
        self.setRootIsDecorated(True)
        self.setUniformRowHeights(True)
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.items: dict[str, QTreeWidgetItem] = {}  # by path; folders end with "/"
        self._shown: dict[str, tuple[int, int, bool]] = {}  # what each file's row says

    def rebuild(self, entries: Iterable[FileEntry]) -> None:
        """Show exactly ``entries``, without signalling a pick."""
        with QSignalBlocker(self):
            self.clear()
            self.items = {}
            self._shown = {}
            for entry in entries:
                self.update_entry(entry)

    def update_entry(self, entry: FileEntry) -> None:
        """Add or refresh ``entry``'s row (counts, streaming mark, tooltip)."""
        streaming = entry.preview is not None
        shown = (entry.added, entry.removed, streaming)
        item = self.items.get(entry.path)
        if item is None:
            item = self._new_item(entry.path)
        elif self._shown.get(entry.path) == shown:
            return  # asked per streamed batch: a changed row re-sizes columns and repaints
        self._shown[entry.path] = shown
        font = QFont(item.font(0))
        font.setItalic(streaming)
        item.setFont(0, font)
        item.setText(1, f"+{entry.added}")
        item.setText(2, f"−{entry.removed}")
        self._colour(item)
        tip = self.tr("{path}: +{a} −{r}").format(path=entry.path, a=entry.added, r=entry.removed)
        item.setToolTip(0, tip + (self.tr(" (edit streaming)") if streaming else ""))

    def _colour(self, item: QTreeWidgetItem) -> None:
        hues = accents(self.palette())
        item.setForeground(1, QColor(hues.added))
        item.setForeground(2, QColor(hues.removed))

    def recolour(self) -> None:
        """The +/- counts in the current scheme's hues (after a light/dark switch)."""
        for path, item in self.items.items():
            if not path.endswith("/"):
                self._colour(item)

    def remove(self, path: str) -> None:
        item = self.items.pop(path, None)
        self._shown.pop(path, None)
        if item is not None:
            (item.parent() or self.invisibleRootItem()).removeChild(item)

    def select(self, path: str) -> None:
        """Make ``path``'s row current without signalling a pick."""
        item = self.items.get(path)
        if item is not None:
            with QSignalBlocker(self):
                self.setCurrentItem(item)

    def _new_item(self, path: str) -> QTreeWidgetItem:
        # One folder row per directory path (as review tools do), so deep trees stay readable.
        folder_path, _, name = path.rpartition("/")
        parent: QTreeWidgetItem | None = None
        if folder_path:
            key = folder_path + "/"
            parent = self.items.get(key)
            if parent is None:
                parent = QTreeWidgetItem([key])
                parent.setToolTip(0, key)
                self.addTopLevelItem(parent)
                parent.setExpanded(True)
                self.items[key] = parent
        item = QTreeWidgetItem([name])
        item.setData(0, PATH_ROLE, path)
        (parent.addChild(item) if parent else self.addTopLevelItem(item))
        self.items[path] = item
        return item
