"""The live diff: a file tree with +/- counts and a unified or side-by-side pane.

Streaming edits form in place at the lines they replace (or, when that is not known, after
the diff) in a distinct (italic, tinted) style, and are replaced by the applied diff when
the edit lands. The view follows the newest edit until the person scrolls or picks a file;
scrolling back to the bottom resumes following. Pacing the streaming edit and landing it
is ``diff_live``'s job, drawing it ``diff_preview``'s; the tree is ``diff_tree``'s and the
rows' gutters ``diff_rows``'.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QLabel,
    QSplitter,
    QStackedWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.core.events import EditApplied, EditPreview, EditRejected, Event
from desktop.ui.diff_live import FOLLOW_MS, GROW_MS, LiveEdit
from desktop.ui.diff_model import (
    ChangeDiff,
    DiffRow,
    FileEntry,
    Placement,
    parse_unified,
    split_rows_at,
)
from desktop.ui.diff_pane import DiffPane
from desktop.ui.diff_preview import (
    Forming,
    Placements,
    PreviewPainter,
    TextSource,
    coalesce_previews,
)
from desktop.ui.diff_rows import split_lines, unified_lines
from desktop.ui.diff_tree import PATH_ROLE, FileTree

__all__ = ["DiffView", "coalesce_previews"]


class DiffView(QWidget, LiveEdit):
    """Shows one change's diff at a time; keeps every change's state for instant switching."""

    file_shown = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("diffView")
        self.diffs: dict[str, ChangeDiff] = {}
        self.change_id: str | None = None
        self.shown_path: str | None = None
        self.mode = "unified"
        self.follow = True
        self._forming: Forming | None = None
        self._places = Placements(self._still_streaming, self._text_arrived)
        self._follow_target: tuple[DiffPane, int] | None = None
        self._follow_timer = QTimer(self)
        self._follow_timer.setSingleShot(True)
        self._follow_timer.setInterval(FOLLOW_MS)
        self._follow_timer.timeout.connect(self._follow_now)
        self._pending: list[str] = []  # streamed text not in the pane yet (see ``_grow``)
        self._grow_timer = QTimer(self)
        self._grow_timer.setSingleShot(True)
        self._grow_timer.setInterval(GROW_MS)
        self._grow_timer.timeout.connect(self._grow_tick)

        self.tree = FileTree()
        self.tree.currentItemChanged.connect(self._on_tree_pick)
        self.title = QLabel(self.tr("No change selected"))
        self.title.setObjectName("diffTitle")
        self.unified = DiffPane(14)
        self.unified.setAccessibleName(self.tr("Unified diff"))
        self.left, self.right = DiffPane(8), DiffPane(8)
        self.left.setAccessibleName(self.tr("Before"))
        self.right.setAccessibleName(self.tr("After"))
        self._painter = PreviewPainter(self.unified, self.left, self.right, self.tr)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.left)
        split.addWidget(self.right)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.unified)
        self.stack.addWidget(split)
        self._link_scrollbars()
        for pane in (self.unified, self.left, self.right):
            pane.verticalScrollBar().actionTriggered.connect(self._on_user_scroll)

        right_side = QWidget()
        col = QVBoxLayout(right_side)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.title)
        col.addWidget(self.stack, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("diffSplitter")
        self.splitter.addWidget(self.tree)
        self.splitter.addWidget(right_side)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setSizes([190, 810])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

    @property
    def text_source(self) -> TextSource | None:
        """Reads a file of a change's worktree (the bridge's ``file_text``); the view never
        reads files itself. Without it, str_replace/insert previews show after the diff."""
        return self._places.text_source

    @text_source.setter
    def text_source(self, source: TextSource | None) -> None:
        self._places.text_source = source

    @property
    def _placed(self) -> dict[str, Placement | None]:
        return self._places.placed

    # -- feeding -----------------------------------------------------------------------
    def on_events(self, batch: Iterable[Event]) -> None:
        """Fold a batch of events (any change) in; update the screen for the shown one."""
        for event in coalesce_previews(batch):
            if not isinstance(event, EditPreview | EditApplied | EditRejected):
                continue
            diff = self.diffs.setdefault(event.change, ChangeDiff())
            before = diff.previews.get(event.tool_use_id) if isinstance(event, EditApplied) else None
            path = diff.apply(event)
            if not isinstance(event, EditPreview):
                self._places.forget(event.tool_use_id)
            if event.change != self.change_id or path is None:
                continue
            if isinstance(event, EditPreview):
                self._on_preview(event, diff.files[path])
            else:
                self._on_landed(path, before)

    def load(self, change_id: str, events: Iterable[Event]) -> None:
        """Rebuild a change's diff from its journalled events (after a restart)."""
        diff = ChangeDiff()
        for event in events:
            diff.apply(event)
        self.diffs[change_id] = diff
        if change_id == self.change_id:
            self.show_change(change_id)

    def show_change(self, change_id: str | None) -> None:
        """Show ``change_id``'s files, the one with a streaming edit first; follow it."""
        self.change_id = change_id
        self.follow = True
        diff = self.diffs.get(change_id or "")
        self.tree.rebuild(diff.files.values() if diff else ())
        files = list(diff.files) if diff else []
        self._fit_tree()
        live = [p for p in files if diff and diff.files[p].preview]
        self._show_file(live[-1] if live else (files[0] if files else None))

    # -- navigation --------------------------------------------------------------------
    def next_file(self, step: int = 1) -> None:
        files = self._file_order()
        if not files:
            return
        i = files.index(self.shown_path) if self.shown_path in files else -1
        self.follow = False
        self._show_file(files[(i + step) % len(files)])

    def prev_file(self) -> None:
        self.next_file(-1)

    def next_hunk(self, step: int = 1) -> None:
        pane = self.unified if self.mode == "unified" else self.left
        if not pane.hunks:
            return
        here = pane.textCursor().blockNumber()
        after = [h for h in pane.hunks if (h > here if step > 0 else h < here)]
        target = (after[0] if step > 0 else after[-1]) if after else pane.hunks[0 if step > 0 else -1]
        self.follow = False
        for p in self._panes():
            p.scroll_to_block(target)

    def prev_hunk(self) -> None:
        self.next_hunk(-1)

    def toggle_mode(self) -> None:
        self.set_mode("split" if self.mode == "unified" else "unified")

    def set_mode(self, mode: str) -> None:
        self.mode = "split" if mode == "split" else "unified"
        self._painter.is_unified = self.mode == "unified"
        self.stack.setCurrentIndex(0 if self.mode == "unified" else 1)
        self._show_file(self.shown_path)

    # -- rendering ---------------------------------------------------------------------
    def _panes(self) -> tuple[DiffPane, ...]:
        return (self.unified,) if self.mode == "unified" else (self.left, self.right)

    def _show_file(self, path: str | None) -> None:
        self.shown_path = path
        self._painter.appending = None
        self._forming = None
        self._pending.clear()  # the model holds it: rendering below shows it all
        for pane in self._panes():
            pane.reset(path or "")
        entry = self._entry(path)
        if entry is None:
            self.title.setText(self.tr("No edits yet") if self.change_id else
                               self.tr("No change selected"))
        else:
            self.title.setText(f"{entry.path}   +{entry.added} −{entry.removed}")
            self._render(entry)
            self.tree.select(entry.path)
        self.file_shown.emit(path or "")

    def _render(self, entry: FileEntry) -> None:
        preview = entry.preview
        place = self._places.place(preview, self.change_id) if preview else None
        rows: list[DiffRow] = []
        if place is not None and place.whole_file:
            pass  # create: the new file is all there is, whatever was there before
        elif entry.binary or entry.large:
            # Not rendered line by line; an edit placed in it shows as its own hunk below.
            kind = self.tr("Binary file") if entry.binary else self.tr("Large diff")
            note = self.tr("{kind}: +{a} −{r} lines, not shown line by line").format(
                kind=kind, a=entry.added, r=entry.removed)
            for pane in self._panes():
                pane.add_lines([("note", "", note)])
        elif entry.diff:
            rows = parse_unified(entry.diff)
        if preview is None or place is None:
            self._render_rows(rows)
            if preview is not None:
                self._painter.append_all(preview)
            if self.follow:
                for pane in self._panes():
                    pane.scroll_to_bottom()
            return
        cut = split_rows_at(rows, place.line)
        self._render_rows(rows[:cut])
        self._forming = self._painter.form_in_place(preview, place)
        self._render_rows(rows[cut:])
        if self.follow:
            block = self._forming.cursor.blockNumber()
            for p in self._panes():
                p.scroll_to_block(max(0, block - 8))

    def _render_rows(self, rows: list[DiffRow]) -> None:
        if not rows:
            return
        if self.mode == "unified":
            self.unified.add_lines(unified_lines(rows))
        else:
            lefts, rights = split_lines(rows)
            self.left.add_lines(lefts)
            self.right.add_lines(rights)

    # -- the file tree -----------------------------------------------------------------
    def _fit_tree(self) -> None:
        """The tree only when there is a choice to make: one file needs no list beside it,
        and the diff gets the room (its title names the file)."""
        diff = self.diffs.get(self.change_id or "")
        self.tree.setVisible(diff is not None and len(diff.files) > 1)

    def _entry(self, path: str | None) -> FileEntry | None:
        diff = self.diffs.get(self.change_id or "")
        return diff.files.get(path) if diff and path else None

    def _file_order(self) -> list[str]:
        diff = self.diffs.get(self.change_id or "")
        files = set(diff.files) if diff else set()
        return sorted(p for p in self.tree.items if p in files)

    def _on_tree_pick(self, item: QTreeWidgetItem | None, _prev: object) -> None:
        path = item.data(0, PATH_ROLE) if item else None
        if path:
            self.follow = False
            self._show_file(str(path))

    # -- the OS theme ------------------------------------------------------------------
    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            # After the panes took their new colours (they hear of it too): draw again.
            QTimer.singleShot(0, self._redraw)
        super().changeEvent(event)

    def _redraw(self) -> None:
        self.tree.recolour()
        follow = self.follow
        self._show_file(self.shown_path)
        self.follow = follow

    # -- following ---------------------------------------------------------------------
    def _link_scrollbars(self) -> None:
        a, b = self.left.verticalScrollBar(), self.right.verticalScrollBar()
        a.valueChanged.connect(b.setValue)
        b.valueChanged.connect(a.setValue)

    def _on_user_scroll(self, _action: int) -> None:
        # The value changes after actionTriggered; judge the position once it has.
        QTimer.singleShot(0, self._judge_follow)

    def _judge_follow(self) -> None:
        pane = self.unified if self.mode == "unified" else self.right
        self.follow = pane.at_bottom()
