"""The `via = "git"` merge route: bring an approved commit into the remote's target branch.

Fast-forward when the target has not moved, otherwise a merge commit (or a rebase) made in a
scratch worktree so that the user's own checkout is never touched. Never a force push. If the
push is rejected because someone pushed meanwhile, fetch and try once more on the new tip.
"""

from __future__ import annotations

import functools
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from desktop.adapters.git.cli import GitError, git, git_ok
from desktop.adapters.git.worktree_admin import common_git_dir, worktree_admin_lock
from desktop.core.errors import HonkError

__all__ = [
    "METHODS",
    "GitMerger",
    "MergeConflict",
    "MergeError",
    "MergeResult",
    "PushRejected",
    "RemoteUnreachable",
]

METHODS = ("merge", "rebase", "ff-only")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
# What git prints when the remote refused a ref update, as opposed to not being reachable.
_REJECTED = ("[rejected]", "[remote rejected]", "non-fast-forward", "fetch first",
             "hook declined", "failed to update ref", "cannot lock ref")


class MergeError(HonkError, RuntimeError):
    """The merge could not be done; ``str()`` says why and what was (not) pushed."""


class MergeConflict(MergeError):
    """The approved commit conflicts with the moved target. Nothing was pushed."""

    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files


class PushRejected(MergeError):
    """The remote refused the push twice (the target keeps moving, or a hook refuses)."""


class RemoteUnreachable(MergeError):
    """The remote could not be reached or read."""


@dataclass(frozen=True)
class MergeResult:
    target: str
    remote: str
    merged_commit: str  # the new tip of target on the remote
    method: str  # fast-forward | merge | rebase | none (already merged)
    already_merged: bool  # the approved commit was already in the remote target: no push
    attempts: int = field(default=1, compare=False)


