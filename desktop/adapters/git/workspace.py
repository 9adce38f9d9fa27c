"""One git worktree and branch per change, cut from the committed tip of the merge target.

The user's own checkout is never touched: worktrees are made from a commit, diffs are taken
through a throw-away index (``git.diffs``: the worktree's real index is left as it was), and
every git call goes through ``gitcli.git``.
"""

from __future__ import annotations

import re
import shutil
import time
import unicodedata
from collections.abc import Sequence
from contextlib import AbstractContextManager, suppress
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.git import diffs
from desktop.adapters.git.cli import GitError, git, git_ok
from desktop.adapters.git.diffs import FileDiff, count_lines
from desktop.adapters.git.worktree_admin import common_git_dir, worktree_admin_lock
from desktop.core.errors import HonkError

__all__ = ["FileDiff", "GitWorkspace", "WorkspaceError", "Worktree", "count_lines", "slugify"]

_BRANCH_PREFIX = "honk/"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SUBJECT_MAX = 72
_BODY_MAX = 8000


class WorkspaceError(HonkError):
    """A workspace operation was refused; the message names the path/branch and the fix."""


@dataclass(frozen=True)
class Worktree:
    """A change's worktree: where it is, its branch, the merge target and the commit cut from."""

    path: Path
    branch: str
    target: str
    base_commit: str


