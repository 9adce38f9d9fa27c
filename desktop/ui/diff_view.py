"""The live diff: a file tree with +/- counts and a unified or side-by-side pane.

Streaming edits form in place at the lines they replace (or, when that is not known, after
the diff) in a distinct (italic, tinted) style, and are replaced by the applied diff when
the edit lands. The view follows the newest edit until the person scrolls or picks a file;
scrolling back to the bottom resumes following. Drawing the streaming edit is
``diff_preview``'s job; the tree is ``diff_tree``'s.
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
from desktop.ui.diff_model import (
    ChangeDiff,
    DiffRow,
    FileEntry,
    Placement,
    Preview,
    parse_unified,
    side_by_side,
    split_rows_at,
)
from desktop.ui.diff_pane import DiffPane, Line
from desktop.ui.diff_preview import (
    PLACING_FIELDS,
    Forming,
    Placements,
    PreviewPainter,
    TextSource,
    coalesce_previews,
)
from desktop.ui.diff_tree import PATH_ROLE, FileTree

__all__ = ["DiffView", "coalesce_previews"]

FOLLOW_MS = 50  # a growing edit is scrolled into view at most this often (20 times a second)
GROW_MS = 40  # a forming edit's text goes into the pane at most this often (25 times a second)


def _n(value: int | None) -> str:
    return "" if value is None else str(value)


class DiffView(QWidget):
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
        # Streamed text of the forming edit not in the pane yet: every insert repaints the
        # pane, so text arriving faster than GROW_MS goes in together (see ``_grow``).
        self._pending: list[str] = []
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

    def flush(self) -> None:
        """Put the forming edit's text that is still held back into the pane now."""
        self._grow_timer.stop()
        self._flush_pending()

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
            signs = {"add": "+", "del": "-", "ctx": " "}
            self.unified.add_lines(
                (r.kind, "" if r.kind in ("hunk", "meta") else
                 f"{_n(r.old):>5} {_n(r.new):>5} {signs[r.kind]} ", r.text) for r in rows)
        else:
            lefts: list[Line] = []
            rights: list[Line] = []
            for old, new in side_by_side(rows):
                lefts.append(self._side(old, "del", old.old if old else None))
                rights.append(self._side(new, "add", new.new if new else None))
            self.left.add_lines(lefts)
            self.right.add_lines(rights)

    @staticmethod
    def _side(row: DiffRow | None, changed: str, number: int | None) -> Line:
        if row is None:
            return ("filler", "", "")
        if row.kind in ("hunk", "meta"):
            return (row.kind, "", row.text)
        sign = {"add": "+", "del": "-"}.get(row.kind, " ")
        kind = row.kind if row.kind in ("ctx", changed) else "ctx"
        return (kind, f"{_n(number):>5} {sign} ", row.text)

    # -- a streaming edit --------------------------------------------------------------
    def _still_streaming(self, change: str, tid: str) -> bool:
        diff = self.diffs.get(change)
        return diff is not None and tid in diff.previews

    def _text_arrived(self, change: str, tid: str) -> None:
        preview = self.diffs[change].previews[tid]
        if (change == self.change_id and preview.path == self.shown_path
                and self._places.place(preview, change) is not None):
            self._show_file(preview.path)

    def _on_preview(self, event: EditPreview, entry: FileEntry) -> None:
        if entry.path not in self.tree.items:
            self.tree.update_entry(entry)
            self._fit_tree()
        else:
            self.tree.update_entry(entry)
        if entry.path != self.shown_path:
            if self.follow:
                self._show_file(entry.path)  # renders the preview so far, this delta included
            return
        preview = entry.preview
        assert preview is not None
        forming = self._forming
        if forming is not None and forming.tool_use_id == preview.tool_use_id:
            if event.field != "old_str" and event.field not in PLACING_FIELDS:
                self._grow(event.delta)
            return
        if event.field != "old_str" and self._places.place(preview, self.change_id) is not None:
            self._show_file(entry.path)  # once: from here the edit forms where it lands
            return
        if event.field in PLACING_FIELDS:  # the insert's line: asked above, nothing to show
            return
        pane = self._painter.append(preview, event)
        if self.follow:
            pane.scroll_to_bottom()

    def _grow(self, delta: str) -> None:
        """Add ``delta`` to the forming edit, at most once per ``GROW_MS`` in the pane.

        Each insert repaints the pane (some 4 ms), so a 1 MB edit inserted batch by batch
        cost seconds. The first text after a pause goes in at once; what follows within
        ``GROW_MS`` is held and goes in together when the timer fires (never lost: the
        timer keeps running while text is held, and a re-render shows it from the model).
        """
        self._pending.append(delta)
        if not self._grow_timer.isActive():
            self._flush_pending()
            self._grow_timer.start()

    def _grow_tick(self) -> None:
        if self._pending:
            self._flush_pending()
            self._grow_timer.start()  # more may come: keep the pace until a quiet tick

    def _flush_pending(self) -> None:
        forming, text = self._forming, "".join(self._pending)
        self._pending.clear()
        if forming is None or not text:
            return
        self._painter.grow(forming, text)
        if self.follow:
            self._keep_visible(self._painter.new_pane(), forming.cursor.blockNumber())

    def _keep_visible(self, pane: DiffPane, block: int) -> None:
        """Keep the forming line in view, at most once per ``FOLLOW_MS``: between two
        scrolls the edit grows below the fold, which costs no repaint (a 1 MB edit is some
        45,000 deltas; scrolling on each repainted the whole pane each time)."""
        self._follow_target = (pane, block)
        if not self._follow_timer.isActive():
            self._follow_timer.start()

    def _follow_now(self) -> None:
        target, self._follow_target = self._follow_target, None
        if target is None or not self.follow:
            return
        pane, block = target
        first = pane.firstVisibleBlock().blockNumber()
        rows = max(1, pane.viewport().height() // max(1, pane.fontMetrics().height()))
        if not first <= block < first + rows - 1:
            for p in self._panes():
                p.verticalScrollBar().setValue(max(0, block - rows // 2))

    def _on_landed(self, path: str, preview: Preview | None) -> None:
        entry = self._entry(path)
        if entry is None:
            self.tree.remove(path)
            self._fit_tree()
            if path == self.shown_path:
                self._show_file(None)
            return
        self.tree.update_entry(entry)
        self._fit_tree()
        if path == self.shown_path or self.follow:
            follow, self.follow = self.follow, False  # keep the view where the edit landed
            self._show_file(path)
            self.follow = follow
            if follow and preview is not None:
                self._scroll_to_text(preview.text("new_str") or preview.text("file_text")
                                     or preview.text("insert_text"))

    def _scroll_to_text(self, text: str) -> None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        pane = self.unified if self.mode == "unified" else self.right
        found = pane.document().find(first) if first else None
        number = found.blockNumber() if found is not None and not found.isNull() else (
            pane.hunks[-1] if pane.hunks else 0)
        for p in self._panes():
            p.scroll_to_block(number)

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
