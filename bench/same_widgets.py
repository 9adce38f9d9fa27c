"""A second floor for start-up: Honk's complete window rebuilt with plain PySide6.

    python bench/same_widgets.py STYLESHEET [--count]

No Honk code runs: the same kinds and numbers of widgets as Honk's window once complete
(counted with ``findChildren``: labels, buttons, text edits, combos, splitters, a list with a
painting delegate over a filter proxy, a file tree, a scroll area, 28 actions with shortcuts
in four menus and a toolbar, a status bar and a tray icon), under Honk's stylesheet, at the
same size. It prints ``HONK_FIRST_PAINT <unix time> <CPU s>`` after its first paint, as the
bare window does. What PySide6 alone needs to show this window is the part of Honk's start-up
that no Honk code can remove; ``--count`` prints the widget count instead and quits.
"""

from __future__ import annotations

import sys
import time
from collections import Counter

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QAction, QFont, QKeySequence, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QSystemTrayIcon,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

MARK = "HONK_FIRST_PAINT"
STAGES = ("agent", "verify", "judge", "build", "install", "approve", "merge")
Index = QModelIndex | QPersistentModelIndex


class _Rows(QAbstractListModel):
    def __init__(self, rows: list[str]) -> None:
        super().__init__()
        self.rows = rows

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt's default)
        return len(self.rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return self.rows[index.row()] if role == Qt.ItemDataRole.DisplayRole else None


class _Badge(QStyledItemDelegate):
    """Paints each row itself, as Honk's changes list does."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        painter.save()
        painter.drawText(option.rect.adjusted(8, 4, -8, -4), str(index.data()))
        painter.restore()


def _column(parent: QWidget, *widgets: QWidget) -> QVBoxLayout:
    box = QVBoxLayout(parent)
    for widget in widgets:
        box.addWidget(widget)
    return box


def build(window: QMainWindow) -> None:
    """Honk's complete window, widget for widget, without Honk."""
    main = QSplitter(Qt.Orientation.Horizontal)
    left = QWidget(main)
    changes = QListView()
    proxy = QSortFilterProxyModel(changes)
    proxy.setSourceModel(_Rows([f"change {i}: the play button overlaps the title"
                                for i in range(5)]))
    changes.setModel(proxy)
    changes.setItemDelegate(_Badge(changes))
    _column(left, QLineEdit(placeholderText="Filter"), changes, QLabel("Running 0 of 2"))
    center = QWidget(main)
    col = QVBoxLayout(center)
    stage_bar = QWidget()
    chips = QHBoxLayout(stage_bar)
    for name in STAGES:
        chips.addWidget(QLabel(name))
    progress = QProgressBar()
    progress.hide()
    chips.addWidget(progress)
    col.addWidget(stage_bar)
    work = QSplitter(Qt.Orientation.Horizontal)
    col.addWidget(work, 1)
    diff = QWidget(work)
    files_and_text = QSplitter(Qt.Orientation.Horizontal)
    files = QTreeWidget(files_and_text)
    QTreeWidgetItem(files, ["app/src/main/res/layout/player.xml"])
    text = QPlainTextEdit(files_and_text)
    text.setReadOnly(True)
    text.setFont(QFont("monospace"))
    pages = QStackedWidget()
    pages.addWidget(files_and_text)
    pages.addWidget(QPlainTextEdit(readOnly=True))  # the side-by-side page
    _column(diff, QLabel("diff"), pages, QLabel("+12 -3"))
    side = QSplitter(Qt.Orientation.Vertical, work)
    evidence = QScrollArea(side)
    panel = QWidget()
    facts = [QLabel(f"fact {i}", wordWrap=True) for i in range(14)]
    buttons = [QPushButton(name) for name in ("Approve", "Request changes", "Reject", "Install")]
    reason = QPlainTextEdit(placeholderText="What should change?")
    _column(panel, *facts, reason, *buttons)
    evidence.setWidget(panel)
    evidence.setWidgetResizable(True)
    phone = QWidget(side)
    _column(phone, QLabel("Phone"), QLabel(), QLabel("caption"), QPushButton("Screenshot"))
    log = QWidget(side)
    _column(log, QLabel("Transcript"), QPlainTextEdit(readOnly=True))
    follow_up = QWidget(center)
    row = QHBoxLayout(follow_up)
    row.addWidget(QPlainTextEdit())
    row.addWidget(QPushButton("Revise"))
    follow_up.hide()
    composer = QWidget(center)
    options = QHBoxLayout()
    for choices in (("claude-sonnet", "claude-opus"), ("Messages API", "Claude Code"),
                    ("Virtual phone",), ("~/src/app",)):
        combo = QComboBox()
        combo.addItems(list(choices))
        options.addWidget(combo)
    options.addWidget(QCheckBox("Remote build"))
    options.addWidget(QPushButton("Send"))
    box = _column(composer, QLabel("Request"), QPlainTextEdit(), QLabel(""))
    box.addLayout(options)
    for label in range(9):
        box.addWidget(QLabel(f"hint {label}"))
    for label in range(4):  # the errors and notices Honk keeps hidden until needed
        hidden = QLabel(f"notice {label}")
        hidden.hide()
        box.addWidget(hidden)
    col.addWidget(follow_up)
    col.addWidget(composer)
    window.setCentralWidget(main)
    menus = [window.menuBar().addMenu(title) for title in ("&File", "&Change", "&Go", "&View")]
    toolbar = QToolBar("Actions")
    window.addToolBar(toolbar)
    for i in range(28):
        action = QAction(f"Action {i}", window)
        action.setShortcut(QKeySequence(f"Ctrl+Shift+{chr(ord('A') + i % 26)}"))
        menus[i % len(menus)].addAction(action)
        window.addAction(action)
        if i < 9:
            toolbar.addAction(action)
    tray = QSystemTrayIcon(window)
    tray.setContextMenu(QMenu(window))
    window.statusBar().addPermanentWidget(QLabel(""))


class _FirstPaint(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app, self.seen = app, False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            QTimer.singleShot(0, self.report)
        return False

    def report(self) -> None:
        print(MARK, time.time(), time.process_time(), flush=True)
        self.app.quit()


def main(argv: list[str]) -> int:
    app = QApplication(argv[:1])
    with open(argv[1], encoding="utf-8") as qss:
        app.setStyleSheet(qss.read())
    window = QMainWindow()
    window.resize(1280, 800)
    build(window)
    if "--count" in argv:
        print(sum(Counter(type(w).__name__ for w in window.findChildren(QWidget)).values()))
        return 0
    first_paint = _FirstPaint(app)
    window.installEventFilter(first_paint)
    window.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
