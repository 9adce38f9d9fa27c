"""What Claude Code may do in a change's worktree: which tools, and which paths.

Claude Code's tools take absolute paths (the CLI makes a relative one absolute before it
asks), so a path is allowed when it names something inside the worktree, by the editor's own
rules (``desktop/adapters/editor/paths.py``): resolved one component at a time, links
followed only while they stay inside, nothing under ``.git``, no control characters or
look-alike separators. A path that does not exist yet (``Write`` of a new file) is allowed
when its nearest existing ancestor is inside and the rest holds no ``..``. Anything else is
refused, and the refusal is what the model reads as the tool's error.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from desktop.adapters.claude_code.session import TOOLS, VERIFY_TOOL
from desktop.adapters.editor.paths import PathBox, Refused

__all__ = ["WorktreeGate"]

WRITE_TOOLS = frozenset({"Edit", "Write"})
# The inputs that name a path, per tool, and whether the tool needs it.
_PATHS: Mapping[str, tuple[tuple[str, bool], ...]] = {
    "Read": (("file_path", True),),
    "Edit": (("file_path", True),),
    "Write": (("file_path", True),),
    "Glob": (("path", False),),
    "Grep": (("path", False),),
}
# Glob patterns, matched under the searched directory: they may not climb out of it.
_PATTERNS: Mapping[str, tuple[str, ...]] = {"Glob": ("pattern",), "Grep": ("glob",)}


class WorktreeGate:
    """Decides each Claude Code tool call for one worktree: None to allow, else a refusal."""

    def __init__(self, worktree: Path) -> None:
        self._given = os.path.abspath(worktree)
        self._root = os.path.realpath(worktree)
        self._box = PathBox(Path(self._root))
        self.allowed = (*TOOLS, VERIFY_TOOL)

    def refusal(self, tool: str, tool_input: Mapping[str, Any]) -> str | None:
        """Why Honk refuses this call (the model reads it), or None when it may run."""
        if tool not in self.allowed:
            names = ", ".join(TOOLS)
            return (f"Honk refused {tool}: in this change you may use only {names} and "
                    "run_verifiers (no shell, no network, no sub-agents)")
        for key, required in _PATHS.get(tool, ()):
            raw = tool_input.get(key)
            if raw is None and not required:
                continue
            problem = self._path_problem(raw, key, for_write=tool in WRITE_TOOLS)
            if problem:
                return f"Honk refused {tool}: {problem}"
        for key in _PATTERNS.get(tool, ()):
            pattern = tool_input.get(key)
            if isinstance(pattern, str) and self._escapes(pattern):
                return (f"Honk refused {tool}: the {key} {pattern!r} reaches outside the "
                        "worktree; use a pattern relative to it, without '..'")
        return None

    def relative(self, raw: str) -> str | None:
        """``raw`` as a worktree-relative path by its spelling alone (no file is looked at),
        or None when it names a place outside. For labels and previews, not for permission."""
        rel = self._strip_root(raw)
        if rel is None:
            return None
        rel = posixpath.normpath(rel) if rel else "."
        return None if rel == ".." or rel.startswith("../") else rel

    # -- paths ------------------------------------------------------------------------------

    def _strip_root(self, raw: str) -> str | None:
        if not raw.startswith("/"):
            return raw
        for root in (self._given, self._root):
            if raw == root or raw.startswith(root.rstrip("/") + "/"):
                return raw[len(root):].lstrip("/")
        return None

    def _path_problem(self, raw: object, key: str, *, for_write: bool) -> str | None:
        if not isinstance(raw, str) or not raw.strip():
            return f"{key} must be a path inside the worktree, got {raw!r}"
        rel = self._strip_root(raw)
        if rel is None:
            return f"{raw!r} is outside the worktree ({self._given})"
        try:
            self._check_inside(rel or ".", for_write=for_write)
        except Refused as refused:
            return refused.message
        return None

    def _check_inside(self, rel: str, *, for_write: bool) -> None:
        """Walk ``rel`` with the editor's confinement; raises :class:`Refused`."""
        parts = self._box.parts(rel)  # component rules: names, .git, control characters
        for cut in range(len(parts), -1, -1):
            head = "/".join(parts[:cut]) or "."
            whole = cut == len(parts)
            try:
                target = self._box.resolve(head, for_write=for_write and whole,
                                           make_dirs=False)
            except Refused:
                if os.path.lexists(os.path.join(self._root, head)):
                    raise  # it exists and is refused: a link out, .git, a loop...
                continue  # a directory on the way does not exist yet: try its parent
            target.close()
            if ".." in parts[cut:]:
                raise Refused(f"{rel!r} climbs with '..' through a directory that does "
                              "not exist; name the path inside the worktree directly")
            return

    def _escapes(self, pattern: str) -> bool:
        """Whether a glob pattern may match outside the worktree (by its spelling: a pattern
        is never a link to follow)."""
        rel = self._strip_root(pattern)
        return rel is None or rel.startswith("~") or ".." in rel
