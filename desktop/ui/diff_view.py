"""The live diff: a file tree with +/- counts and a unified or side-by-side pane.

Streaming edits are appended in place in a distinct (italic, tinted) style and replaced by
the applied diff when the edit lands. The view follows the newest edit until the person
scrolls or picks a file; scrolling back to the bottom resumes following.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QTextCursor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTreeWidget,
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
    locate,
    parse_unified,
    side_by_side,
    split_rows_at,
)
from desktop.ui.diff_pane import DiffPane, Line

__all__ = ["DiffView"]

_PATH_ROLE = Qt.ItemDataRole.UserRole
_PREVIEW_KINDS = {"old_str": "pre_old"}  # every other field is new text
_NEW_FIELD = {"str_replace": "new_str", "insert": "insert_text", "create": "file_text"}
TextSource = Callable[[str, str], Awaitable[str | None]]  # (change id, path) -> text or None


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
        self._preview: tuple[str, str] | None = None  # (tool_use_id, field) being appended
        self._items: dict[str, QTreeWidgetItem] = {}
        # Placing a streaming edit where it lands needs the file's current text; the view
        # never reads files: ``text_source`` (the bridge's ``file_text``) does.
        self.text_source: TextSource | None = None
        self._texts: dict[str, str | None] = {}  # by tool_use_id
        self._placed: dict[str, Placement | None] = {}  # by tool_use_id, once decidable
        self._fetches: set[asyncio.Task[None]] = set()
        self._forming: tuple[str, QTextCursor] | None = None  # (tool_use_id, insert point)
        self._forming_eol = False
        self._next_line = 0  # the number the next forming line gets
        self._held = ""  # a trailing newline kept back: it may be the replaced line's own

        self.tree = QTreeWidget()
        self.tree.setObjectName("diffFiles")
        self.tree.setAccessibleName(self.tr("Changed files"))
        self.tree.setColumnCount(3)
        self.tree.setHeaderLabels([self.tr("File"), "+", "−"])
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_tree_pick)

        self.title = QLabel(self.tr("No change selected"))
        self.title.setObjectName("diffTitle")
        self.unified = DiffPane(14)
        self.unified.setAccessibleName(self.tr("Unified diff"))
        self.left, self.right = DiffPane(8), DiffPane(8)
        self.left.setAccessibleName(self.tr("Before"))
        self.right.setAccessibleName(self.tr("After"))
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
                self._texts.pop(event.tool_use_id, None)
                self._placed.pop(event.tool_use_id, None)
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
        self.change_id = change_id
        self.follow = True
        self._rebuild_tree()
        diff = self.diffs.get(change_id or "")
        files = list(diff.files) if diff else []
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
        self.stack.setCurrentIndex(0 if self.mode == "unified" else 1)
        self._show_file(self.shown_path)

    # -- rendering ---------------------------------------------------------------------
    def _panes(self) -> tuple[DiffPane, ...]:
        return (self.unified,) if self.mode == "unified" else (self.left, self.right)

    def _show_file(self, path: str | None) -> None:
        self.shown_path = path
        self._preview = None
        self._forming = None
        for pane in self._panes():
            pane.reset(path or "")
        entry = self._entry(path)
        if entry is None:
            self.title.setText(self.tr("No edits yet") if self.change_id else
                               self.tr("No change selected"))
        else:
            self.title.setText(f"{entry.path}   +{entry.added} −{entry.removed}")
            self._render(entry)
            item = self._items.get(entry.path)
            if item is not None:
                with QSignalBlocker(self.tree):
                    self.tree.setCurrentItem(item)
        self.file_shown.emit(path or "")

    def _render(self, entry: FileEntry) -> None:
        if entry.binary or entry.large:
            kind = self.tr("Binary file") if entry.binary else self.tr("Large diff")
            note = self.tr("{kind}: +{a} −{r} lines, not shown line by line").format(
                kind=kind, a=entry.added, r=entry.removed)
            for pane in self._panes():
                pane.add_lines([("note", "", note)])
            if entry.preview is not None:
                self._preview_all(entry.preview)
        else:
            place = self._placement(entry.preview) if entry.preview else None
            rows = parse_unified(entry.diff) if entry.diff else []
            if place is None or entry.preview is None:
                self._render_rows(rows)
                if entry.preview is not None:
                    self._preview_all(entry.preview)
            else:
                rows = [] if place.whole_file else rows  # create: the new file is all there is
                cut = split_rows_at(rows, place.line)
                self._render_rows(rows[:cut])
                block, column = self._render_in_place(entry.preview, place)
                self._render_rows(rows[cut:])
                pane = self.unified if self.mode == "unified" else self.right
                self._forming = (entry.preview.tool_use_id, pane.cursor_at(block, column))
                self._forming_eol = place.eol
                if self.follow:
                    for p in self._panes():
                        p.scroll_to_block(max(0, block - 8))
                return
        if self.follow:
            for pane in self._panes():
                pane.scroll_to_bottom()

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

    # -- a streaming edit shown where it lands -------------------------------------------
    def _placement(self, preview: Preview) -> Placement | None:
        """Where ``preview`` lands, or None (then it is shown after the diff, as text comes).

        The file's text is fetched once per edit; the answer is kept once it is final.
        """
        tid = preview.tool_use_id
        if tid in self._placed:
            return self._placed[tid]
        if preview.command == "create":
            place = locate(preview, None)
        elif preview.command not in ("str_replace", "insert") or not preview.path:
            place = None
        elif tid not in self._texts:
            self._fetch(preview)
            return None
        else:
            place = locate(preview, self._texts[tid])
            if place is None and preview.command == "str_replace" and (
                    "new_str" not in preview.fields):
                return None  # old_str still streaming: not decidable yet
        self._placed[tid] = place
        return place

    def _fetch(self, preview: Preview) -> None:
        tid, change = preview.tool_use_id, self.change_id
        if any(t.get_name() == tid for t in self._fetches):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self.text_source is None or change is None or loop is None:
            self._texts[tid] = None
            return
        task = loop.create_task(self._load_text(change, preview.path, tid), name=tid)
        self._fetches.add(task)
        task.add_done_callback(self._fetches.discard)

    async def _load_text(self, change: str, path: str, tid: str) -> None:
        assert self.text_source is not None
        try:
            text = await self.text_source(change, path)
        except asyncio.CancelledError:
            raise
        except Exception:  # a path outside the worktree, an unreadable file: no placement
            text = None
        diff = self.diffs.get(change)
        preview = diff.previews.get(tid) if diff else None
        if preview is None:  # landed or rejected meanwhile
            return
        self._texts[tid] = text
        if (change == self.change_id and preview.path == self.shown_path
                and self._placement(preview) is not None):
            with contextlib.suppress(RuntimeError):  # the window went away meanwhile
                self._show_file(preview.path)

    def _render_in_place(self, preview: Preview, place: Placement) -> tuple[int, int]:
        """Render the forming edit as a hunk at its lines; returns where new text goes."""
        unified = self.mode == "unified"
        head = self.tr("✎ {command} {path} — streaming… (line {line})").format(
            command=preview.command, path=preview.path, line=place.line)
        top = place.line - len(place.before)
        ctx_before = [(top + i, t) for i, t in enumerate(place.before)]
        below = place.line + len(place.old)
        ctx_after = [(below + i, t) for i, t in enumerate(place.after)]
        if unified:
            olds: list[Line] = [("pre_old", f"{n:>5} {'':>5} - ", t)
                                for n, t in enumerate(place.old, place.line)]
            before = [("ctx", f"{n:>5} {n:>5}   ", t) for n, t in ctx_before]
            after = [("ctx", f"{n:>5} {'':>5}   ", t) for n, t in ctx_after]
        else:
            olds = [("pre_old", f"{n:>5} - ", t) for n, t in enumerate(place.old, place.line)]
            before = [("ctx", f"{n:>5}   ", t) for n, t in ctx_before]
            after = [("ctx", f"{n:>5}   ", t) for n, t in ctx_after]
        text = place.prefix + preview.text(_NEW_FIELD[preview.command])
        self._held = "\n" if place.eol and text.endswith("\n") else ""
        forming = text[:len(text) - len(self._held)].split("\n")
        self._next_line = place.line
        news: list[Line] = [("pre_new", self._forming_gutter(), t) for t in forming]
        pane = self.unified if unified else self.right
        pane.add_lines([("pre_head", "", head), *before, *([] if not unified else olds)])
        if not unified:
            self.left.add_lines([("pre_head", "", head), *before, *olds, *after])
        pane.add_lines(news)
        block = pane.block_count() - 1
        column = len(news[-1][1]) + len(news[-1][2])
        pane.append_text(place.suffix, "pre_new", "")
        pane.add_lines(after)
        return block, column

    def _forming_gutter(self) -> str:
        n, self._next_line = self._next_line, self._next_line + 1
        return f"{'':>5} {n:>5} + " if self.mode == "unified" else f"{n:>5} + "

    @staticmethod
    def _side(row: object, changed: str, number: int | None) -> Line:
        from desktop.ui.diff_model import DiffRow

        if not isinstance(row, DiffRow):
            return ("filler", "", "")
        if row.kind in ("hunk", "meta"):
            return (row.kind, "", row.text)
        sign = {"add": "+", "del": "-"}.get(row.kind, " ")
        kind = row.kind if row.kind in ("ctx", changed) else "ctx"
        return (kind, f"{_n(number):>5} {sign} ", row.text)

    def _preview_all(self, preview: Preview) -> None:
        for name, parts in preview.fields.items():
            self._start_field(preview, name)
            self._append(name, "".join(parts))

    def _start_field(self, preview: Preview, name: str) -> None:
        if self._preview is None or self._preview[0] != preview.tool_use_id:
            head = self.tr("✎ {command} {path} — streaming…").format(
                command=preview.command, path=preview.path)
            for pane in self._panes():
                pane.add_lines([("pre_head", "", head)])
        self._preview = (preview.tool_use_id, name)
        kind = _PREVIEW_KINDS.get(name, "pre_new")
        pane = self._pane_for(kind)
        pane.add_lines([(kind, self._gutter(kind), "")])

    def _gutter(self, kind: str) -> str:
        sign = "-" if kind == "pre_old" else "+"
        return f"{'':>11} {sign} " if self.mode == "unified" else f"{'':>5} {sign} "

    def _pane_for(self, kind: str) -> DiffPane:
        if self.mode == "unified":
            return self.unified
        return self.left if kind == "pre_old" else self.right

    def _append(self, name: str, text: str) -> None:
        kind = _PREVIEW_KINDS.get(name, "pre_new")
        self._pane_for(kind).append_text(text, kind, self._gutter(kind))

    def _on_preview(self, event: EditPreview, entry: FileEntry) -> None:
        self._update_item(entry)
        if entry.path != self.shown_path:
            if self.follow:
                self._show_file(entry.path)  # renders the preview so far, this delta included
            return
        preview = entry.preview
        assert preview is not None
        if self._forming is not None and self._forming[0] == preview.tool_use_id:
            if event.field != "old_str":
                pane = self.unified if self.mode == "unified" else self.right
                text, self._held = self._held + event.delta, ""
                if self._forming_eol and text.endswith("\n"):
                    text, self._held = text[:-1], "\n"
                pane.insert_text(self._forming[1], text, "pre_new", self._forming_gutter)
                if self.follow:
                    self._keep_visible(pane, self._forming[1].blockNumber())
            return
        if event.field != "old_str" and self._placement(preview) is not None:
            self._show_file(entry.path)  # once: from here the edit forms where it lands
            return
        if self._preview != (preview.tool_use_id, event.field):
            self._start_field(preview, event.field)
        self._append(event.field, event.delta)
        if self.follow:
            self._pane_for(_PREVIEW_KINDS.get(event.field, "pre_new")).scroll_to_bottom()

    def _keep_visible(self, pane: DiffPane, block: int) -> None:
        first = pane.firstVisibleBlock().blockNumber()
        rows = max(1, pane.viewport().height() // max(1, pane.fontMetrics().height()))
        if not first <= block < first + rows - 1:
            for p in self._panes():
                p.verticalScrollBar().setValue(max(0, block - rows // 2))

    def _on_landed(self, path: str, preview: Preview | None) -> None:
        entry = self._entry(path)
        if entry is None:
            self._remove_item(path)
            if path == self.shown_path:
                self._show_file(None)
            return
        self._update_item(entry)
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
    def _entry(self, path: str | None) -> FileEntry | None:
        diff = self.diffs.get(self.change_id or "")
        return diff.files.get(path) if diff and path else None

    def _file_order(self) -> list[str]:
        return [p for p, _ in sorted(self._items.items()) if p in self._visible_files()]

    def _visible_files(self) -> set[str]:
        diff = self.diffs.get(self.change_id or "")
        return set(diff.files) if diff else set()

    def _rebuild_tree(self) -> None:
        with QSignalBlocker(self.tree):
            self.tree.clear()
            self._items = {}
            diff = self.diffs.get(self.change_id or "")
            for entry in diff.files.values() if diff else ():
                self._update_item(entry)

    def _update_item(self, entry: FileEntry) -> None:
        item = self._items.get(entry.path)
        if item is None:
            item = self._new_item(entry.path)
        streaming = entry.preview is not None
        font = QFont(item.font(0))
        font.setItalic(streaming)
        item.setFont(0, font)
        item.setText(1, f"+{entry.added}")
        item.setText(2, f"−{entry.removed}")
        item.setForeground(1, QColor("#1a7f37"))
        item.setForeground(2, QColor("#cf222e"))
        tip = self.tr("{path}: +{a} −{r}").format(path=entry.path, a=entry.added, r=entry.removed)
        item.setToolTip(0, tip + (self.tr(" (edit streaming)") if streaming else ""))

    def _new_item(self, path: str) -> QTreeWidgetItem:
        # One folder row per directory path (as review tools do), so deep trees stay readable.
        folder_path, _, name = path.rpartition("/")
        parent: QTreeWidgetItem | None = None
        if folder_path:
            key = folder_path + "/"
            parent = self._items.get(key)
            if parent is None:
                parent = QTreeWidgetItem([key])
                parent.setToolTip(0, key)
                self.tree.addTopLevelItem(parent)
                parent.setExpanded(True)
                self._items[key] = parent
        item = QTreeWidgetItem([name])
        item.setData(0, _PATH_ROLE, path)
        (parent.addChild(item) if parent else self.tree.addTopLevelItem(item))
        self._items[path] = item
        return item

    def _remove_item(self, path: str) -> None:
        item = self._items.pop(path, None)
        if item is not None:
            (item.parent() or self.tree.invisibleRootItem()).removeChild(item)

    def _on_tree_pick(self, item: QTreeWidgetItem | None, _prev: object) -> None:
        path = item.data(0, _PATH_ROLE) if item else None
        if path:
            self.follow = False
            self._show_file(str(path))

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


def coalesce_previews(batch: Iterable[Event]) -> list[Event]:
    """Join consecutive preview deltas of the same edit field into one event.

    A fast stream delivers many small deltas per loop turn; showing each costs a text
    append, a scroll and a tree-row refresh, so a batch is shown as one append instead.
    """
    out: list[Event] = []
    run: list[str] = []

    def flush() -> None:
        if len(run) > 1:
            last = out[-1]
            assert isinstance(last, EditPreview)
            out[-1] = replace(last, delta="".join(run))
        run.clear()

    for event in batch:
        last = out[-1] if out else None
        if (isinstance(event, EditPreview) and isinstance(last, EditPreview) and run
                and (last.change, last.tool_use_id, last.field)
                == (event.change, event.tool_use_id, event.field)):
            run.append(event.delta)
            continue
        flush()
        out.append(event)
        if isinstance(event, EditPreview):
            run.append(event.delta)
    flush()
    return out
