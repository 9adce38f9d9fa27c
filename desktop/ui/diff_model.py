"""What the diff view shows for each change, kept per change so switching is instant.

Pure Python (no Qt): applied diffs per file, and the edit still streaming per tool call.
Previews hold only the appended deltas, so a long streamed edit stays linear.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from desktop.core.events import EditApplied, EditPreview, EditRejected, Event

__all__ = [
    "LARGE_DIFF_CHARS",
    "LARGE_DIFF_LINES",
    "ChangeDiff",
    "DiffRow",
    "FileEntry",
    "Placement",
    "Preview",
    "locate",
    "parse_unified",
    "side_by_side",
    "split_rows_at",
]

LARGE_DIFF_LINES = 20_000  # beyond this a file is summarized, not rendered line by line
LARGE_DIFF_CHARS = 4_000_000


@dataclass
class Preview:
    """An edit still streaming: the text of each field so far, in arrival order."""

    tool_use_id: str
    command: str
    path: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return "".join(self.fields.get(name, ()))


@dataclass
class FileEntry:
    path: str
    diff: str = ""
    added: int = 0
    removed: int = 0
    preview: Preview | None = None
    rejected: str = ""

    @property
    def binary(self) -> bool:
        # Only the header says so: look at its first lines, never split the whole diff
        # (this is asked on every streamed batch).
        head = self.diff[:4096].splitlines()[:8]
        return any(ln.startswith(("Binary files ", "GIT binary patch")) for ln in head)

    @property
    def large(self) -> bool:
        size = len(self.diff)
        return size > LARGE_DIFF_CHARS or (
            size > LARGE_DIFF_LINES and self.diff.count("\n") > LARGE_DIFF_LINES)


@dataclass
class ChangeDiff:
    """Files touched by one change, in the order the agent first touched them."""

    files: dict[str, FileEntry] = field(default_factory=dict)
    previews: dict[str, Preview] = field(default_factory=dict)  # by tool_use_id

    def entry(self, path: str) -> FileEntry:
        if path not in self.files:
            self.files[path] = FileEntry(path)
        return self.files[path]

    def apply(self, event: Event) -> str | None:
        """Fold one event in; returns the affected path (None if not a diff event)."""
        if isinstance(event, EditPreview):
            preview = self.previews.get(event.tool_use_id)
            if preview is None:
                preview = Preview(event.tool_use_id, event.command, event.path)
                self.previews[event.tool_use_id] = preview
            preview.command = event.command or preview.command
            preview.path = event.path or preview.path
            preview.fields.setdefault(event.field, []).append(event.delta)
            if preview.path:
                self.entry(preview.path).preview = preview
            return preview.path or None
        if isinstance(event, EditApplied):
            entry = self.entry(event.path)
            entry.diff, entry.added, entry.removed = event.diff, event.added, event.removed
            entry.preview, entry.rejected = None, ""
            self.previews.pop(event.tool_use_id, None)
            return event.path
        if isinstance(event, EditRejected):
            preview = self.previews.pop(event.tool_use_id, None)
            path = event.path or (preview.path if preview else "")
            if not path:
                return None
            entry = self.entry(path)
            entry.preview, entry.rejected = None, event.error
            if not entry.diff:  # never landed: nothing to show for this file
                self.files.pop(path, None)
            return path
        return None


@dataclass(frozen=True)
class Placement:
    """Where a streaming edit lands in the file's current text (line numbers 1-based).

    ``old`` are the whole current lines the edit replaces (shown removed); the forming
    line starts with ``prefix`` and ends with ``suffix`` (the untouched parts of the first
    and last replaced lines), so the new text grows in place between them.
    """

    line: int
    old: tuple[str, ...] = ()
    prefix: str = ""
    suffix: str = ""
    before: tuple[str, ...] = ()  # context lines just above
    after: tuple[str, ...] = ()  # context lines just below
    whole_file: bool = False
    eol: bool = False  # old_str ended a line: the new text's last newline is that same one


CONTEXT_LINES = 3


def locate(preview: Preview, text: str | None, context: int = CONTEXT_LINES) -> Placement | None:
    """Where ``preview`` lands in ``text`` (the file as it is now), or None when unknown.

    create: the whole new file. str_replace: once ``old_str`` is complete (``new_str`` has
    begun) and found exactly once. insert: at ``insert_line`` when the stream carries it.
    """
    if preview.command == "create":
        return Placement(line=1, whole_file=True)
    if text is None or (preview.command == "str_replace" and "new_str" not in preview.fields):
        return None  # old_str still streaming: asked per batch, so answer before any split
    lines = text.split("\n")
    if preview.command == "str_replace":
        old = preview.text("old_str")
        if not old or text.count(old) != 1:
            return None
        start = text.index(old)
        end = start + len(old)
        first = text.rfind("\n", 0, start) + 1
        eol = old.endswith("\n")
        last = end - 1 if eol else text.find("\n", end)
        last = len(text) if last < 0 else last
        line = text.count("\n", 0, start) + 1
        old_lines = tuple(text[first:last].split("\n"))
        below = line - 1 + len(old_lines)
        return Placement(line=line, old=old_lines, prefix=text[first:start],
                         suffix=text[end:last], before=tuple(lines[max(0, line - 1 - context):
                                                                   line - 1]),
                         after=tuple(_trim_end(lines[below:below + context], below, lines)),
                         eol=eol)
    if preview.command == "insert":
        raw = preview.text("insert_line").strip()
        if not raw.isdigit() or int(raw) > len(lines):
            return None
        at = int(raw)
        return Placement(line=at + 1, before=tuple(lines[max(0, at - context):at]),
                         after=tuple(_trim_end(lines[at:at + context], at, lines)), eol=True)
    return None


def _trim_end(chunk: list[str], start: int, lines: list[str]) -> list[str]:
    # A file ending in a newline splits into a last "" that is no line of its own.
    if start + len(chunk) == len(lines) and chunk and chunk[-1] == "":
        return chunk[:-1]
    return chunk


@dataclass(frozen=True)
class DiffRow:
    """One rendered line: kind is hunk | add | del | ctx | meta; numbers are 1-based."""

    kind: str
    text: str
    old: int | None = None
    new: int | None = None


def parse_unified(diff: str) -> list[DiffRow]:
    """Rows of a git unified diff with line numbers; file headers are dropped."""
    rows: list[DiffRow] = []
    old = new = 0
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("@@"):
            in_hunk = True
            old, new = _hunk_start(line)
            rows.append(DiffRow("hunk", line))
        elif not in_hunk:
            continue  # diff --git / index / --- / +++ headers: the file tree names the file
        elif line.startswith("+"):
            rows.append(DiffRow("add", line[1:], None, new))
            new += 1
        elif line.startswith("-"):
            rows.append(DiffRow("del", line[1:], old, None))
            old += 1
        elif line.startswith("\\"):
            rows.append(DiffRow("meta", line))
        else:
            rows.append(DiffRow("ctx", line[1:], old, new))
            old += 1
            new += 1
    return rows


def split_rows_at(rows: list[DiffRow], line: int) -> int:
    """Index in ``rows`` before the first hunk that starts (new side) after ``line``."""
    for i, row in enumerate(rows):
        if row.kind == "hunk" and _hunk_start(row.text)[1] > line:
            return i
    return len(rows)


def _hunk_start(line: str) -> tuple[int, int]:
    try:
        ranges = line.split("@@")[1].split()
        old = int(ranges[0][1:].split(",")[0])
        new = int(ranges[1][1:].split(",")[0])
        return old, new
    except (IndexError, ValueError):
        return 0, 0


def side_by_side(rows: list[DiffRow]) -> list[tuple[DiffRow | None, DiffRow | None]]:
    """Pair deletions with additions; the shorter side of a run gets fillers (None)."""
    pairs: list[tuple[DiffRow | None, DiffRow | None]] = []
    dels: list[DiffRow] = []
    adds: list[DiffRow] = []

    def flush() -> None:
        for i in range(max(len(dels), len(adds))):
            pairs.append((dels[i] if i < len(dels) else None, adds[i] if i < len(adds) else None))
        dels.clear()
        adds.clear()

    for row in rows:
        if row.kind == "del":
            if adds:
                flush()
            dels.append(row)
        elif row.kind == "add":
            adds.append(row)
        else:
            flush()
            pairs.append((row, row))
    flush()
    return pairs
