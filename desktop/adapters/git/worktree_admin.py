"""One lock for every git command that writes or lists a repository's worktrees.

Git does not lock its worktree admin files (``.git/worktrees/<name>``). Two changes cut at the
same moment fail with "failed to read .../commondir", and any command that lists the worktrees
while another worktree is removed (`git worktree list`, and `git branch -D`, which checks the
branch is not checked out anywhere) fails with "Invalid path '.git/worktrees/<name>'". An
flock in the repository's common git dir excludes other threads and other Honk processes alike.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from desktop.adapters.git.cli import git

__all__ = ["LOCK_NAME", "common_git_dir", "worktree_admin_lock"]

LOCK_NAME = "honk-worktrees.lock"


def common_git_dir(repo: Path) -> Path:
    """The git dir shared by the repository and all its worktrees, as an absolute path."""
    common = Path(git("rev-parse", "--git-common-dir", cwd=repo))
    return common if common.is_absolute() else repo / common


@contextmanager
def worktree_admin_lock(common_dir: Path) -> Iterator[None]:
    """Hold the repository's worktree admin lock for the ``with`` body."""
    with open(common_dir / LOCK_NAME, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
