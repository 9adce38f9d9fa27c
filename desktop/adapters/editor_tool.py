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
any case or look-alike spelling) is read or written.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import unicodedata
from collections import deque
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TOOL_NAME", "TOOL_TYPE", "EditorTool", "ToolOutcome"]

TOOL_TYPE = "text_editor_20250728"
TOOL_NAME = "str_replace_based_edit_tool"

_VIRTUAL_ROOT = "/repo"  # how the tool's docs spell the repository root
_MAX_PATH_BYTES = 4096
_MAX_NAME_BYTES = 255
_MAX_LINK_HOPS = 40
_MAX_FILE_BYTES = 8 * 1024 * 1024
_MAX_LISTING = 1000
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # no FIFO hang
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})  # controls, invisible format chars, surrogates


@dataclass(frozen=True)
class ToolOutcome:
    """What goes back to the model as a ``tool_result``; ``changed`` means a file was written."""

    content: str
    is_error: bool
    path: str | None  # worktree-relative, None when the path never resolved inside
    changed: bool = False


class _Refused(Exception):
    """A tool error the model reads; never raised out of ``EditorTool.run``."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _show(name: str) -> str:
    """A file name safe to put in output (undecodable bytes become U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _check_name(name: str) -> None:
    """Refuse one path component that is too long, invisible-tricky or a .git look-alike."""
    if len(name.encode("utf-8", "surrogatepass")) > _MAX_NAME_BYTES:
        raise _Refused(f"the file name {_show(name[:40])!r}... is longer than 255 bytes")
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in name):
        raise _Refused(
            f"the path component {name!r} contains control or invisible characters; "
            "use plain visible characters"
        )
    folded = unicodedata.normalize("NFKC", name).casefold()
    if "/" in folded or "\\" in folded or folded.strip() in {".", ".."}:
        raise _Refused(
            f"the path component {name!r} imitates a path separator or '..'; "
            "use plain ASCII '/' and '..' if you mean them"
        )
    if folded.rstrip(". ") == ".git" or folded == "git~1":
        raise _Refused(
            "the repository's .git directory is off limits: the editor does not read or "
            "change anything under .git"
        )


class _Target:
    """A resolved path: the chain of open directory descriptors and the final name in the last
    one (``name`` None means the directory itself). ``st`` is the final entry's lstat, or None
    when it does not exist."""

    def __init__(self, fds: list[int], names: list[str], name: str | None) -> None:
        self.fds = fds
        self.names = names
        self.name = name
        self.st: os.stat_result | None = None

    @property
    def parent(self) -> int:
        return self.fds[-1]

    @property
    def rel(self) -> str:
        parts = [*self.names, *([self.name] if self.name is not None else [])]
        return _show("/".join(parts)) if parts else "."

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())


