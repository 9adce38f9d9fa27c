"""A streaming edit in the diff panes: formed in place at the lines it replaces, or appended.

Every batch of deltas costs the size of the batch: the forming text is inserted at a cursor
that moves along with it, and nothing already shown is re-inserted or re-highlighted. In
side-by-side mode the columns stay aligned while the edit grows: the shorter side of the
replaced/forming run is padded with filler lines, and the padding follows the growth.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from PySide6.QtGui import QTextCursor

from desktop.core.events import EditPreview, Event
from desktop.ui.diff_model import Placement, Preview, locate
from desktop.ui.diff_pane import DiffPane, Line

__all__ = [
    "NEW_FIELD",
    "PLACING_FIELDS",
    "PREVIEW_KINDS",
    "Forming",
    "Placements",
    "PreviewPainter",
    "TextSource",
    "coalesce_previews",
]

PREVIEW_KINDS = {"old_str": "pre_old"}  # every other field is new text, except:
PLACING_FIELDS = frozenset({"insert_line"})  # where an edit lands, never shown as text
NEW_FIELD = {"str_replace": "new_str", "insert": "insert_text", "create": "file_text"}
TextSource = Callable[[str, str], Awaitable[str | None]]  # (change id, path) -> text or None
Alive = Callable[[str, str], bool]  # (change id, tool_use_id) -> still streaming?
Loaded = Callable[[str, str], None]  # (change id, tool_use_id): its text just arrived


class Placements:
    """Where each streaming edit lands: the file's text is fetched once per edit (the view
    never reads files; ``text_source`` does) and the answer is kept once it is final."""

    def __init__(self, alive: Alive, loaded: Loaded) -> None:
        self.text_source: TextSource | None = None
        self.texts: dict[str, str | None] = {}  # by tool_use_id
        self.placed: dict[str, Placement | None] = {}  # by tool_use_id, once decidable
        self._fetches: dict[str, asyncio.Task[None]] = {}
        self._alive, self._loaded = alive, loaded

    def place(self, preview: Preview, change: str | None) -> Placement | None:
        """Where ``preview`` lands, or None (then it is shown after the diff, as text comes)."""
        tid = preview.tool_use_id
        if tid in self.placed:
            return self.placed[tid]
        if preview.command == "create":
            place = locate(preview, None)
        elif preview.command not in ("str_replace", "insert") or not preview.path:
            place = None
        elif tid not in self.texts:
            self._fetch(preview, change)  # early, so the text is here when new_str begins
            return None
        elif preview.command == "str_replace" and "new_str" not in preview.fields:
            return None  # old_str still streaming: not decidable yet
        else:
            place = locate(preview, self.texts[tid])
        self.placed[tid] = place
        return place

    def forget(self, tid: str) -> None:
        """The edit landed or was refused: drop what was kept for it."""
        self.texts.pop(tid, None)
        self.placed.pop(tid, None)

    def _fetch(self, preview: Preview, change: str | None) -> None:
        tid = preview.tool_use_id
        if tid in self._fetches:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if self.text_source is None or change is None or loop is None:
            self.texts[tid] = None
            return
        task = loop.create_task(self._load(change, preview.path, tid), name=tid)
        self._fetches[tid] = task
        task.add_done_callback(lambda _t: self._fetches.pop(tid, None))

    async def _load(self, change: str, path: str, tid: str) -> None:
        assert self.text_source is not None
        try:
            text = await self.text_source(change, path)
        except asyncio.CancelledError:
            raise
        except Exception:  # a path outside the worktree, an unreadable file: no placement
            text = None
        if not self._alive(change, tid):  # landed or rejected meanwhile
            return
        self.texts[tid] = text
        with contextlib.suppress(RuntimeError):  # the window went away meanwhile
            self._loaded(change, tid)


@dataclass
class Forming:
    """An edit forming in place: where its new text goes and what the next line looks like.

    Split mode only: ``pad`` is where the before column takes a filler for each new line
    past the replaced ones, and ``owed`` counts the fillers the after column still shows
    for replaced lines the new text has not reached yet.
    """

    tool_use_id: str
    cursor: QTextCursor  # moves along as text goes in
    eol: bool  # old_str ended a line: the new text's last newline is that same one
    next_line: int  # the number the next forming line gets
    held: str = ""  # a trailing newline kept back: it may be the replaced line's own
    pad: QTextCursor | None = None
    owed: int = 0


class PreviewPainter:
    """Draws streaming edits into the view's panes; ``unified`` says which layout is shown."""

    def __init__(self, unified: DiffPane, left: DiffPane, right: DiffPane,
                 tr: Callable[[str], str]) -> None:
        self.unified, self.left, self.right = unified, left, right
        self.tr = tr
        self.is_unified = True
        self.appending: tuple[str, str] | None = None  # (tool_use_id, field) being appended

    def new_pane(self) -> DiffPane:
        """The pane the edit's new text goes to."""
        return self.unified if self.is_unified else self.right

    # -- in place ----------------------------------------------------------------------
    def form_in_place(self, preview: Preview, place: Placement) -> Forming:
        """Render the forming edit as a hunk at its lines; returns where new text goes."""
        unified = self.is_unified
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
        text = place.prefix + preview.text(NEW_FIELD[preview.command])
        held = "\n" if place.eol and text.endswith("\n") else ""
        forming = Forming(preview.tool_use_id, QTextCursor(), place.eol, place.line, held)
        news: list[Line] = [("pre_new", self._gutter_of(forming), t)
                            for t in text[:len(text) - len(held)].split("\n")]
        pane = self.new_pane()
        pane.add_lines([("pre_head", "", head), *before, *(olds if unified else ())])
        pane.add_lines(news)
        block = pane.block_count() - 1
        pane.append_text(place.suffix, "pre_new", "")
        if not unified:
            filler: Line = ("filler", "", "")
            forming.owed = max(0, len(olds) - len(news))
            pane.add_lines([filler] * forming.owed)
            self.left.add_lines([("pre_head", "", head), *before, *olds,
                                 *[filler] * max(0, len(news) - len(olds))])
            pad_block = self.left.block_count() - 1
            self.left.add_lines(after)
            forming.pad = self.left.cursor_at(pad_block, self.left.block_length(pad_block))
            # Their new numbers are not known until the edit lands.
            after = [("ctx", f"{'':>5}   ", t) for _, t in ctx_after]
        pane.add_lines(after)
        # Cursors made once everything is in: text added at a cursor's spot would carry it.
        forming.cursor = pane.cursor_at(block, len(news[-1][1]) + len(news[-1][2]))
        return forming

    def grow(self, forming: Forming, delta: str) -> None:
        """Insert one (coalesced) delta where the edit forms: costs the delta's size."""
        text, forming.held = forming.held + delta, ""
        if forming.eol and text.endswith("\n"):
            text, forming.held = text[:-1], "\n"
        if not text:
            return
        self.new_pane().insert_text(forming.cursor, text, "pre_new",
                                    lambda: self._gutter_of(forming))
        if forming.pad is None:
            return
        lines = text.count("\n")
        paid = min(forming.owed, lines)
        if paid:  # new lines take the place of the fillers below the forming line
            self.right.remove_blocks_after(forming.cursor.block(), paid)
            forming.owed -= paid
        if lines > paid:
            self.left.insert_fillers(forming.pad, lines - paid)

    def _gutter_of(self, forming: Forming) -> str:
        n, forming.next_line = forming.next_line, forming.next_line + 1
        return f"{'':>5} {n:>5} + " if self.is_unified else f"{n:>5} + "

    # -- appended after the diff -------------------------------------------------------
    def append_all(self, preview: Preview) -> None:
        """Show everything ``preview`` has streamed so far after what the panes show."""
        for name, parts in preview.fields.items():
            if name in PLACING_FIELDS:
                continue
            self.start_field(preview, name)
            self._append(name, "".join(parts))

    def append(self, preview: Preview, event: EditPreview) -> DiffPane:
        """Append one delta of an edit not placed; returns the pane it went to."""
        if self.appending != (preview.tool_use_id, event.field):
            self.start_field(preview, event.field)
        return self._append(event.field, event.delta)

    def start_field(self, preview: Preview, name: str) -> None:
        if self.appending is None or self.appending[0] != preview.tool_use_id:
            head = self.tr("✎ {command} {path} — streaming…").format(
                command=preview.command, path=preview.path)
            for pane in (self.unified,) if self.is_unified else (self.left, self.right):
                pane.add_lines([("pre_head", "", head)])
        self.appending = (preview.tool_use_id, name)
        kind = PREVIEW_KINDS.get(name, "pre_new")
        self._pane_for(kind).add_lines([(kind, self._gutter(kind), "")])

    def _gutter(self, kind: str) -> str:
        sign = "-" if kind == "pre_old" else "+"
        return f"{'':>11} {sign} " if self.is_unified else f"{'':>5} {sign} "

    def _pane_for(self, kind: str) -> DiffPane:
        if self.is_unified:
            return self.unified
        return self.left if kind == "pre_old" else self.right

    def _append(self, name: str, text: str) -> DiffPane:
        kind = PREVIEW_KINDS.get(name, "pre_new")
        pane = self._pane_for(kind)
        pane.append_text(text, kind, self._gutter(kind))
        return pane


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
