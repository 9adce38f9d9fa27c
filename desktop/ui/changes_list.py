"""The changes list: one row per change with a state badge, repo, who asked (when not the
person at this desk, e.g. "slack:Ana"), age and cost."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QPainter, QPalette
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.stages import ChangeState
from desktop.core.state import ChangeView

__all__ = ["BADGES", "ChangesList", "ChangesModel", "age_text"]

VIEW_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
Index = QModelIndex | QPersistentModelIndex


def _tr(text: str) -> str:
    return QCoreApplication.translate("changes", text)


# state -> (label, colour); colours read on light and dark backgrounds alike.
BADGES: dict[ChangeState, tuple[str, str]] = {
    ChangeState.QUEUED: ("queued", "#6b7280"),
    ChangeState.AGENT_RUNNING: ("agent running", "#2563eb"),
    ChangeState.VERIFYING: ("verifying", "#7c3aed"),
    ChangeState.COMMITTING: ("committing", "#7c3aed"),
    ChangeState.JUDGING: ("judging", "#7c3aed"),
    ChangeState.BUILDING: ("building", "#0891b2"),
    ChangeState.INSTALLING: ("installing", "#0891b2"),
    ChangeState.AWAITING_APPROVAL: ("awaiting approval", "#d97706"),
    ChangeState.MERGING: ("merging", "#0d9488"),
    ChangeState.COMMITTED: ("ready for review", "#16a34a"),
    ChangeState.MERGED: ("merged", "#15803d"),
    ChangeState.FAILED: ("failed", "#dc2626"),
    ChangeState.CANCELLED: ("cancelled", "#6b7280"),
    ChangeState.REJECTED: ("rejected", "#6b7280"),
    ChangeState.INTERRUPTED: ("interrupted", "#b45309"),
}


def age_text(seconds: float) -> str:
    if seconds < 60:
        return _tr("just now")
    if seconds < 3600:
        return _tr("{n} min ago").format(n=int(seconds // 60))
    if seconds < 86400:
        return _tr("{n} h ago").format(n=int(seconds // 3600))
    return _tr("{n} d ago").format(n=int(seconds // 86400))


class ChangesModel(QAbstractListModel):
    """Changes, newest first; ``upsert`` keeps rows in place as their state moves."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[ChangeView] = []
        self._row_of: dict[str, int] = {}
        self.queued: set[str] = set()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 (Qt signature)
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        view = self._rows[index.row()]
        if role == VIEW_ROLE:
            return view
        if role == ID_ROLE:
            return view.id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            asked = f" — {_tr('asked by {who}').format(who=view.requested_by)}" \
                if view.requested_by else ""
            return f"{view.request.splitlines()[0] if view.request else view.id} — {self.badge(view)[0]}{asked}"
        if role == Qt.ItemDataRole.ToolTipRole:
            asked = (f"\n{_tr('Asked by {who}').format(who=view.requested_by)}"
                     if view.requested_by else "")
            return f"{view.id} · {view.branch}\n{view.request}{asked}"
        return None

    def badge(self, view: ChangeView) -> tuple[str, str]:
        if view.state is ChangeState.QUEUED and view.id in self.queued:
            return _tr("queued — waiting for a slot"), BADGES[ChangeState.QUEUED][1]
        label, colour = BADGES.get(view.state, (view.state.value, "#6b7280"))
        return _tr(label), colour

    def upsert(self, view: ChangeView) -> QModelIndex:
        row = self._row_of.get(view.id)
        if row is None:
            # Newest first: a new change goes on top unless it is older than the rest.
            row = 0 if not self._rows or view.created_at >= self._rows[0].created_at else len(self._rows)
            self.beginInsertRows(QModelIndex(), row, row)
            self._rows.insert(row, view)
            self._row_of = {v.id: i for i, v in enumerate(self._rows)}
            self.endInsertRows()
        else:
            self._rows[row] = view
            idx = self.index(row)
            self.dataChanged.emit(idx, idx)
        return self.index(row)

    def refresh(self) -> None:
        """Repaint every row (ages and queue badges move without events)."""
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def row_of(self, change_id: str) -> int | None:
        return self._row_of.get(change_id)


