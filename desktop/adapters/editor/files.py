"""Reading and writing the editor's files through resolved targets: regular UTF-8 files up
to a size limit, atomic writes (temp file beside the target, renamed over it; a rename never
follows a link at the final name), and directory listings that never follow links."""

from __future__ import annotations

import os
import secrets
import stat
from contextlib import suppress

from desktop.adapters.editor.paths import DIR_FLAGS, Refused, Target, show

__all__ = ["MAX_FILE_BYTES", "existing_text", "listing", "read_text", "write"]

MAX_FILE_BYTES = 8 * 1024 * 1024
_MAX_LISTING = 1000
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK  # no FIFO hang

# The editor's temp files: a run killed mid-write leaves one; resuming removes them.
TEMP_PREFIX, TEMP_SUFFIX = ".honk-edit-", ".tmp"
TEMP_GLOB = f"{TEMP_PREFIX}*{TEMP_SUFFIX}"


def read_bytes(target: Target) -> bytes:
    assert target.name is not None
    fd = os.open(target.name, _READ_FLAGS, dir_fd=target.parent)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise Refused(f"{target.rel} is not a regular file", target.rel)
        if st.st_size > MAX_FILE_BYTES:
            raise Refused(
                f"{target.rel} is {st.st_size} bytes; the editor handles files up to "
                f"{MAX_FILE_BYTES} bytes",
                target.rel,
            )
        return handle.read(MAX_FILE_BYTES + 1)


def read_text(target: Target) -> str:
    data = read_bytes(target)
    try:
        if b"\x00" in data:
            raise UnicodeDecodeError("utf-8", data, 0, 1, "NUL byte")
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(
            f"{target.rel} is not UTF-8 text; the editor only views and edits UTF-8 text files",
            target.rel,
        ) from None


def existing_text(target: Target) -> tuple[str, str, int]:
    rel = target.rel
    if target.name is None or target.st is None:
        raise Refused(f"File not found: {rel}", rel if target.name else None)
    if stat.S_ISDIR(target.st.st_mode):
        raise Refused(f"{rel} is a directory, not a file", rel)
    return rel, read_text(target), stat.S_IMODE(target.st.st_mode)


def write(target: Target, text: str, mode: int | None) -> None:
    """Atomic write: temp file beside the target, then rename over it."""
    assert target.name is not None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused("the text is not valid Unicode (lone surrogate)", target.rel) from None
    tmp = f"{TEMP_PREFIX}{secrets.token_hex(8)}{TEMP_SUFFIX}"
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
        raise Refused(
            f"Permission denied. Cannot write to file {target.rel}", target.rel
        ) from None


def listing(target: Target) -> str:
    """Non-hidden files and directories up to two levels deep, without following links."""
    rel = target.rel
    prefix = "" if rel == "." else rel + "/"
    fd = (
        target.parent
        if target.name is None
        else os.open(target.name, DIR_FLAGS, dir_fd=target.parent)
    )
    lines: list[str] = []
    try:
        for name, kind in _entries(fd):
            lines.append(f"{prefix}{show(name)}{kind}")
            if kind == "/":
                sub = os.open(name, DIR_FLAGS, dir_fd=fd)
                try:
                    lines.extend(
                        f"{prefix}{show(name)}/{show(n)}{k}" for n, k in _entries(sub)
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