class EditorTool:
    """Runs text editor tool calls against files under ``root`` and nowhere else."""

    def __init__(self, root: Path, *, max_characters: int | None = None) -> None:
        if not root.is_dir():
            raise ValueError(f"editor root is not a directory: {root}")
        if max_characters is not None and max_characters < 1:
            raise ValueError(f"max_characters must be positive, got {max_characters}")
        self._given = os.path.abspath(root)
        self._root = os.path.realpath(root)
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
        target = self._resolve(args.get("path"), for_write=False, make_dirs=False)
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
                return ToolOutcome(f"{head}\n{self._clip(self._listing(target), '')}", False, rel)
            text = self._read_text(target)
            return ToolOutcome(self._numbered(text, view_range, rel), False, rel)
        finally:
            target.close()

    def _create(self, args: Mapping[str, object]) -> ToolOutcome:
        file_text = _text_arg(args, "file_text", required=True)
        target = self._resolve(args.get("path"), for_write=True, make_dirs=True)
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
            self._write(target, file_text, mode)
            verb = "overwritten" if existed else "created"
            return ToolOutcome(f"File {verb} successfully at: {rel}", False, rel, changed=True)
        finally:
            target.close()

    def _str_replace(self, args: Mapping[str, object]) -> ToolOutcome:
        old = _text_arg(args, "old_str", required=True)
        new = _text_arg(args, "new_str", required=False)
        if old == "":
            raise _Refused("old_str must not be empty: give the exact text to replace")
        target = self._resolve(args.get("path"), for_write=True, make_dirs=False)
        try:
            rel, text, mode = self._existing_text(target)
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
                self._write(target, updated, mode)
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
        target = self._resolve(args.get("path"), for_write=True, make_dirs=False)
        try:
            rel, text, mode = self._existing_text(target)
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
            self._write(target, "".join(lines), mode)
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

    # ---- path resolution ------------------------------------------------------------------

    def _parts(self, raw: object) -> list[str]:
        """Turn the model's path string into worktree-relative components (unchecked '..')."""
        if not isinstance(raw, str):
            raise _Refused(f"path must be a string, got {type(raw).__name__}")
        if not raw.strip():
            raise _Refused("path is required, e.g. app/main.py")
        if "\x00" in raw:
            raise _Refused("path contains a NUL byte")
        try:
            size = len(raw.encode("utf-8"))
        except UnicodeEncodeError:
            raise _Refused("path is not valid Unicode text") from None
        if size > _MAX_PATH_BYTES:
            raise _Refused(f"path is {size} bytes long; the limit is {_MAX_PATH_BYTES}")
        if "\\" in raw:
            raise _Refused(f"path {raw!r} contains a backslash; separate directories with '/'")
        path = raw
        if path.startswith("/"):
            for prefix in (_VIRTUAL_ROOT, self._given, self._root):
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    path = path[len(prefix) :]
                    break
            else:
                raise _Refused(
                    f"path {raw!r} is outside the worktree. Use a path relative to the "
                    "repository root, such as app/main.py or /repo/app/main.py"
                )
        parts = [p for p in path.split("/") if p not in ("", ".")]
        for part in parts:
            if part != "..":
                _check_name(part)
        return parts

    def _resolve(self, raw: object, *, for_write: bool, make_dirs: bool) -> _Target:
        """Walk the path from the root descriptor, following only links that stay inside."""
        todo = deque(self._parts(raw))
        target = _Target([os.open(self._root, _DIR_FLAGS)], [], None)
        hops = 0
        try:
            while todo:
                name = todo.popleft()
                if name == "..":
                    if not target.names:
                        raise _Refused(f"path {_show(str(raw))!r} escapes the worktree")
                    os.close(target.fds.pop())
                    target.names.pop()
                    continue
                _check_name(name)
                where = "/".join([*target.names, name])
                try:
                    st = os.stat(name, dir_fd=target.parent, follow_symlinks=False)
                except FileNotFoundError:
                    if not todo:
                        target.name = name
                        return target
                    if not make_dirs:
                        missing = "/".join([where, *todo])
                        raise _Refused(f"File not found: {_show(missing)}", None) from None
                    os.mkdir(name, 0o777, dir_fd=target.parent)
                    st = os.stat(name, dir_fd=target.parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    if not todo and for_write:
                        raise _Refused(
                            f"{_show(where)} is a symbolic link; the editor does not write "
                            "through links, edit the file it points to instead"
                        )
                    hops += 1
                    if hops > _MAX_LINK_HOPS:
                        raise _Refused(f"too many symbolic links (a loop?) at {_show(where)}")
                    todo.extendleft(reversed(self._link_parts(target, name, where)))
                    continue
                if not todo:
                    target.name = name
                    target.st = st
                    return target
                if not stat.S_ISDIR(st.st_mode):
                    raise _Refused(f"{_show(where)} is not a directory")
                target.fds.append(os.open(name, _DIR_FLAGS, dir_fd=target.parent))
                target.names.append(name)
            target.st = os.fstat(target.parent)
            return target
        except BaseException as exc:
            target.close()
            if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
                raise _Refused("a path component turned into a symbolic link; try again") from None
            raise

    def _link_parts(self, target: _Target, name: str, where: str) -> list[str]:
        """The components a link stands for, relative to the link's directory or (after
        unwinding the chain) to the root. Links that leave the worktree are refused."""
        dest = os.readlink(name, dir_fd=target.parent)
        if dest.startswith("/"):
            if dest != self._root and not dest.startswith(self._root + "/"):
                raise _Refused(
                    f"{_show(where)} is a symbolic link that points outside the worktree"
                )
            while target.names:
                os.close(target.fds.pop())
                target.names.pop()
            dest = dest[len(self._root) :]
        return [p for p in dest.split("/") if p not in ("", ".")]

    # ---- reading and writing --------------------------------------------------------------

    def _read_bytes(self, target: _Target) -> bytes:
        assert target.name is not None
        fd = os.open(target.name, _READ_FLAGS, dir_fd=target.parent)
        with os.fdopen(fd, "rb") as handle:
            st = os.fstat(handle.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise _Refused(f"{target.rel} is not a regular file", target.rel)
            if st.st_size > _MAX_FILE_BYTES:
                raise _Refused(
                    f"{target.rel} is {st.st_size} bytes; the editor handles files up to "
                    f"{_MAX_FILE_BYTES} bytes",
                    target.rel,
                )
            return handle.read(_MAX_FILE_BYTES + 1)

    def _read_text(self, target: _Target) -> str:
        data = self._read_bytes(target)
        try:
            if b"\x00" in data:
                raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise _Refused(
                f"{target.rel} is not UTF-8 text; the editor only views and edits UTF-8 text files",
                target.rel,
            ) from None

    def _existing_text(self, target: _Target) -> tuple[str, str, int]:
        rel = target.rel
        if target.name is None or target.st is None:
            raise _Refused(f"File not found: {rel}", rel if target.name else None)
        if stat.S_ISDIR(target.st.st_mode):
            raise _Refused(f"{rel} is a directory, not a file", rel)
        return rel, self._read_text(target), stat.S_IMODE(target.st.st_mode)

    def _write(self, target: _Target, text: str, mode: int | None) -> None:
        """Atomic write: temp file beside the target, then rename over it."""
        assert target.name is not None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            raise _Refused("the text is not valid Unicode (lone surrogate)", target.rel) from None
        tmp = f".honk-edit-{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o666, dir_fd=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    if mode is not None:
                        os.fchmod(handle.fileno(), mode & 0o777)
                    os.fsync(handle.fileno())
                os.replace(tmp, target.name, src_dir_fd=target.parent, dst_dir_fd=target.parent)
            except BaseException:
                with suppress(OSError):
                    os.unlink(tmp, dir_fd=target.parent)
                raise
        except PermissionError:
            raise _Refused(
                f"Permission denied. Cannot write to file {target.rel}", target.rel
            ) from None

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

    def _listing(self, target: _Target) -> str:
        """Non-hidden files and directories up to two levels deep, without following links."""
        rel = target.rel
        prefix = "" if rel == "." else rel + "/"
        fd = (
            target.parent
            if target.name is None
            else os.open(target.name, _DIR_FLAGS, dir_fd=target.parent)
        )
        lines: list[str] = []
        try:
            for name, kind in _entries(fd):
                lines.append(f"{prefix}{_show(name)}{kind}")
                if kind == "/":
                    sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
                    try:
                        lines.extend(
                            f"{prefix}{_show(name)}/{_show(n)}{k}" for n, k in _entries(sub)
                        )
                    finally:
                        os.close(sub)
                if len(lines) > _MAX_LISTING:
                    break
        finally:
            if fd != target.parent:
                os.close(fd)
        more = f"\n[listing cut at {_MAX_LISTING} entries]" if len(lines) > _MAX_LISTING else ""
        return "\n".join(lines[:_MAX_LISTING]) + more


def _entries(dir_fd: int) -> list[tuple[str, str]]:
    """(name, suffix) of the visible entries of a directory: '/' for directories, '@' for links."""
    out: list[tuple[str, str]] = []
    for name in sorted(os.listdir(dir_fd)):
        if name.startswith("."):
            continue
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except FileNotFoundError:
            continue
        out.append((name, "/" if stat.S_ISDIR(mode) else "@" if stat.S_ISLNK(mode) else ""))
    return out


def _text_arg(args: Mapping[str, object], key: str, *, required: bool) -> str:
    value = args.get(key)
    if value is None:
        if required:
            raise _Refused(f"{key} is required for this command")
        return ""
    if not isinstance(value, str):
        raise _Refused(f"{key} must be a string, got {type(value).__name__}")
    return value