def slugify(text: str, max_len: int = 40) -> str:
    """ASCII, lowercase, dash-separated words of ``text``, at most ``max_len`` characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_len:
        slug = slug[:max_len]
        if "-" in slug[max_len // 2 :]:  # cut at a word boundary when one is near the end
            slug = slug[: slug.rindex("-")]
        slug = slug.strip("-")
    return slug or "change"


def commit_message(request: str, *, change_id: str, model: str) -> str:
    """Subject from the request's first line, the request as body, then Honk trailers."""
    lines = [ln.strip() for ln in request.strip().splitlines() if ln.strip()]
    subject = " ".join(lines[0].split()) if lines else "Honk change"
    if len(subject) > _SUBJECT_MAX:
        cut = subject[: _SUBJECT_MAX - 3]
        if " " in cut[_SUBJECT_MAX // 2 :]:
            cut = cut[: cut.rindex(" ")]
        subject = cut.rstrip() + "..."
    body = request.strip()
    if len(body) > _BODY_MAX:
        body = body[:_BODY_MAX].rstrip() + f"\n\n[request trimmed: {len(request)} characters]"
    trailers = (
        f"Honk-Change: {change_id}\n"
        f"Honk-Model: {model}\n"
        f"Assisted-by: Claude ({model}) via Honk Desktop\n"
    )
    return f"{subject}\n\n{body}\n\n{trailers}"


def branch_head(repo: Path, branch: str) -> str | None:
    """The commit ``branch`` points at in ``repo``, or None when it does not exist."""
    try:
        return git("rev-parse", "--verify", "-q", branch, cwd=repo)
    except GitError:
        return None


def checkout_state(worktree: Path) -> tuple[str, list[str]] | None:
    """A worktree's HEAD and its tracked files with uncommitted changes, or None when it
    is no longer a worktree (pruned). Untracked files are left out: builds may leave
    unignored output. No optional locks: reading never writes the index."""
    try:
        head = git("rev-parse", "--verify", "-q", "HEAD", cwd=worktree)
        changed = git("--no-optional-locks", "diff", "--name-only", "-z", "HEAD", "--",
                      cwd=worktree, strip=False)
    except GitError:
        return None
    return head, [name for name in changed.split("\0") if name]


class GitWorkspace:
    """Worktrees of one repository, kept under ``worktrees_root/<change_id>``."""

    def __init__(self, toplevel: Path, worktrees_root: Path,
                 common_dir: Path | None = None) -> None:
        self.repo = toplevel
        self.worktrees_root = worktrees_root
        self._common_dir = common_dir
        # A worktree's index file never moves; asking git once saves a process per diff.
        self._index_paths: dict[Path, Path] = {}

    @classmethod
    def open(cls, repo: Path, worktrees_root: Path) -> GitWorkspace:
        """Open the repository containing ``repo``; refuse a missing path, non-repo or bare repo."""
        if not repo.exists():
            raise WorkspaceError(f"repository path does not exist: {repo}")
        if not repo.is_dir():
            raise WorkspaceError(f"repository path is not a directory: {repo}")
        try:  # one process: inside a work tree?, its top level, the shared git dir
            out = git("rev-parse", "--is-inside-work-tree", "--show-toplevel",
                      "--git-common-dir", cwd=repo)
        except GitError as exc:
            if "not a git repository" in exc.stderr:
                raise WorkspaceError(
                    f"not a git repository: {repo} (pass --repo with a git checkout, "
                    "or run `git init` there)"
                ) from None
            if exc.stdout.startswith("false"):  # git printed the answer, then refused
                raise WorkspaceError(
                    f"{repo} is a bare repository or a .git directory; Honk needs a checkout "
                    "with a working tree (pass --repo with a clone)"
                ) from None
            raise WorkspaceError(f"cannot read the git repository at {repo}: {exc}") from None
        _inside, toplevel, common = out.splitlines()
        common_dir = Path(common)
        return cls(Path(toplevel), worktrees_root,
                   common_dir if common_dir.is_absolute() else repo / common_dir)

    def default_target(self) -> str:
        """The branch checked out in the repository; refuse a detached HEAD."""
        try:
            return git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=self.repo)
        except GitError:
            raise WorkspaceError(
                f"HEAD is detached in {self.repo}: check out a branch there or pass --target "
                "BRANCH to choose the branch the change is cut from and merged into"
            ) from None

    def create(self, change_id: str, slug: str, target: str) -> Worktree:
        """Make branch ``honk/<id>-<slug>`` at the committed tip of ``target`` and its worktree."""
        if not _ID_RE.match(change_id):
            raise WorkspaceError(
                f"invalid change id {change_id!r}: expected letters, digits, '.', '_' or '-'"
            )
        branch = f"{_BRANCH_PREFIX}{change_id}-{slugify(slug)}"
        base = self._target_commit(target)
        path = self.worktrees_root / change_id
        if path.exists() or path.is_symlink():
            raise WorkspaceError(
                f"worktree path already taken: {path} (remove it, or resume that change)"
            )
        if git_ok("show-ref", "--verify", "--quiet", f"refs/heads/{branch}", cwd=self.repo):
            raise WorkspaceError(
                f"branch already exists: {branch} in {self.repo} (delete it with "
                f"`git branch -D {branch}` or use another change id)"
            )
        self.worktrees_root.mkdir(parents=True, exist_ok=True)
        try:
            with self._worktree_admin_lock():
                git("worktree", "add", "--quiet", "-b", branch, str(path), base, cwd=self.repo)
        except GitError as exc:
            raise WorkspaceError(
                f"could not create worktree {path} on branch {branch}: {exc.stderr}"
            ) from None
        return Worktree(path=path, branch=branch, target=target, base_commit=base)

    def _worktree_admin_lock(self) -> AbstractContextManager[None]:
        if self._common_dir is None:
            self._common_dir = common_git_dir(self.repo)
        return worktree_admin_lock(self._common_dir)

    def attach(self, path: Path, branch: str, target: str, base_commit: str) -> Worktree:
        """Re-open an existing worktree (to resume a change) after checking it is what we think."""
        if not path.is_dir():
            raise WorkspaceError(f"worktree is missing: {path} (the change cannot be resumed)")
        try:
            top = Path(git("rev-parse", "--show-toplevel", cwd=path))
            head = git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=path)
        except GitError:
            raise WorkspaceError(
                f"{path} is not a worktree on branch {branch}; was it removed or switched?"
            ) from None
        if top.resolve() != path.resolve():
            raise WorkspaceError(f"{path} is not the top of a worktree (its top is {top})")
        if head != branch:
            raise WorkspaceError(f"worktree {path} is on branch {head}, expected {branch}")
        if not git_ok("cat-file", "-e", f"{base_commit}^{{commit}}", cwd=path):
            raise WorkspaceError(f"base commit {base_commit} of {path} is not in the repository")
        return Worktree(path=path, branch=branch, target=target, base_commit=base_commit)

    def clear_crash_leftovers(self, wt: Worktree, untracked_globs: Sequence[str]) -> None:
        """Remove what a killed run can leave in its worktree: untracked files matching
        ``untracked_globs`` (the editor's temp files, whose edit never landed) and git's
        index.lock. Call it only under the change's lock, so no live Honk process is
        writing there."""
        path = wt.path
        try:
            specs = [f":(glob)**/{glob}" for glob in untracked_globs]
            stale = git("ls-files", "--others", "-z", "--", *specs, cwd=path, strip=False)
            for rel in filter(None, stale.split("\0")):
                with suppress(FileNotFoundError):
                    (path / rel).unlink()
            index = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index.lock",
                             cwd=path))
        except GitError:
            return
        deadline = time.monotonic() + 2.0  # an orphaned git of the dead run may still finish
        while index.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with suppress(FileNotFoundError):
            index.unlink()

    def file_diff(self, wt: Worktree, rel_path: str) -> FileDiff:
        """Unified diff of one file vs the base commit, new (untracked) files included."""
        if not rel_path or rel_path.startswith("/") or ".." in rel_path.split("/"):
            raise WorkspaceError(f"file path must be relative to the worktree: {rel_path!r}")
        return diffs.file_diff(rel_path, self._snapshot_diff(wt, rel_path))

    def diff(self, wt: Worktree) -> str:
        """Whole worktree vs the base commit, untracked (not ignored) files included."""
        return self._snapshot_diff(wt, None)

    def committed_diff(self, base_commit: str, commit: str) -> str:
        """The patch from ``base_commit`` to ``commit``: exactly what an approval merges."""
        return git("diff", "--no-color", "--no-ext-diff", f"{base_commit}..{commit}",
                   cwd=self.repo, strip=False)

    def changed_files(self, wt: Worktree) -> list[str]:
        """Paths that differ from the base commit (added, modified or deleted)."""
        return diffs.snapshot_files(wt.path, self._index_path(wt), wt.base_commit)

    def committed_files(self, wt: Worktree, commit: str) -> list[str]:
        """Paths that differ between the base commit and ``commit`` (one git process)."""
        return diffs.committed_files(wt.path, wt.base_commit, commit)

    def commit(self, wt: Worktree, *, request: str, change_id: str, model: str) -> str:
        """Commit everything in the worktree with a message citing the request; return the SHA."""
        for name, value in (("change id", change_id), ("model", model)):
            if not value or "\n" in value or "\r" in value:
                raise WorkspaceError(f"{name} for the commit trailer must be one line: {value!r}")
        self._require(wt)
        # Hooks run here are repo code the agent may have steered: no secrets for them.
        git("add", "--all", cwd=wt.path, without_secrets=True)
        if git_ok("diff", "--cached", "--quiet", cwd=wt.path):
            raise WorkspaceError(
                f"nothing to commit in {wt.path} on {wt.branch}: the agent made no changes"
            )
        message = commit_message(request, change_id=change_id, model=model)
        try:
            git("commit", "--quiet", "--file=-", cwd=wt.path, input=message.encode("utf-8"),
                without_secrets=True)
        except GitError as exc:
            raise WorkspaceError(f"git commit failed in {wt.path}: {exc.stderr}") from None
        return self.head(wt)

    def head(self, wt: Worktree) -> str:
        """The commit the worktree's branch points at."""
        self._require(wt)
        return git("rev-parse", "HEAD", cwd=wt.path)

    def is_clean(self, wt: Worktree) -> bool:
        """No uncommitted change in the worktree, untracked files included."""
        self._require(wt)
        return not git("status", "--porcelain", "--untracked-files=all", cwd=wt.path)

    def message_of(self, wt: Worktree, commit: str) -> str:
        """The full message of ``commit``."""
        return git("log", "-1", "--format=%B", commit, cwd=wt.path)

    def remove(self, wt: Worktree, *, delete_branch: bool = True) -> None:
        """Remove the worktree (and its branch); safe to call again."""
        # Listing reads every worktree's admin dir: it must not run while another is removed.
        with self._worktree_admin_lock():
            if str(wt.path.resolve()) in self._registered_worktrees():
                git("worktree", "remove", "--force", "--force", str(wt.path), cwd=self.repo)
            elif wt.path.is_dir() and wt.path.resolve().is_relative_to(
                self.worktrees_root.resolve()
            ):
                shutil.rmtree(wt.path)  # a leftover directory git no longer knows about
            git("worktree", "prune", cwd=self.repo)
            # `branch -D` lists the worktrees too (is the branch checked out somewhere?).
            if delete_branch and git_ok(
                "show-ref", "--verify", "--quiet", f"refs/heads/{wt.branch}", cwd=self.repo
            ):
                git("branch", "-D", wt.branch, cwd=self.repo)

    def delete_branch(self, branch: str) -> str | None:
        """Delete ``branch`` (a change's, whose worktree is gone); return the commit it was at
        so that it can be brought back, or None when there was no such branch. Worktrees
        whose directory is gone are pruned first; a branch still checked out in a worktree
        is refused with WorkspaceError naming it, and nothing is deleted."""
        with self._worktree_admin_lock():
            git("worktree", "prune", cwd=self.repo)
            was = branch_head(self.repo, f"refs/heads/{branch}")
            if was is None:
                return None
            try:
                git("branch", "-D", branch, cwd=self.repo)
            except GitError as exc:
                raise WorkspaceError(
                    f"could not delete branch {branch} in {self.repo}: {exc.stderr}"
                ) from None
        return was

    # ---- helpers --------------------------------------------------------------------------

    def _target_commit(self, target: str) -> str:
        for ref in (f"refs/heads/{target}", f"refs/remotes/{target}"):
            with suppress(GitError):  # --verify prints the commit, or fails: one process
                return git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}",
                           cwd=self.repo)
        branches = git("for-each-ref", "--format=%(refname:short)", "refs/heads", cwd=self.repo)
        names = branches.split()
        shown = ", ".join(names[:8]) + (f" (and {len(names) - 8} more)" if len(names) > 8 else "")
        raise WorkspaceError(
            f"no such target branch: {target!r} in {self.repo}; "
            f"branches there: {shown or 'none (make a first commit)'}"
        )

    def _registered_worktrees(self) -> set[str]:
        out = git("worktree", "list", "--porcelain", cwd=self.repo)
        return {
            str(Path(line[len("worktree ") :]).resolve())
            for line in out.splitlines()
            if line.startswith("worktree ")
        }

    def _require(self, wt: Worktree) -> None:
        if not wt.path.is_dir():
            raise WorkspaceError(f"worktree is missing: {wt.path}")

    def _index_path(self, wt: Worktree) -> Path:
        """The worktree's index file, once it is checked to be there (asked of git once)."""
        self._require(wt)
        real = self._index_paths.get(wt.path)
        if real is None:
            real = self._index_paths[wt.path] = diffs.index_path(wt.path)
        return real

    def _snapshot_diff(self, wt: Worktree, rel_path: str | None) -> str:
        return diffs.snapshot_diff(wt.path, self._index_path(wt), wt.base_commit, rel_path)