class GitMerger:
    """Merges approved commits of ``repo`` into a remote branch, with scratch worktrees."""

    def __init__(self, repo: Path, scratch_root: Path) -> None:
        self.repo = repo
        self.scratch_root = scratch_root

    @functools.cached_property
    def _common_dir(self) -> Path:
        """Where the worktree admin lock lives; asked of git once per merger."""
        return common_git_dir(self.repo)

    def merge(
        self, *, approved_sha: str, target: str, remote: str, method: str, message: str
    ) -> MergeResult:
        """Bring ``approved_sha`` into ``remote``/``target``; see the module docstring."""
        if method not in METHODS:
            raise ValueError(f"merge method = {method!r}: expected one of {', '.join(METHODS)}")
        self._check_commit(approved_sha)
        self._check_branch_name(target)
        for attempt in (1, 2):
            tip = self._fetch_tip(remote, target)
            result, new_tip = self._plan(approved_sha, tip, target, remote, method, message)
            if result is not None:
                return result
            assert new_tip is not None
            kind = "fast-forward" if new_tip == approved_sha else method
            try:
                self._push(remote, new_tip, target)
            except PushRejected as exc:
                if attempt == 2:
                    raise PushRejected(
                        f"push of {new_tip[:12]} to {remote}/{target} was rejected twice "
                        f"(the branch keeps moving or the remote refuses); nothing was forced. "
                        f"Last answer: {exc}"
                    ) from None
                continue  # someone pushed meanwhile: fetch and redo on the new tip
            return MergeResult(target, remote, new_tip, kind, False, attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def push_branch(self, *, branch: str, sha: str, remote: str) -> None:
        """Push ``sha`` to ``refs/heads/branch`` on ``remote`` (for the pull-request route).

        Re-pushing the same sha is a no-op; a branch that moved elsewhere is refused, not forced.
        """
        self._check_commit(sha)
        self._check_branch_name(branch)
        self._push(remote, sha, branch)

    def push_branch_with_lease(self, *, branch: str, sha: str, remote: str,
                               expected: str | None) -> None:
        """Point ``refs/heads/branch`` on ``remote`` at ``sha``, but only if the remote branch
        is still ``expected`` (None: it must not exist yet): what Honk itself pushed there
        last. A branch someone else moved is refused (PushRejected), never overwritten."""
        self._check_commit(sha)
        self._check_branch_name(branch)
        lease = f"--force-with-lease=refs/heads/{branch}:{expected or ''}"
        try:
            git("push", "--quiet", lease, remote, f"{sha}:refs/heads/{branch}", cwd=self.repo)
        except GitError as exc:
            if "stale info" in exc.stderr or any(m in exc.stderr for m in _REJECTED):
                raise PushRejected(
                    f"{remote}/{branch} is not where Honk left it (expected "
                    f"{expected or 'no branch'}); someone else pushed there, so Honk does "
                    f"not overwrite it: {exc.stderr.strip()}") from None
            raise RemoteUnreachable(
                f"push to remote {remote!r} failed: {exc.stderr or exc}") from None

    def is_merged(self, *, approved_sha: str, target: str, remote: str) -> bool:
        """Whether the remote target already contains the approved commit (for reconciling)."""
        tip = self._fetch_tip(remote, target)
        return tip is not None and self._contains(tip, approved_sha)

    # -- steps ---------------------------------------------------------------------------

    def _plan(
        self, approved: str, tip: str | None, target: str, remote: str, method: str, message: str
    ) -> tuple[MergeResult | None, str | None]:
        """Either a finished result (already merged) or the commit to push."""
        if tip is not None and self._contains(tip, approved):
            return MergeResult(target, remote, tip, "none", True), None
        if tip is None or self._ancestor(tip, approved):
            return None, approved  # a new branch or a plain fast-forward
        if method == "ff-only":
            raise MergeError(
                f"{remote}/{target} moved to {tip[:12]} and no longer fast-forwards to "
                f"{approved[:12]}; method 'ff-only' does not merge or rebase. Nothing was pushed."
            )
        return None, self._combine(approved, tip, target, remote, method, message)

    def _contains(self, tip: str, approved: str) -> bool:
        if self._ancestor(approved, tip):
            return True
        # After a rebase the approved sha itself is not in the target, but patch-identical
        # commits are: `git cherry` marks those with '-'.
        lines = git("cherry", tip, approved, cwd=self.repo).splitlines()
        return bool(lines) and all(line.startswith("-") for line in lines)

    def _ancestor(self, older: str, newer: str) -> bool:
        return git_ok("merge-base", "--is-ancestor", older, newer, cwd=self.repo)

    def _combine(
        self, approved: str, tip: str, target: str, remote: str, method: str, message: str
    ) -> str:
        """A merge commit or a rebase of ``approved`` onto ``tip``, made in a scratch worktree."""
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        scratch = self.scratch_root / f"merge-{uuid.uuid4().hex[:12]}"
        start = approved if method == "rebase" else tip
        with worktree_admin_lock(self._common_dir):
            # Hooks here (post-checkout, merge and rebase hooks) run from the tree being
            # merged, which the agent wrote: like the commit step's hooks, no secrets for them.
            git("worktree", "add", "--detach", "--quiet", str(scratch), start, cwd=self.repo,
                without_secrets=True)
        try:
            try:
                if method == "rebase":
                    git("rebase", "--quiet", tip, cwd=scratch, without_secrets=True)
                else:
                    git("merge", "--no-ff", "--no-edit", "--quiet", "-m", message, approved,
                        cwd=scratch, without_secrets=True)
            except GitError as exc:
                files = git("diff", "--name-only", "--diff-filter=U", cwd=scratch).splitlines()
                if not files:
                    raise MergeError(f"{method} of {approved[:12]} onto {remote}/{target} "
                                     f"failed: {exc.stderr}. Nothing was pushed.") from exc
                raise MergeConflict(
                    f"{approved[:12]} conflicts with {remote}/{target} at {tip[:12]} in "
                    f"{', '.join(files)}. Nothing was pushed.",
                    files,
                ) from None
            return git("rev-parse", "HEAD", cwd=scratch)
        finally:
            with worktree_admin_lock(self._common_dir):
                self._drop_worktree(scratch)

    def _drop_worktree(self, scratch: Path) -> None:
        """Remove the scratch worktree; the caller holds the worktree admin lock."""
        try:
            git("worktree", "remove", "--force", "--force", str(scratch), cwd=self.repo)
        except GitError:
            shutil.rmtree(scratch, ignore_errors=True)  # half-made: remove what is there
            git("worktree", "prune", cwd=self.repo)

    def _fetch_tip(self, remote: str, target: str) -> str | None:
        """The remote's current tip of ``target`` (None if it does not exist), fetched."""
        ref = f"refs/heads/{target}"
        try:
            listing = git("ls-remote", remote, ref, cwd=self.repo)
        except GitError as exc:
            raise RemoteUnreachable(
                f"remote {remote!r} cannot be reached: {exc.stderr or exc}. Nothing was pushed."
            ) from None
        tips = [line.split("\t")[0] for line in listing.splitlines() if line.endswith("\t" + ref)]
        if not tips:
            return None
        tip = tips[0]
        if not git_ok("cat-file", "-e", f"{tip}^{{commit}}", cwd=self.repo):
            # Into a private ref: the user's remote-tracking branches and FETCH_HEAD stay as
            # they were.
            private = f"refs/honk/fetched/{remote}/{target}"
            try:  # fetch lists the worktrees (is a fetched ref checked out?): take the lock
                with worktree_admin_lock(self._common_dir):
                    git("fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote,
                        f"+{ref}:{private}", cwd=self.repo)
            except GitError as exc:
                raise RemoteUnreachable(
                    f"fetching {target!r} from remote {remote!r} failed: {exc.stderr}"
                ) from None
            tip = git("rev-parse", private, cwd=self.repo)
        return tip

    def _push(self, remote: str, sha: str, branch: str) -> None:
        try:
            git("push", "--quiet", remote, f"{sha}:refs/heads/{branch}",
                cwd=self.repo)
        except GitError as exc:
            if any(marker in exc.stderr for marker in _REJECTED):
                raise PushRejected(exc.stderr) from None
            raise RemoteUnreachable(
                f"push to remote {remote!r} failed: {exc.stderr or exc}"
            ) from None

    def _check_commit(self, sha: str) -> None:
        if not _SHA.fullmatch(sha):
            raise ValueError(f"approved sha = {sha!r}: expected a full lowercase hex commit sha")
        if not git_ok("cat-file", "-e", f"{sha}^{{commit}}", cwd=self.repo):
            raise MergeError(f"approved commit {sha} is not in the repository {self.repo}")

    def _check_branch_name(self, name: str) -> None:
        if not name or not git_ok("check-ref-format", f"refs/heads/{name}", cwd=self.repo):
            raise ValueError(f"branch = {name!r}: expected a valid git branch name")
