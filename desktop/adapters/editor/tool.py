"""Server side of Anthropic's text editor tool (``text_editor_20250728``), boxed in a worktree.

Commands, as documented: ``view`` (a file with ``N: `` line numbers, optional ``view_range``;
or a directory listed two levels deep, hidden entries left out), ``create`` (``path``,
``file_text``; an existing file is overwritten), ``str_replace`` (``old_str`` must match exactly
once) and ``insert`` (after ``insert_line``; the text in ``insert_text`` or, as older docs have
it, ``new_str``). There is no ``undo_edit`` in this version.

Paths. The docs' examples write paths as ``/repo/file.py`` or ``file.py``, so ``file.py``,
``./file.py``, ``/repo/file.py`` and the worktree's real absolute path all name the same file;
any other absolute path is refused. ``ToolOutcome.path`` is always worktree-relative.

Confinement. A path is resolved one component at a time from an open directory descriptor
(``openat`` with ``O_NOFOLLOW``), never by handing the whole string to the OS. Symbolic links
are read and re-resolved by this code: one that stays inside the worktree is followed, one
that leaves it (or loops) is refused. So a directory swapped for a symlink between a check
and a write can't redirect the write: the swapped component is seen as a link and checked
again. Writes go to a temp file in the same directory and are renamed over the target
(atomic, and a rename never follows a link at the final name). Nothing under ``.git`` (in
any case or look-alike spelling) is read or written. (Paths and confinement live in
``editor_paths``, reading and writing in ``editor_files``; the commands are here.)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.editor.files import existing_text, listing, read_text, write
from desktop.adapters.editor.paths import PathBox
from desktop.adapters.editor.paths import Refused as _Refused

__all__ = ["TOOL_NAME", "TOOL_TYPE", "EditorTool", "ToolOutcome"]

TOOL_TYPE = "text_editor_20250728"
TOOL_NAME = "str_replace_based_edit_tool"



@dataclass(frozen=True)
class ToolOutcome:
    """What goes back to the model as a ``tool_result``; ``changed`` means a file was written."""

    content: str
    is_error: bool
    path: str | None  # worktree-relative, None when the path never resolved inside
    changed: bool = False


class EditorTool:
    """Runs text editor tool calls against files under ``root`` and nowhere else."""

    def __init__(self, root: Path, *, max_characters: int | None = None) -> None:
        if not root.is_dir():
            raise ValueError(f"editor root is not a directory: {root}")
        if max_characters is not None and max_characters < 1:
            raise ValueError(f"max_characters must be positive, got {max_characters}")
        self._box = PathBox(root)  # confinement: see editor_paths
        self._max_characters = max_characters

    def definition(self) -> dict[str, object]:
        """The tool entry for the Messages API ``tools`` list."""
        tool: dict[str, object] = {"type": TOOL_TYPE, "name": TOOL_NAME}
        if self._max_characters is not None:
            tool["max_characters"] = self._max_characters
        return tool

    def run(self, tool_input: Mapping[str, object]) -> ToolOutcome:
        """Run one tool call. Bad input never raises: it comes back as an ``is_error`` outcome."""
        try:
            if not isinstance(tool_input, Mapping):
                raise _Refused(
                    f"the tool input must be a JSON object, got {type(tool_input).__name__}"
                )
            command = tool_input.get("command")
            if command == "undo_edit":
                raise _Refused(
                    "undo_edit is not available in this version of the text editor tool "
                    f"({TOOL_TYPE}); use str_replace or create to put the text back"
                )
            handlers = {
                "view": self._view,
                "create": self._create,
                "str_replace": self._str_replace,
                "insert": self._insert,
            }
            if not isinstance(command, str) or command not in handlers:
                raise _Refused(
                    f"unknown command {command!r}: "
                    "expected one of view, create, str_replace, insert"
                )
            return handlers[command](tool_input)
        except _Refused as refused:
            return ToolOutcome(f"Error: {refused.message}", True, refused.path)
        except OSError as exc:  # unexpected I/O trouble; report errno only, never a full path
            return ToolOutcome(f"Error: {os.strerror(exc.errno or 0)}", True, None)
        except (RecursionError, MemoryError, ValueError) as exc:
            return ToolOutcome(f"Error: the editor could not run this call ({exc!r})", True, None)

    # ---- commands -------------------------------------------------------------------------

    def _view(self, args: Mapping[str, object]) -> ToolOutcome:
        target = self._box.resolve(args.get("path"), for_write=False, make_dirs=False)
        try:
            rel = target.rel
            if target.name is not None and target.st is None:
                raise _Refused(f"File not found: {rel}", rel)
            view_range = args.get("view_range")
            is_dir = target.st is None or stat.S_ISDIR(target.st.st_mode)
            if is_dir:
                if view_range is not None:
                    raise _Refused(
                        f"view_range applies to files only, and {rel} is a directory", rel
                    )
                head = (
                    f"Files and directories up to 2 levels deep in {rel}, excluding hidden items:"
                )
                return ToolOutcome(f"{head}\n{self._clip(listing(target), '')}", False, rel)
            text = read_text(target)
            return ToolOutcome(self._numbered(text, view_range, rel), False, rel)
        finally:
            target.close()

    def _create(self, args: Mapping[str, object]) -> ToolOutcome:
        file_text = _text_arg(args, "file_text", required=True)
        target = self._box.resolve(args.get("path"), for_write=True, make_dirs=True)
        try:
            rel = target.rel
            if target.name is None or (target.st is not None and stat.S_ISDIR(target.st.st_mode)):
                raise _Refused(f"{rel} is a directory; create needs a file path", rel)
            existed = target.st is not None
            mode = None
            if target.st is not None:
                if not stat.S_ISREG(target.st.st_mode):  # FIFOs, devices, sockets
                    raise _Refused(f"{rel} is not a regular file", rel)
                mode = stat.S_IMODE(target.st.st_mode)
            write(target, file_text, mode)
            verb = "overwritten" if existed else "created"
            return ToolOutcome(f"File {verb} successfully at: {rel}", False, rel, changed=True)
        finally:
            target.close()

    def _str_replace(self, args: Mapping[str, object]) -> ToolOutcome:
        old = _text_arg(args, "old_str", required=True)
        new = _text_arg(args, "new_str", required=False)
        if old == "":
            raise _Refused("old_str must not be empty: give the exact text to replace")
        target = self._box.resolve(args.get("path"), for_write=True, make_dirs=False)
        try:
            rel, text, mode = existing_text(target)
            count = text.count(old)
            first = text.find(old)
            if count == 1 and text.find(old, first + 1) != -1:
                count = 2  # overlapping occurrences are just as ambiguous
            if count == 0:
                raise _Refused(
                    "No match found for replacement. Please check your text and try again.", rel
                )
            if count > 1:
                raise _Refused(
                    f"Found {count} matches for replacement text. Please provide more context "
                    "to make a unique match.",
                    rel,
                )
            updated = text[:first] + new + text[first + len(old) :]
            if updated != text:
                write(target, updated, mode)
            return ToolOutcome(
                "Successfully replaced text at exactly one location.", False, rel, updated != text
            )
        finally:
            target.close()

    def _insert(self, args: Mapping[str, object]) -> ToolOutcome:
        line = args.get("insert_line")
        if not isinstance(line, int) or isinstance(line, bool):
            raise _Refused(f"insert_line must be an integer line number, got {line!r}")
        new_text = self._insert_text(args)
        target = self._box.resolve(args.get("path"), for_write=True, make_dirs=False)
        try:
            rel, text, mode = existing_text(target)
            lines = text.splitlines(keepends=True)
            if not 0 <= line <= len(lines):
                raise _Refused(
                    f"insert_line {line} is out of range: {rel} has {len(lines)} lines, "
                    f"so use 0 (the top) to {len(lines)} (the end)",
                    rel,
                )
            if line == len(lines) and lines and not lines[-1].endswith(("\n", "\r")):
                lines[-1] += "\n"
            block = new_text if new_text.endswith("\n") else new_text + "\n"
            lines.insert(line, block)
            write(target, "".join(lines), mode)
            return ToolOutcome(f"Text inserted after line {line} of {rel}.", False, rel, True)
        finally:
            target.close()

    @staticmethod
    def _insert_text(args: Mapping[str, object]) -> str:
        # Docs differ between versions: insert_text now, new_str before. Take either.
        insert_text = args.get("insert_text")
        new_str = args.get("new_str")
        for key, value in (("insert_text", insert_text), ("new_str", new_str)):
            if value is not None and not isinstance(value, str):
                raise _Refused(f"{key} must be a string, got {type(value).__name__}")
        if insert_text is None and new_str is None:
            raise _Refused("insert needs the text to insert in insert_text (or new_str)")
        if insert_text is not None and new_str is not None and insert_text != new_str:
            raise _Refused("insert got different texts in insert_text and new_str; send one")
        text = insert_text if isinstance(insert_text, str) else new_str
        assert isinstance(text, str)
        return text

    # ---- output ---------------------------------------------------------------------------

    def _numbered(self, text: str, view_range: object, rel: str) -> str:
        lines = text.split("\n") if text else []
        if text.endswith("\n"):
            lines.pop()
        start, end = 1, len(lines)
        if view_range is not None:
            if (
                not isinstance(view_range, list | tuple)
                or len(view_range) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in view_range)
            ):
                raise _Refused(
                    f"view_range must be two integers [start_line, end_line], got {view_range!r}",
                    rel,
                )
            start, end = int(view_range[0]), int(view_range[1])
            if not 1 <= start <= max(len(lines), 1):
                raise _Refused(
                    f"view_range start {start} is out of range: {rel} has {len(lines)} lines", rel
                )
            if end == -1 or end > len(lines):
                end = len(lines)  # -1 means "to the end"; past the end is read as the same
            elif end < start:
                raise _Refused(f"view_range end {end} is before its start {start}", rel)
        if not lines:
            return f"{rel} is empty."
        body = "\n".join(f"{n}: {lines[n - 1]}" for n in range(start, end + 1))
        return self._clip(body, f" {rel} has {len(lines)} lines; use view_range to see the rest.")

    def _clip(self, body: str, hint: str) -> str:
        limit = self._max_characters
        if limit is None or len(body) <= limit:
            return body
        cut = body[:limit]
        if "\n" in cut:
            cut = cut[: cut.rindex("\n")]  # whole lines only
        return f"{cut}\n[output truncated to {limit} characters.{hint}]"

def _text_arg(args: Mapping[str, object], key: str, *, required: bool) -> str:
    value = args.get(key)
    if value is None:
        if required:
            raise _Refused(f"{key} is required for this command")
        return ""
    if not isinstance(value, str):
        raise _Refused(f"{key} must be a string, got {type(value).__name__}")
    return value
