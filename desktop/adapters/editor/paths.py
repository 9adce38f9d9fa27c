"""Where the text editor tool may go: the model's path, resolved inside the worktree only.

A path is resolved one component at a time from an open directory descriptor (``openat``
with ``O_NOFOLLOW``), never by handing the whole string to the OS. Symbolic links are read
and re-resolved here: one that stays inside the worktree is followed, one that leaves it (or
loops) is refused. ``file.py``, ``./file.py``, ``/repo/file.py`` and the worktree's real
absolute path name the same file; any other absolute path is refused. Nothing under ``.git``
(in any case or look-alike spelling) is reached.
"""

from __future__ import annotations

import errno
import os
import stat
import unicodedata
from collections import deque
from pathlib import Path

__all__ = ["DIR_FLAGS", "PathBox", "Refused", "Target", "check_name", "show"]

VIRTUAL_ROOT = "/repo"  # how the tool's docs spell the repository root
_MAX_PATH_BYTES = 4096
_MAX_NAME_BYTES = 255
_MAX_LINK_HOPS = 40
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_BAD_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})  # controls, invisible format chars, surrogates


class Refused(Exception):
    """A tool error the model reads; never raised out of ``EditorTool.run`` (it answers with it)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def show(name: str) -> str:
    """A file name safe to put in output (undecodable bytes become U+FFFD)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_name(name: str) -> None:
    """Refuse one path component that is too long, invisible-tricky or a .git look-alike."""
    if len(name.encode("utf-8", "surrogatepass")) > _MAX_NAME_BYTES:
        raise Refused(f"the file name {show(name[:40])!r}... is longer than 255 bytes")
    if any(unicodedata.category(ch) in _BAD_CATEGORIES for ch in name):
        raise Refused(
            f"the path component {name!r} contains control or invisible characters; "
            "use plain visible characters"
        )
    folded = unicodedata.normalize("NFKC", name).casefold()
    if "/" in folded or "\\" in folded or folded.strip() in {".", ".."}:
        raise Refused(
            f"the path component {name!r} imitates a path separator or '..'; "
            "use plain ASCII '/' and '..' if you mean them"
        )
    if folded.rstrip(". ") == ".git" or folded == "git~1":
        raise Refused(
            "the repository's .git directory is off limits: the editor does not read or "
            "change anything under .git"
        )


class Target:
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
        return show("/".join(parts)) if parts else "."

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())


class PathBox:
    """Resolves the model's paths inside ``root`` (which must be a directory)."""

    def __init__(self, root: Path) -> None:
        self._given = os.path.abspath(root)
        self._root = os.path.realpath(root)

    def parts(self, raw: object) -> list[str]:
        """Turn the model's path string into worktree-relative components (unchecked '..')."""
        if not isinstance(raw, str):
            raise Refused(f"path must be a string, got {type(raw).__name__}")
        if not raw.strip():
            raise Refused("path is required, e.g. app/main.py")
        if "\x00" in raw:
            raise Refused("path contains a NUL byte")
        try:
            size = len(raw.encode("utf-8"))
        except UnicodeEncodeError:
            raise Refused("path is not valid Unicode text") from None
        if size > _MAX_PATH_BYTES:
            raise Refused(f"path is {size} bytes long; the limit is {_MAX_PATH_BYTES}")
        if "\\" in raw:
            raise Refused(f"path {raw!r} contains a backslash; separate directories with '/'")
        path = raw
        if path.startswith("/"):
            for prefix in (VIRTUAL_ROOT, self._given, self._root):
                if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                    path = path[len(prefix) :]
                    break
            else:
                raise Refused(
                    f"path {raw!r} is outside the worktree. Use a path relative to the "
                    "repository root, such as app/main.py or /repo/app/main.py"
                )
        parts = [p for p in path.split("/") if p not in ("", ".")]
        for part in parts:
            if part != "..":
                check_name(part)
        return parts

    def resolve(self, raw: object, *, for_write: bool, make_dirs: bool) -> Target:
        """Walk the path from the root descriptor, following only links that stay inside."""
        todo = deque(self.parts(raw))
        target = Target([os.open(self._root, DIR_FLAGS)], [], None)
        hops = 0
        try:
            while todo:
                name = todo.popleft()
                if name == "..":
                    if not target.names:
                        raise Refused(f"path {show(str(raw))!r} escapes the worktree")
                    os.close(target.fds.pop())
                    target.names.pop()
                    continue
                check_name(name)
                where = "/".join([*target.names, name])
                try:
                    st = os.stat(name, dir_fd=target.parent, follow_symlinks=False)
                except FileNotFoundError:
                    if not todo:
                        target.name = name
                        return target
                    if not make_dirs:
                        missing = "/".join([where, *todo])
                        raise Refused(f"File not found: {show(missing)}", None) from None
                    os.mkdir(name, 0o777, dir_fd=target.parent)
                    st = os.stat(name, dir_fd=target.parent, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    if not todo and for_write:
                        raise Refused(
                            f"{show(where)} is a symbolic link; the editor does not write "
                            "through links, edit the file it points to instead"
                        )
                    hops += 1
                    if hops > _MAX_LINK_HOPS:
                        raise Refused(f"too many symbolic links (a loop?) at {show(where)}")
                    todo.extendleft(reversed(self._link_parts(target, name, where)))
                    continue
                if not todo:
                    target.name = name
                    target.st = st
                    return target
                if not stat.S_ISDIR(st.st_mode):
                    raise Refused(f"{show(where)} is not a directory")
                target.fds.append(os.open(name, DIR_FLAGS, dir_fd=target.parent))
                target.names.append(name)
            target.st = os.fstat(target.parent)
            return target
        except BaseException as exc:
            target.close()
            if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
                raise Refused("a path component turned into a symbolic link; try again") from None
            raise

    def _link_parts(self, target: Target, name: str, where: str) -> list[str]:
        """The components a link stands for, relative to the link's directory or (after
        unwinding the chain) to the root. Links that leave the worktree are refused."""
        dest = os.readlink(name, dir_fd=target.parent)
        if dest.startswith("/"):
            if dest != self._root and not dest.startswith(self._root + "/"):
                raise Refused(
                    f"{show(where)} is a symbolic link that points outside the worktree"
                )
            while target.names:
                os.close(target.fds.pop())
                target.names.pop()
            dest = dest[len(self._root) :]
        return [p for p in dest.split("/") if p not in ("", ".")]
