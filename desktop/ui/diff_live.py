"""The streaming edit in the shown file (a mixin of :class:`~desktop.ui.diff_view.DiffView`):
its deltas go into the pane where it forms, paced so a big edit costs few repaints; the
view keeps it in sight while following; when it lands, the applied diff replaces it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from desktop.ui.diff_preview import PLACING_FIELDS

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer

    from desktop.core.events import EditPreview
    from desktop.ui.diff_model import ChangeDiff, FileEntry, Preview
    from desktop.ui.diff_pane import DiffPane
    from desktop.ui.diff_preview import Forming, Placements, PreviewPainter
    from desktop.ui.diff_tree import FileTree

__all__ = ["FOLLOW_MS", "GROW_MS", "LiveDiff", "LiveEdit"]

FOLLOW_MS = 50  # a growing edit is scrolled into view at most this often (20 times a second)
GROW_MS = 40  # a forming edit's text goes into the pane at most this often (25 times a second)


class LiveDiff(Protocol):
    """The view the streaming edit is mixed into: its state, panes and helpers."""

    diffs: dict[str, ChangeDiff]
    change_id: str | None
    shown_path: str | None
    mode: str
    follow: bool
    tree: FileTree
    unified: DiffPane
    right: DiffPane
    _forming: Forming | None
    _places: Placements
    _painter: PreviewPainter
    _pending: list[str]
    _grow_timer: QTimer
    _follow_timer: QTimer
    _follow_target: tuple[DiffPane, int] | None

    def _panes(self) -> tuple[DiffPane, ...]: ...

    def _show_file(self, path: str | None) -> None: ...

    def _fit_tree(self) -> None: ...

    def _entry(self, path: str | None) -> FileEntry | None: ...

    def _grow(self, delta: str) -> None: ...

    def _flush_pending(self) -> None: ...

    def _keep_visible(self, pane: DiffPane, block: int) -> None: ...

    def _scroll_to_text(self, text: str) -> None: ...


class LiveEdit:
    """Mixed into the diff view (see :class:`LiveDiff` for what it needs); the view makes
    the two timers (``GROW_MS``, ``FOLLOW_MS``) and connects them to ``_grow_tick`` and
    ``_follow_now``."""

    # Streamed text of the forming edit not in the pane yet: every insert repaints the
    # pane, so text arriving faster than GROW_MS goes in together (see ``_grow``).
    _pending: list[str]
    _follow_target: tuple[DiffPane, int] | None  # where to scroll on the next FOLLOW_MS tick

    def flush(self: LiveDiff) -> None:
        """Put the forming edit's text that is still held back into the pane now."""
        self._grow_timer.stop()
        self._flush_pending()

    def _still_streaming(self: LiveDiff, change: str, tid: str) -> bool:
        diff = self.diffs.get(change)
        return diff is not None and tid in diff.previews

    def _text_arrived(self: LiveDiff, change: str, tid: str) -> None:
        preview = self.diffs[change].previews[tid]
        if (change == self.change_id and preview.path == self.shown_path
                and self._places.place(preview, change) is not None):
            self._show_file(preview.path)

    def _on_preview(self: LiveDiff, event: EditPreview, entry: FileEntry) -> None:
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

    def _grow(self: LiveDiff, delta: str) -> None:
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

    def _grow_tick(self: LiveDiff) -> None:
        if self._pending:
            self._flush_pending()
            self._grow_timer.start()  # more may come: keep the pace until a quiet tick

    def _flush_pending(self: LiveDiff) -> None:
        forming, text = self._forming, "".join(self._pending)
        self._pending.clear()
        if forming is None or not text:
            return
        self._painter.grow(forming, text)
        if self.follow:
            self._keep_visible(self._painter.new_pane(), forming.cursor.blockNumber())

    def _keep_visible(self: LiveDiff, pane: DiffPane, block: int) -> None:
        """Keep the forming line in view, at most once per ``FOLLOW_MS``: between two
        scrolls the edit grows below the fold, which costs no repaint (a 1 MB edit is some
        45,000 deltas; scrolling on each repainted the whole pane each time)."""
        self._follow_target = (pane, block)
        if not self._follow_timer.isActive():
            self._follow_timer.start()

    def _follow_now(self: LiveDiff) -> None:
        target, self._follow_target = self._follow_target, None
        if target is None or not self.follow:
            return
        pane, block = target
        first = pane.firstVisibleBlock().blockNumber()
        rows = max(1, pane.viewport().height() // max(1, pane.fontMetrics().height()))
        if not first <= block < first + rows - 1:
            for p in self._panes():
                p.verticalScrollBar().setValue(max(0, block - rows // 2))

    # -- it lands ----------------------------------------------------------------------
    def _on_landed(self: LiveDiff, path: str, preview: Preview | None) -> None:
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

    def _scroll_to_text(self: LiveDiff, text: str) -> None:
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        pane = self.unified if self.mode == "unified" else self.right
        found = pane.document().find(first) if first else None
        number = found.blockNumber() if found is not None and not found.isNull() else (
            pane.hunks[-1] if pane.hunks else 0)
        for p in self._panes():
            p.scroll_to_block(number)
