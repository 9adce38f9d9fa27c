"""A unified diff split into per-file parts, line numbers kept: what the judge's rules read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["FileDiff", "parse_diff"]


@dataclass
class FileDiff:
    """One file's part of a unified diff: its lines with their old/new line numbers."""

    old_path: str = ""
    new_path: str = ""
    deleted: bool = False
    added: list[tuple[int, str]] = field(default_factory=list)  # (new line number, text)
    removed: list[tuple[int, str]] = field(default_factory=list)  # (old line number, text)
    # Every line in order as (tag, line number, text); tag "@" is a hunk header's trailing text.
    lines: list[tuple[str, int, str]] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.new_path or self.old_path


_GIT_HEADER = re.compile(r"^diff --git a/(.*) b/(.*)$")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@(.*)$")


def _strip_prefix(path: str) -> str:
    path = path.strip().split("\t", 1)[0]
    if path == "/dev/null":
        return ""
    if path.startswith(("a/", "b/")):
        return path[2:]
    return path


def parse_diff(diff: str) -> list[FileDiff]:
    """Split a unified diff (``git diff`` or plain) into per-file parts.

    Hunk line counts decide where a hunk ends, so a removed line that starts with ``--``
    is never mistaken for a file header.
    """
    files: list[FileDiff] = []
    current: FileDiff | None = None
    old_left = new_left = 0
    old_no = new_no = 0
    for line in diff.splitlines():
        if current is not None and (old_left > 0 or new_left > 0):
            tag, text = line[:1], line[1:]
            if tag == "+":
                current.added.append((new_no, text))
                current.lines.append(("+", new_no, text))
                new_no, new_left = new_no + 1, new_left - 1
                continue
            if tag == "-":
                current.removed.append((old_no, text))
                current.lines.append(("-", old_no, text))
                old_no, old_left = old_no + 1, old_left - 1
                continue
            if tag == " " or line == "":  # some tools strip the blank of an empty context line
                current.lines.append((" ", new_no, text))
                old_no, new_no = old_no + 1, new_no + 1
                old_left, new_left = old_left - 1, new_left - 1
                continue
            if tag == "\\":  # "\ No newline at end of file"
                continue
            old_left = new_left = 0  # a hunk cut short: read this line as a header
        if m := _GIT_HEADER.match(line):
            current = FileDiff(old_path=m.group(1), new_path=m.group(2))
            files.append(current)
        elif line.startswith("--- "):
            if current is None or current.lines:
                current = FileDiff()
                files.append(current)
            current.old_path = _strip_prefix(line[4:])
        elif line.startswith("+++ ") and current is not None:
            current.new_path = _strip_prefix(line[4:])
            if not current.new_path:
                current.deleted = True
        elif line.startswith("deleted file mode") and current is not None:
            current.deleted = True
        elif line.startswith("rename to ") and current is not None:
            current.new_path = line[len("rename to ") :]
        elif (m := _HUNK.match(line)) and current is not None:
            old_no, new_no = int(m.group(1)), int(m.group(3))
            old_left = int(m.group(2)) if m.group(2) is not None else 1
            new_left = int(m.group(4)) if m.group(4) is not None else 1
            current.lines.append(("@", new_no, m.group(5)))
    return files
