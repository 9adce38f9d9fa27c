"""A worktree's changes against its base commit, read through a throw-away copy of its index.

Untracked files show up in the diffs while the worktree's real index is left as it was. Every
git call goes through ``gitcli.git``; ``GitWorkspace`` checks the worktree is there first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.git.cli import GitError, git

__all__ = [
    "FileDiff",
    "committed_files",
    "count_lines",
    "file_diff",
    "index_path",
    "snapshot_diff",
    "snapshot_files",
]

# Diffs are for people and the journal: no colour, no external diff or textconv programs.
_DIFF_OPTS = ("--no-color", "--no-ext-diff", "--no-textconv", "--no-renames")
_QUOTE_OFF = ("-c", "core.quotePath=off")
_NO_SUCH_PATH = ("did not match any files", "ignored by one of your .gitignore files")


@dataclass(frozen=True)
class FileDiff:
    """The unified diff of one file against the base commit, with line counts."""

    path: str
    diff: str
    added: int
    removed: int
    binary: bool


def _text(raw: str) -> str:
    """git output decoded by gitcli with surrogateescape, re-decoded with U+FFFD for display."""
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def count_lines(diff: str) -> tuple[int, int]:
    """Added and removed lines of a unified diff (only inside hunks, so '---' text counts)."""
    added = removed = 0
    in_hunk = False
    for line in diff.splitlines():
        if line.startswith("diff --git "):
            in_hunk = False
        elif line.startswith("@@"):
            in_hunk = True
        elif in_hunk and line.startswith("+"):
            added += 1
        elif in_hunk and line.startswith("-"):
            removed += 1
    return added, removed


def file_diff(rel_path: str, diff: str) -> FileDiff:
    """``diff`` (one file's) with its line counts and whether git called it binary."""
    added, removed = count_lines(diff)
    binary = any(ln.startswith("Binary files ") for ln in diff.splitlines())
    return FileDiff(path=rel_path, diff=diff, added=added, removed=removed, binary=binary)


def index_path(worktree: Path) -> Path:
    """Where the worktree's index file is (it never moves: callers may keep the answer)."""
    return Path(git("rev-parse", "--path-format=absolute", "--git-path", "index", cwd=worktree))


@contextmanager
def _snapshot_index(worktree: Path, index: Path, rel_path: str | None) -> Iterator[dict[str, str]]:
    """A copy of the worktree's index with the working files added: untracked files show up
    in diffs while the real index stays as it was."""
    with tempfile.TemporaryDirectory(prefix="honk-index-") as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        if index.exists():
            shutil.copyfile(index, env["GIT_INDEX_FILE"])  # keeps stat data: no rehashing
        else:
            git("read-tree", "HEAD", cwd=worktree, env=env)
        spec = ["--", rel_path] if rel_path is not None else []
        try:
            git("--literal-pathspecs", "add", "--all", *spec, cwd=worktree, env=env)
        except GitError as exc:
            # One path that was never there, or is git-ignored, simply has no diff.
            if rel_path is None or not any(m in exc.stderr for m in _NO_SUCH_PATH):
                raise
        yield env


def snapshot_diff(worktree: Path, index: Path, base_commit: str, rel_path: str | None) -> str:
    """The working files (all, or ``rel_path``) vs ``base_commit``, untracked ones included."""
    with _snapshot_index(worktree, index, rel_path) as env:
        spec = ["--", rel_path] if rel_path is not None else []
        out = git(
            "--literal-pathspecs", *_QUOTE_OFF, "diff", "--cached", *_DIFF_OPTS,
            base_commit, *spec, cwd=worktree, env=env, strip=False,
        )  # fmt: skip
    return _text(out)


def snapshot_files(worktree: Path, index: Path, base_commit: str) -> list[str]:
    """Paths whose working files differ from ``base_commit`` (added, modified or deleted)."""
    with _snapshot_index(worktree, index, None) as env:
        out = git(
            *_QUOTE_OFF, "diff", "--cached", "--name-only", "-z", "--no-renames",
            base_commit, cwd=worktree, env=env, strip=False,
        )  # fmt: skip
    return [_text(p) for p in out.split("\0") if p]


def committed_files(worktree: Path, base_commit: str, commit: str) -> list[str]:
    """Paths that differ between ``base_commit`` and ``commit`` (one git process)."""
    out = git(
        *_QUOTE_OFF, "diff", "--name-only", "-z", "--no-renames", base_commit, commit,
        cwd=worktree, strip=False,
    )  # fmt: skip
    return [_text(p) for p in out.split("\0") if p]
