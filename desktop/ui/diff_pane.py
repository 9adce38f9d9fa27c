"""One text pane of the diff view: fast block-by-block rendering and syntax colours.

Each line is a QTextBlock whose block format carries its kind (added, removed, preview...),
so backgrounds span the full width and the highlighter only adds token colours. Streaming
previews append to the end or grow at a cursor mid-document; nothing is re-rendered per delta.

A big batch of lines (a whole file's diff) goes in uncoloured: the lines in view are coloured
at once and the rest in short slices between events, so a 5,000-line diff does not hold the
window while every line is run through the token regexes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPalette,
    QSyntaxHighlighter,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QWidget

__all__ = ["KINDS", "DiffPane", "Line", "diff_colors"]

KINDS = ("ctx", "add", "del", "hunk", "meta", "filler", "pre_old", "pre_new", "pre_head", "note")
_KIND_PROP = QTextFormat.Property.UserProperty + 1
Line = tuple[str, str, str]  # (kind, gutter, text)
# Batches longer than this go in uncoloured and are coloured visible-first, then in slices.
_COLOUR_LATER_OVER = 200
_SLICE_S = 0.004  # colouring per event-loop pass: a quarter of a frame
_SLICE_LINES = 64  # lines per range coloured in one go (about 1 ms)

_KEYWORDS_TEXT = (
    "abstract as async await break case catch class const continue data def default defer "
    "del do elif else enum except export extends extension false final finally fn for from "
    "fun func function guard if implements import in init interface internal is lambda late "
    "let match new nil none null object override package pass private protected protocol "
    "public raise required return sealed self static struct super switch this throw throws "
    "true try typealias typeof val var void when where while with yield"
)
_KEYWORDS = _KEYWORDS_TEXT.split()
_HASH_COMMENT = {".py", ".sh", ".rb", ".toml", ".yaml", ".yml", ".cfg"}


def diff_colors(palette: QPalette) -> dict[str, QColor]:
    """The diff's backgrounds (by line kind) and token colours for ``palette``'s scheme.

    Every token colour, the gutter's and the palette's text keep WCAG AA contrast (4.5:1)
    on every background here, in light and in dark (tests/ui/test_theme.py checks it).
    """
    dark = palette.color(QPalette.ColorRole.Base).lightness() < 128
    if dark:
        return {
            "add": QColor("#12361f"), "del": QColor("#3d1618"), "hunk": QColor("#1d2a3d"),
            "filler": QColor("#262626"), "pre_old": QColor("#3a2a12"), "pre_new": QColor("#1e2a4a"),
            "pre_head": QColor("#2b2350"), "note": QColor("#2a2a2a"), "meta": QColor("#262626"),
            "kw": QColor("#c792ea"), "str": QColor("#c3e88d"), "com": QColor("#9ca3af"),
            "num": QColor("#f78c6c"), "gutter": QColor("#9ca3af"), "hunk_fg": QColor("#82aaff"),
        }
    return {
        "add": QColor("#e6ffec"), "del": QColor("#ffebe9"), "hunk": QColor("#ddf4ff"),
        "filler": QColor("#f3f4f6"), "pre_old": QColor("#fff4d6"), "pre_new": QColor("#eef2ff"),
        "pre_head": QColor("#e0e7ff"), "note": QColor("#f6f8fa"), "meta": QColor("#f6f8fa"),
        "kw": QColor("#6639ba"), "str": QColor("#0a3069"), "com": QColor("#57606a"),
        "num": QColor("#0550ae"), "gutter": QColor("#57606a"), "hunk_fg": QColor("#0550ae"),
    }


class _Highlighter(QSyntaxHighlighter):
    """Token colours after the gutter; cheap regexes so 5,000 lines colour in milliseconds."""

    def __init__(self, pane: DiffPane) -> None:
        super().__init__(pane.document())
        self.pane = pane
        self._cache: dict[tuple[str, bool], QTextCharFormat] = {}
        self._built_for: dict[str, QColor] | None = None
        self.deferring = False  # a big batch is going in: leave its lines for later
        self.set_language("")

    def set_language(self, path: str) -> None:
        suffix = path[path.rfind(".") :].lower() if "." in path else ""
        comment = r"#.*$" if suffix in _HASH_COMMENT else r"//.*$|/\*.*?\*/"
        self._rx = re.compile(
            rf"(?P<com>{comment})|(?P<str>\"(?:[^\"\\]|\\.)*\"?|'(?:[^'\\]|\\.)*'?)"
            rf"|(?P<kw>\b(?:{'|'.join(_KEYWORDS)})\b)|(?P<num>\b\d[\d_.xXa-fA-F]*\b)"
        )

    def _formats(self) -> dict[tuple[str, bool], QTextCharFormat]:
        # Built once per colour set: a block is highlighted per streamed batch.
        colors = self.pane.colors
        if self._built_for is not colors:
            made: dict[tuple[str, bool], QTextCharFormat] = {}
            for group in ("kw", "str", "com", "num", "gutter", "hunk_fg", ""):
                for italic in (False, True):
                    fmt = QTextCharFormat()
                    if group:
                        fmt.setForeground(colors[group])
                    fmt.setFontItalic(italic or group == "com")
                    made[group, italic] = fmt
            self._cache, self._built_for = made, colors
        return self._cache

    def highlightBlock(self, text: str) -> None:
        if self.deferring:
            return
        formats = self._formats()
        kind = KINDS[self.currentBlock().blockFormat().intProperty(_KIND_PROP)]
        gutter = self.pane.gutter_width
        if kind in ("hunk", "pre_head", "note", "meta"):
            colour = "hunk_fg" if kind == "hunk" else "gutter"
            self.setFormat(0, len(text), formats[colour, kind in ("pre_head", "note")])
            return
        self.setFormat(0, min(gutter, len(text)), formats["gutter", False])
        if kind == "filler":
            return
        # The forming edit is italic throughout (untouched parts too), so it reads as not
        # yet real; one pass over the tokens colours them and italicizes the gaps.
        italic = kind in ("pre_old", "pre_new")
        plain = formats["", True]
        last = gutter
        for m in self._rx.finditer(text, gutter):
            start, end = m.span()
            if italic and start > last:
                self.setFormat(last, start - last, plain)
            self.setFormat(start, end - start, formats[m.lastgroup or "", italic])
            last = end
        if italic and len(text) > last:
            self.setFormat(last, len(text) - last, plain)


class DiffPane(QPlainTextEdit):
    """A read-only, no-wrap, no-undo text pane with typed lines."""

    def __init__(self, gutter_width: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.gutter_width = gutter_width
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.document().setUndoRedoEnabled(False)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self.colors = diff_colors(self.palette())
        self.highlighter = _Highlighter(self)
        self.hunks: list[int] = []  # block numbers of hunk headers
        self._block_formats = {k: self._block_format(k) for k in KINDS}
        self._empty = True
        self._colour_next = 0  # first block the background colouring has not reached
        self._colouring = QTimer(self)
        self._colouring.setInterval(0)
        self._colouring.timeout.connect(self._colour_slice)
        self.verticalScrollBar().valueChanged.connect(self._colour_visible)

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (the OS switched light/dark): new colours for the lines to come;
        the owner (DiffView) renders what is shown again."""
        if event.type() == QEvent.Type.PaletteChange:
            self.colors = diff_colors(self.palette())
            self._block_formats = {k: self._block_format(k) for k in KINDS}
        super().changeEvent(event)

    def _block_format(self, kind: str) -> QTextBlockFormat:
        fmt = QTextBlockFormat()
        fmt.setProperty(_KIND_PROP, KINDS.index(kind))
        if kind in self.colors:
            fmt.setBackground(self.colors[kind])
        return fmt

    def reset(self, path: str = "") -> None:
        self.highlighter.set_language(path)
        self._colouring.stop()
        self.document().clear()
        self.hunks = []
        self._empty = True

    def add_lines(self, lines: Iterable[Line]) -> None:
        """Append lines (kind, gutter, text) in one edit block; a big batch is coloured later."""
        lines = list(lines)
        later = len(lines) > _COLOUR_LATER_OVER
        if later:
            self.highlighter.deferring = True
            if not self._colouring.isActive():
                self._colour_next = self.block_count() - 1 if not self._empty else 0
        try:
            self._insert_lines(lines)
        finally:
            self.highlighter.deferring = False
        if later:
            self._colouring.start()
            self._colour_visible()

    def _insert_lines(self, lines: list[Line]) -> None:
        doc: QTextDocument = self.document()
        cursor = QTextCursor(doc)
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.beginEditBlock()
        for kind, gutter, text in lines:
            if self._empty:
                cursor.setBlockFormat(self._block_formats[kind])
                self._empty = False
            else:
                cursor.insertBlock(self._block_formats[kind])
            if kind == "hunk":
                self.hunks.append(cursor.blockNumber())
            cursor.insertText(gutter + text)
        cursor.endEditBlock()

    def colouring_pending(self) -> bool:
        """Whether lines of a big batch are still waiting for their token colours."""
        return self._colouring.isActive()

    def _colour_blocks(self, first: int, last: int, *, in_view: bool) -> None:
        """Run the highlighter over lines ``first``..``last`` in one document change.

        An empty format merged over the range changes nothing but is a content change, so the
        highlighter colours the range inside it and the layout is updated once; colouring
        block by block (rehighlightBlock) updates the layout per block, 20 times the cost.
        """
        doc = self.document()
        start, end = doc.findBlockByNumber(first), doc.findBlockByNumber(last)
        if not start.isValid():
            return
        if not end.isValid():
            end = doc.lastBlock()
        cursor = QTextCursor(doc)
        cursor.setPosition(start.position())
        cursor.setPosition(end.position() + end.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        layout = doc.documentLayout()
        # Out of view, nothing on screen changes: the layout's "repaint everything" signal
        # would cost a full viewport paint per range.
        was = layout.blockSignals(not in_view)
        try:
            cursor.mergeCharFormat(QTextCharFormat())
        finally:
            layout.blockSignals(was)

    def _visible_blocks(self) -> tuple[int, int]:
        """The numbers of the first and the last line in view."""
        first = self.firstVisibleBlock().blockNumber()
        last = self.cursorForPosition(QPoint(0, self.viewport().height())).blockNumber()
        return first, max(first, last)

    def _colour_visible(self, *_: object) -> None:
        """Colour the lines in view now (after a big batch, and as the user scrolls to more)."""
        if self._colouring.isActive():
            self._colour_blocks(*self._visible_blocks(), in_view=True)

    def _colour_slice(self) -> None:
        """Colour the next lines of a big batch for about ``_SLICE_S``; stop at the end."""
        deadline = time.perf_counter() + _SLICE_S
        count = self.block_count()
        top, bottom = self._visible_blocks()
        while self._colour_next < count and time.perf_counter() < deadline:
            last = min(count, self._colour_next + _SLICE_LINES) - 1
            self._colour_blocks(self._colour_next, last,
                                in_view=self._colour_next <= bottom and last >= top)
            self._colour_next = last + 1
        if self._colour_next >= count:
            self._colouring.stop()

    def append_text(self, text: str, kind: str, gutter: str) -> None:
        """Append streamed text to the last line; each newline starts a new ``kind`` line."""
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        parts = text.split("\n")
        cursor.beginEditBlock()
        cursor.insertText(parts[0])
        for part in parts[1:]:
            cursor.insertBlock(self._block_formats[kind])
            cursor.insertText(gutter + part)
        cursor.endEditBlock()

    def cursor_at(self, block: int, column: int) -> QTextCursor:
        """A cursor in block ``block`` at ``column``; it moves along as text goes in there."""
        found = self.document().findBlockByNumber(block)
        cursor = QTextCursor(found)
        cursor.setPosition(found.position() + min(column, max(0, found.length() - 1)))
        return cursor

    def insert_text(self, cursor: QTextCursor, text: str, kind: str,
                    gutter: Callable[[], str]) -> None:
        """Insert streamed text at ``cursor`` (mid-document: an edit forming in place).

        Each newline starts a new ``kind`` line whose gutter ``gutter()`` gives; what
        followed the cursor on its line moves down with it, nothing else is re-rendered.
        """
        parts = text.split("\n")
        cursor.beginEditBlock()
        cursor.insertText(parts[0])
        for part in parts[1:]:
            cursor.insertBlock(self._block_formats[kind])
            cursor.insertText(gutter() + part)
        cursor.endEditBlock()

    def insert_fillers(self, cursor: QTextCursor, count: int) -> None:
        """Insert ``count`` empty filler lines after ``cursor``'s line; it ends on the last."""
        cursor.beginEditBlock()
        for _ in range(count):
            cursor.insertBlock(self._block_formats["filler"])
        cursor.endEditBlock()

    def remove_blocks_after(self, block: QTextBlock, count: int) -> None:
        """Remove the ``count`` lines that follow ``block`` (which keeps its text and kind)."""
        last = block
        for _ in range(count):
            if not last.next().isValid():
                break
            last = last.next()
        if last == block:
            return
        if self._colouring.isActive():  # numbers after ``block`` shift up: go back to it
            self._colour_next = min(self._colour_next, block.blockNumber())
        cursor = QTextCursor(self.document())
        cursor.setPosition(block.position() + block.length() - 1)
        cursor.setPosition(last.position() + last.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()

    def block_length(self, number: int) -> int:
        """Characters in line ``number`` (without its newline)."""
        return max(0, self.document().findBlockByNumber(number).length() - 1)

    def block_count(self) -> int:
        return self.document().blockCount()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def scroll_to_bottom(self) -> None:
        bar = self.verticalScrollBar()
        bar.setValue(bar.maximum())

    def scroll_to_block(self, number: int) -> None:
        """Put block ``number`` near the top of the view and the cursor on it."""
        block = self.document().findBlockByNumber(number)
        cursor = QTextCursor(block)
        self.setTextCursor(cursor)
        self.verticalScrollBar().setValue(max(0, number - 3))
