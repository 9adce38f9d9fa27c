"""The git merge route against real bare remotes: ff, merge, rebase, conflict, races."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import pytest

from desktop.adapters.git.merge import (
    GitMerger,
    MergeConflict,
    MergeError,
    MergeResult,
    PushRejected,
    RemoteUnreachable,
)
from tests.helpers.gitrepo import RepoWithRemote, run_git

# A pre-receive hook that plays "someone else pushed meanwhile": it commits to main in the
# remote itself, so receive-pack's own compare-and-swap of the ref then fails, as in a real
# race. With ONCE=1 it races only the first push.
RACE_HOOK = """#!/bin/sh
if [ "$ONCE" = 1 ] && [ -e raced ]; then exit 0; fi
touch raced
unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES
old=$(git rev-parse refs/heads/main)
n=$(ls raced* | wc -l); touch "raced.$n.$$"
blob=$(printf 'competing %s\\n' "$n.$$" | git hash-object -w --stdin)
export GIT_INDEX_FILE="$PWD/race-index.$$"
git read-tree "$old"
git update-index --add --cacheinfo "100644,$blob,competing-$n.txt"
tree=$(git write-tree)
new=$(git commit-tree "$tree" -p "$old" -m "competing push $n")
rm -f "$GIT_INDEX_FILE"
git update-ref refs/heads/main "$new" "$old"
exit 0
"""


def install_race_hook(remote: Path, once: bool) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text(RACE_HOOK.replace('"$ONCE" = 1', '"1" = 1' if once else '"0" = 1'))
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)


def remote_tip(repo: RepoWithRemote, branch: str = "main") -> str:
    return run_git(repo.remote, "rev-parse", f"refs/heads/{branch}")


def parents(repo: RepoWithRemote, sha: str) -> list[str]:
    return run_git(repo.remote, "rev-list", "--parents", "-n", "1", sha).split()[1:]


def push_elsewhere(repo: RepoWithRemote, tmp: Path, rel: str, text: str) -> str:
    """Another engineer commits to main and pushes (from their own clone)."""
    other = tmp / "other-clone"
    if not other.exists():
        subprocess.run(["git", "clone", "-q", str(repo.remote), str(other)], check=True)
    run_git(other, "pull", "-q", "--ff-only")
    target = other / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    run_git(other, "add", "-A")
    run_git(other, "commit", "-q", "-m", f"elsewhere: {rel}")
    run_git(other, "push", "-q", "origin", "main")
    return run_git(other, "rev-parse", "HEAD")


def change_on_branch(repo: RepoWithRemote, text: str = 'GREETING = "Hi"\n') -> str:
    """An approved commit on a honk branch, cut from main; the checkout goes back to main."""
    repo.git("checkout", "-q", "-b", "honk/c1-greeting")
    repo.write("app/greeting.py", text)
    sha = repo.commit_all("change greeting")
    repo.git("checkout", "-q", "main")
    return sha


@pytest.fixture
def merger(repo: RepoWithRemote, tmp_path: Path) -> GitMerger:
    return GitMerger(repo.path, tmp_path / "scratch")


def merge(merger: GitMerger, sha: str, method: str = "merge") -> MergeResult:
    return merger.merge(approved_sha=sha, target="main", remote="origin", method=method,
                        message="Merge honk change c1")


def test_fast_forward_puts_exactly_the_approved_commit(repo: RepoWithRemote,
                                                       merger: GitMerger) -> None:
    sha = change_on_branch(repo)
    result = merger.merge(approved_sha=sha, target="main", remote="origin", method="merge",
                          message="m")
    assert remote_tip(repo) == sha
    assert (result.method, result.merged_commit, result.already_merged) == (
        "fast-forward", sha, False)


def test_moved_target_gets_a_merge_commit(repo: RepoWithRemote, merger: GitMerger,
                                          tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    theirs = push_elsewhere(repo, tmp_path, "docs/notes.md", "notes\n")
    result = merger.merge(approved_sha=sha, target="main", remote="origin", method="merge",
                          message="Merge honk change c1")
    tip = remote_tip(repo)
    assert result.merged_commit == tip and result.method == "merge"
    assert parents(repo, tip) == [theirs, sha]
    assert run_git(repo.remote, "log", "-1", "--format=%s", tip) == "Merge honk change c1"
    assert list((tmp_path / "scratch").iterdir()) == []  # scratch worktree removed
    assert len(repo.git("worktree", "list").splitlines()) == 1


def test_rebase_method_replays_the_change_on_the_new_tip(repo: RepoWithRemote,
                                                         merger: GitMerger,
                                                         tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    theirs = push_elsewhere(repo, tmp_path, "docs/notes.md", "notes\n")
    result = merger.merge(approved_sha=sha, target="main", remote="origin", method="rebase",
                          message="m")
    tip = remote_tip(repo)
    assert result.method == "rebase" and tip == result.merged_commit != sha
    assert parents(repo, tip) == [theirs]
    assert run_git(repo.remote, "show", f"{tip}:app/greeting.py") == 'GREETING = "Hi"'
    again = merger.merge(approved_sha=sha, target="main", remote="origin", method="rebase",
                         message="m")
    assert again.already_merged and remote_tip(repo) == tip


def test_conflict_names_files_and_pushes_nothing(repo: RepoWithRemote, merger: GitMerger,
                                                 tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    theirs = push_elsewhere(repo, tmp_path, "app/greeting.py", 'GREETING = "Howdy"\n')
    with pytest.raises(MergeConflict) as info:
        merge(merger, sha)
    assert info.value.files == ["app/greeting.py"]
    assert "app/greeting.py" in str(info.value) and "Nothing was pushed" in str(info.value)
    assert remote_tip(repo) == theirs
    assert list((tmp_path / "scratch").iterdir()) == []
    assert len(repo.git("worktree", "list").splitlines()) == 1
    with pytest.raises(MergeConflict):
        merge(merger, sha, "rebase")
    assert remote_tip(repo) == theirs


def test_rejected_push_is_retried_once_on_the_new_tip(repo: RepoWithRemote,
                                                      merger: GitMerger) -> None:
    sha = change_on_branch(repo)
    before = remote_tip(repo)
    install_race_hook(repo.remote, once=True)
    result = merge(merger, sha)
    tip = remote_tip(repo)
    assert result.attempts == 2 and result.method == "merge" and result.merged_commit == tip
    competing, approved = parents(repo, tip)
    assert approved == sha
    assert parents(repo, competing) == [before]  # the racing commit is kept, not overwritten


def test_push_rejected_twice_stops_without_forcing(repo: RepoWithRemote,
                                                   merger: GitMerger) -> None:
    sha = change_on_branch(repo)
    install_race_hook(repo.remote, once=False)
    with pytest.raises(PushRejected, match="rejected twice"):
        merge(merger, sha)
    tip = remote_tip(repo)
    # main holds only the two racing commits, never ours.
    assert subprocess.run(["git", "merge-base", "--is-ancestor", sha, tip],
                          cwd=repo.remote).returncode == 1
    assert run_git(repo.remote, "log", "--format=%s", "-2", tip).splitlines() == [
        "competing push 2", "competing push 1"]


def test_double_merge_is_idempotent(repo: RepoWithRemote, merger: GitMerger,
                                    tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    push_elsewhere(repo, tmp_path, "docs/notes.md", "notes\n")
    first = merge(merger, sha)
    count = run_git(repo.remote, "rev-list", "--count", "main")
    second = merger.merge(approved_sha=sha, target="main", remote="origin", method="merge",
                          message="again")
    assert second.already_merged and second.merged_commit == first.merged_commit
    assert run_git(repo.remote, "rev-list", "--count", "main") == count
    assert merger.is_merged(approved_sha=sha, target="main", remote="origin")


def test_users_checkout_is_untouched(repo: RepoWithRemote, merger: GitMerger,
                                     tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    push_elsewhere(repo, tmp_path, "docs/notes.md", "notes\n")
    repo.git("checkout", "-q", "-b", "my-work")
    repo.write("README.md", "# uncommitted edit\n")
    repo.write("scratch.txt", "untracked\n")
    def snapshot() -> tuple[str, ...]:
        return (repo.git("rev-parse", "HEAD"), repo.git("branch", "--show-current"),
                repo.git("status", "--porcelain"), repo.git("rev-parse", "refs/heads/main"),
                repo.git("stash", "list"))

    before = snapshot()
    result = merge(merger, sha)
    assert snapshot() == before
    # Only git push's usual bookkeeping moved: the tracking ref now shows the real remote.
    assert repo.git("rev-parse", "refs/remotes/origin/main") == result.merged_commit
    assert (repo.path / "README.md").read_text() == "# uncommitted edit\n"


def test_ff_only_refuses_a_moved_target(repo: RepoWithRemote, merger: GitMerger,
                                        tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    theirs = push_elsewhere(repo, tmp_path, "docs/notes.md", "notes\n")
    with pytest.raises(MergeError, match="ff-only") as info:
        merge(merger, sha, "ff-only")
    assert "origin/main moved" in str(info.value)
    assert remote_tip(repo) == theirs


def test_unreachable_remote_is_a_clear_error(repo: RepoWithRemote, merger: GitMerger,
                                             tmp_path: Path) -> None:
    sha = change_on_branch(repo)
    repo.git("remote", "add", "gone", str(tmp_path / "no-such-remote.git"))
    with pytest.raises(RemoteUnreachable, match="remote 'gone' cannot be reached"):
        merger.merge(approved_sha=sha, target="main", remote="gone", method="merge",
                     message="m")


@pytest.mark.parametrize(
    ("kwargs", "error", "needle"),
    [
        ({"method": "squash"}, ValueError, "merge method = 'squash'"),
        ({"approved_sha": "abc"}, ValueError, "approved sha = 'abc'"),
        ({"approved_sha": "1" * 40}, MergeError, "is not in the repository"),
        ({"target": "bad..name"}, ValueError, "branch = 'bad..name'"),
    ],
)
def test_bad_inputs_are_named(repo: RepoWithRemote, merger: GitMerger, kwargs: dict[str, str],
                              error: type[Exception], needle: str) -> None:
    args = {"approved_sha": change_on_branch(repo), "target": "main", "remote": "origin",
            "method": "merge", "message": "m", **kwargs}
    with pytest.raises(error, match=needle.replace(".", r"\.")):
        merger.merge(**args)
    assert remote_tip(repo) == repo.git("rev-parse", "main")


def test_push_branch_and_new_target_branch(repo: RepoWithRemote, merger: GitMerger) -> None:
    sha = change_on_branch(repo)
    merger.push_branch(branch="honk/c1-greeting", sha=sha, remote="origin")
    merger.push_branch(branch="honk/c1-greeting", sha=sha, remote="origin")  # no-op
    assert remote_tip(repo, "honk/c1-greeting") == sha
    result = merger.merge(approved_sha=sha, target="release", remote="origin", method="merge",
                          message="m")
    assert result.method == "fast-forward" and remote_tip(repo, "release") == sha
    older = repo.git("rev-parse", "main")
    with pytest.raises(PushRejected):
        merger.push_branch(branch="honk/c1-greeting", sha=older, remote="origin")
