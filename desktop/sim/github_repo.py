"""The loopback GitHub's repository: the real bare repo its branches, merges and runs live in,
asked and changed through the ``git`` CLI."""

from __future__ import annotations

from pathlib import Path

from desktop.adapters.git.cli import GitError, git, git_ok

__all__ = ["BareRepo"]

_BOT_ENV = {
    "GIT_AUTHOR_NAME": "GitHub", "GIT_AUTHOR_EMAIL": "noreply@github.com",
    "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com",
}


class BareRepo:
    """``git_dir``: the bare repository GitHub serves."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir

    def branch(self, name: str) -> str | None:
        """The commit the branch points to, or None when there is no such branch."""
        return self.resolve(f"refs/heads/{name}")

    def resolve(self, ref: str) -> str | None:
        """The commit ``ref`` names, or None."""
        try:
            return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=self.git_dir)
        except GitError:
            return None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return git_ok("merge-base", "--is-ancestor", older, newer, cwd=self.git_dir)

    def merge_tree(self, base_sha: str, head_sha: str) -> str | None:
        """The merged tree, or None when the branches conflict."""
        try:
            return git("merge-tree", "--write-tree", base_sha, head_sha,
                       cwd=self.git_dir).splitlines()[0]
        except GitError:
            return None

    def commit_tree(self, tree: str, parents: list[str], message: str) -> str:
        """A commit by GitHub of ``tree`` on ``parents``."""
        flags = [flag for parent in parents for flag in ("-p", parent)]
        return git("commit-tree", tree, *flags, "-m", message, cwd=self.git_dir, env=_BOT_ENV)

    def move_branch(self, name: str, sha: str, old: str | None = None) -> None:
        """Point the branch at ``sha``; with ``old``, only if it still points there
        (GitError when it does not)."""
        git("update-ref", f"refs/heads/{name}", sha, *([old] if old else []), cwd=self.git_dir)