class _Delegate(QStyledItemDelegate):
    """Two lines: the request, then a coloured badge, repo, who asked, age and cost."""

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        height = option.fontMetrics.height()
        # As wide as the column, whatever it is: the request is elided to fit, never scrolled.
        return QSize(1, height * 2 + 22)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        view = index.data(VIEW_ROLE)
        model = index.model()
        if not isinstance(view, ChangeView):
            return
        source = model.sourceModel() if isinstance(model, QSortFilterProxyModel) else model
        assert isinstance(source, ChangesModel)
        painter.save()
        palette = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        if selected:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.Highlight))
        elif option.state & QStyle.StateFlag.State_MouseOver:
            painter.fillRect(option.rect, palette.color(QPalette.ColorRole.AlternateBase))
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        fm = option.fontMetrics
        r = option.rect.adjusted(10, 6, -10, -6)
        title = view.request.splitlines()[0] if view.request else view.id
        bold = QFont(option.font)
        bold.setWeight(QFont.Weight.DemiBold)
        painter.setFont(bold)
        painter.setPen(palette.color(text_role))
        painter.drawText(QRect(r.left(), r.top(), r.width(), fm.height()),
                         Qt.AlignmentFlag.AlignLeft, fm.elidedText(title, Qt.TextElideMode.ElideRight, r.width()))
        label, colour = source.badge(view)
        small = QFont(option.font)
        small.setPointSizeF(max(7.0, option.font.pointSizeF() - 1))
        painter.setFont(small)
        sfm = painter.fontMetrics()
        y = r.top() + fm.height() + 4
        badge = QRect(r.left(), y, sfm.horizontalAdvance(label) + 12, sfm.height() + 2)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawRoundedRect(badge, 7, 7)
        painter.setPen(QColor("#ffffff"))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, label)
        meta = "  ·  ".join(x for x in (
            Path(view.repo).name if view.repo else "",
            view.requested_by,
            age_text(time.time() - view.created_at) if view.created_at else "",
            f"${view.cost_usd:.2f}" if view.cost_usd else "",
        ) if x)
        muted = palette.color(text_role)
        muted.setAlphaF(0.7)
        painter.setPen(muted)
        rest = QRect(badge.right() + 8, y, r.right() - badge.right() - 8, sfm.height() + 2)
        painter.drawText(rest, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         sfm.elidedText(meta, Qt.TextElideMode.ElideRight, rest.width()))
        painter.restore()


class ChangesList(QWidget):
    """Filter box, the list, and the concurrency line (running / limit, queued)."""

    selected = Signal(str)  # change id, "" when nothing is selected

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("changesList")
        self.model = ChangesModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterRole(Qt.ItemDataRole.ToolTipRole)
        self.filter = QLineEdit()
        self.filter.setObjectName("changesFilter")
        self.filter.setPlaceholderText(self.tr("Filter changes"))
        self.filter.setAccessibleName(self.tr("Filter changes"))
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QListView()
        self.view.setObjectName("changesView")
        self.view.setAccessibleName(self.tr("Changes"))
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(_Delegate(self.view))
        self.view.setMouseTracking(True)
        self.view.setUniformItemSizes(True)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.selectionModel().currentChanged.connect(self._on_current)
        self.capacity = QLabel()
        self.capacity.setObjectName("capacity")
        self.capacity.setAccessibleName(self.tr("Concurrent runs"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.filter)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.capacity)
        self.set_capacity(0, 0, 2)

    def upsert(self, view: ChangeView) -> None:
        self.model.upsert(view)

    def set_capacity(self, running: int, queued: int, limit: int) -> None:
        text = self.tr("Running {running} of {limit}").format(running=running, limit=limit)
        if queued:
            text += self.tr(" · {n} queued").format(n=queued)
        self.capacity.setText(text)

    def current_id(self) -> str | None:
        idx = self.view.currentIndex()
        value = idx.data(ID_ROLE) if idx.isValid() else None
        return str(value) if value else None

    def select(self, change_id: str) -> bool:
        row = self.model.row_of(change_id)
        if row is None:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row))
        if not idx.isValid():
            self.filter.clear()
            idx = self.proxy.mapFromSource(self.model.index(row))
        self.view.setCurrentIndex(idx)
        self.view.scrollTo(idx)
        return True

    def step(self, delta: int) -> None:
        count = self.proxy.rowCount()
        if not count:
            return
        idx = self.view.currentIndex()
        row = (idx.row() + delta) if idx.isValid() else 0
        self.view.setCurrentIndex(self.proxy.index(max(0, min(count - 1, row)), 0))

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        value = current.data(ID_ROLE) if current.isValid() else None
        self.selected.emit(str(value) if value else "")
