"""GitWorkspace against real git repositories with a bare remote."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from desktop.adapters.git.workspace import (
    GitWorkspace,
    WorkspaceError,
    Worktree,
    commit_message,
    count_lines,
    slugify,
)
from tests.helpers.gitrepo import RepoWithRemote, run_git


@pytest.fixture
def ws(repo: RepoWithRemote, tmp_path: Path) -> GitWorkspace:
    return GitWorkspace.open(repo.path, tmp_path / "worktrees")


@pytest.fixture
def wt(ws: GitWorkspace) -> Worktree:
    return ws.create("c1", "Swedish greeting", "main")


# ---- open / default_target ----------------------------------------------------------------


def test_open_resolves_the_toplevel_from_a_subdirectory(
    repo: RepoWithRemote, tmp_path: Path
) -> None:
    ws = GitWorkspace.open(repo.path / "app", tmp_path / "wts")
    assert ws.repo.resolve() == repo.path.resolve()


def test_open_refuses_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"does not exist: .*nowhere"):
        GitWorkspace.open(tmp_path / "nowhere", tmp_path / "wts")


def test_open_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(WorkspaceError, match="not a directory"):
        GitWorkspace.open(tmp_path / "f", tmp_path / "wts")


def test_open_refuses_a_plain_directory(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(WorkspaceError, match=f"not a git repository: {re.escape(str(plain))}"):
        GitWorkspace.open(plain, tmp_path / "wts")


def test_open_refuses_a_bare_repository(repo: RepoWithRemote, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="bare repository"):
        GitWorkspace.open(repo.remote, tmp_path / "wts")


def test_open_refuses_a_dot_git_directory(repo: RepoWithRemote, tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match=r"\.git directory.*--repo"):
        GitWorkspace.open(repo.path / ".git", tmp_path / "wts")


def test_open_from_a_subdirectory_finds_the_top_level(repo: RepoWithRemote,
                                                       tmp_path: Path) -> None:
    sub = repo.path / "src" / "deep"
    sub.mkdir(parents=True)
    workspace = GitWorkspace.open(sub, tmp_path / "wts")
    assert workspace.repo == repo.path
    wt = workspace.create("sub01", "from a subdirectory", "main")  # takes the admin lock
    assert (repo.path / ".git" / "honk-worktrees.lock").is_file()
    workspace.remove(wt)
    assert not wt.path.exists()


def test_default_target_is_the_current_branch(ws: GitWorkspace, repo: RepoWithRemote) -> None:
    assert ws.default_target() == "main"
    repo.git("checkout", "-q", "-b", "feature")
    assert ws.default_target() == "feature"


def test_default_target_refuses_detached_head(ws: GitWorkspace, repo: RepoWithRemote) -> None:
    repo.git("checkout", "-q", "--detach")
    with pytest.raises(WorkspaceError, match=r"detached.*--target"):
        ws.default_target()


# ---- create ---------------------------------------------------------------------------------


def test_create_cuts_a_branch_from_the_committed_target(
    ws: GitWorkspace, repo: RepoWithRemote, tmp_path: Path
) -> None:
    tip = repo.git("rev-parse", "main")
    wt = ws.create("c1", "Make the greeting Swedish!", "main")
    assert wt.branch == "honk/c1-make-the-greeting-swedish"
    assert wt.path == tmp_path / "worktrees" / "c1"
    assert wt.base_commit == tip
    assert (wt.path / "app/greeting.py").read_text() == 'GREETING = "Hello"\n'
    assert run_git(wt.path, "rev-parse", "--abbrev-ref", "HEAD") == wt.branch


def test_create_leaves_the_users_uncommitted_work_alone(
    ws: GitWorkspace, repo: RepoWithRemote
) -> None:
    repo.write("app/greeting.py", 'GREETING = "user edit in progress"\n')
    repo.write("scratch.txt", "mine\n")
    repo.git("add", "scratch.txt")
    status_before = repo.git("status", "--porcelain")
    wt = ws.create("c2", "x", "main")
    assert (wt.path / "app/greeting.py").read_text() == 'GREETING = "Hello"\n'
    assert not (wt.path / "scratch.txt").exists()
    assert repo.git("status", "--porcelain") == status_before
    assert (repo.path / "app/greeting.py").read_text() == 'GREETING = "user edit in progress"\n'


def test_create_can_cut_from_a_remote_tracking_branch(
    ws: GitWorkspace, repo: RepoWithRemote
) -> None:
    repo.git("fetch", "-q", "origin")
    wt = ws.create("c3", "x", "origin/main")
    assert wt.base_commit == repo.git("rev-parse", "origin/main")


def test_create_refuses_an_unknown_target_and_lists_branches(
    ws: GitWorkspace, repo: RepoWithRemote
) -> None:
    repo.git("branch", "release")
    with pytest.raises(WorkspaceError) as err:
        ws.create("c1", "x", "prod")
    assert "no such target branch: 'prod'" in str(err.value)
    assert "main" in str(err.value) and "release" in str(err.value)


def test_create_refuses_a_taken_worktree_path(ws: GitWorkspace, tmp_path: Path) -> None:
    (tmp_path / "worktrees" / "c1").mkdir(parents=True)
    with pytest.raises(WorkspaceError, match=r"worktree path already taken: .*c1"):
        ws.create("c1", "x", "main")


def test_create_refuses_an_existing_branch(ws: GitWorkspace, repo: RepoWithRemote) -> None:
    repo.git("branch", "honk/c1-x")
    with pytest.raises(WorkspaceError, match=r"branch already exists: honk/c1-x"):
        ws.create("c1", "x", "main")


@pytest.mark.parametrize("bad", ["", "../up", "a b", "-rf", "x" * 80, "a/b"])
def test_create_refuses_unsafe_change_ids(ws: GitWorkspace, bad: str) -> None:
    with pytest.raises(WorkspaceError, match="invalid change id"):
        ws.create(bad, "x", "main")


# ---- attach ---------------------------------------------------------------------------------


def test_attach_reopens_an_existing_worktree(ws: GitWorkspace, wt: Worktree) -> None:
    again = ws.attach(wt.path, wt.branch, wt.target, wt.base_commit)
    assert again == wt


def test_attach_refuses_missing_or_wrong_worktrees(
    ws: GitWorkspace, wt: Worktree, tmp_path: Path
) -> None:
    with pytest.raises(WorkspaceError, match="worktree is missing"):
        ws.attach(tmp_path / "gone", wt.branch, "main", wt.base_commit)
    with pytest.raises(WorkspaceError, match="expected honk/other"):
        ws.attach(wt.path, "honk/other", "main", wt.base_commit)
    with pytest.raises(WorkspaceError, match="not in the repository"):
        ws.attach(wt.path, wt.branch, "main", "0" * 40)


# ---- diffs ------------------------------------------------------------------------------------


def test_file_diff_of_a_modified_file(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "app/greeting.py").write_text('GREETING = "Hej"\n')
    fd = ws.file_diff(wt, "app/greeting.py")
    assert fd.path == "app/greeting.py"
    assert '-GREETING = "Hello"' in fd.diff and '+GREETING = "Hej"' in fd.diff
    assert (fd.added, fd.removed, fd.binary) == (1, 1, False)


def test_file_diff_of_a_new_untracked_file_leaves_the_index_alone(
    ws: GitWorkspace, wt: Worktree
) -> None:
    (wt.path / "app/new.py").write_text("a = 1\nb = 2\n")
    index_before = run_git(wt.path, "ls-files", "--stage")
    fd = ws.file_diff(wt, "app/new.py")
    assert "new file mode" in fd.diff and "+b = 2" in fd.diff
    assert (fd.added, fd.removed) == (2, 0)
    assert run_git(wt.path, "ls-files", "--stage") == index_before
    assert run_git(wt.path, "status", "--porcelain") == "?? app/new.py"


def test_file_diff_of_unchanged_missing_and_ignored_paths(ws: GitWorkspace, wt: Worktree) -> None:
    assert ws.file_diff(wt, "README.md").diff == ""
    assert ws.file_diff(wt, "never/existed.txt").diff == ""
    (wt.path / ".gitignore").write_text("*.log\n")
    (wt.path / "debug.log").write_text("noise\n")
    assert ws.file_diff(wt, "debug.log").diff == ""


def test_file_diff_of_a_deleted_file(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "README.md").unlink()
    fd = ws.file_diff(wt, "README.md")
    assert "deleted file mode" in fd.diff and (fd.added, fd.removed) == (0, 1)


def test_file_diff_of_a_binary_file(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "icon.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x01\xff")
    fd = ws.file_diff(wt, "icon.png")
    assert fd.binary and "Binary files /dev/null and b/icon.png differ" in fd.diff
    assert (fd.added, fd.removed) == (0, 0)


def test_file_diff_of_a_non_utf8_file_does_not_crash(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    fd = ws.file_diff(wt, "latin1.txt")
    assert "+caf\ufffd" in fd.diff
    fd.diff.encode("utf-8")  # no lone surrogates left for the journal to choke on


def test_file_diff_counts_removed_lines_that_look_like_headers(
    ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote
) -> None:
    (wt.path / "notes.md").write_text("--- a\n+++ b\nkeep\n")
    run_git(wt.path, "add", "notes.md")
    run_git(wt.path, "commit", "-q", "-m", "notes")
    fd = ws.file_diff(wt, "notes.md")
    assert (fd.added, fd.removed) == (3, 0)
    (wt.path / "notes.md").write_text("keep\n")
    base2 = Worktree(wt.path, wt.branch, wt.target, run_git(wt.path, "rev-parse", "HEAD"))
    fd2 = ws.file_diff(base2, "notes.md")
    assert (fd2.added, fd2.removed) == (0, 2)


def test_file_diff_takes_literal_paths(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "a*.txt").write_text("star\n")
    (wt.path / "ab.txt").write_text("other\n")
    fd = ws.file_diff(wt, "a*.txt")
    assert "+star" in fd.diff and "other" not in fd.diff


@pytest.mark.parametrize("bad", ["", "/etc/passwd", "../x", "a/../../x"])
def test_file_diff_refuses_paths_outside(ws: GitWorkspace, wt: Worktree, bad: str) -> None:
    with pytest.raises(WorkspaceError, match="relative to the worktree"):
        ws.file_diff(wt, bad)


def test_diff_and_changed_files_cover_the_whole_worktree(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "app/greeting.py").write_text('GREETING = "Hej"\n')
    (wt.path / "app/new.py").write_text("x = 1\n")
    (wt.path / "README.md").unlink()
    (wt.path / "ünïcode.txt").write_text("u\n")
    index_before = run_git(wt.path, "ls-files", "--stage")
    whole = ws.diff(wt)
    assert "app/greeting.py" in whole and "app/new.py" in whole and "README.md" in whole
    assert sorted(ws.changed_files(wt)) == [
        "README.md",
        "app/greeting.py",
        "app/new.py",
        "ünïcode.txt",
    ]
    assert run_git(wt.path, "ls-files", "--stage") == index_before


def test_diff_of_an_untouched_worktree_is_empty(ws: GitWorkspace, wt: Worktree) -> None:
    assert ws.diff(wt) == ""
    assert ws.changed_files(wt) == []


# ---- commit -----------------------------------------------------------------------------------


def _trailer(path: Path, key: str) -> str:
    return run_git(path, "log", "-1", f"--format=%(trailers:key={key},valueonly)")


def test_commit_records_request_and_trailers(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "app/greeting.py").write_text('GREETING = "Hej"\n')
    (wt.path / "app/new.py").write_text("x = 1\n")
    sha = ws.commit(
        wt, request="Make the greeting say hello in Swedish\n\nKeep it short.",
        change_id="c1", model="claude-sonnet-4-5",
    )  # fmt: skip
    assert sha == ws.head(wt) == run_git(wt.path, "rev-parse", wt.branch)
    assert run_git(wt.path, "log", "-1", "--format=%s") == "Make the greeting say hello in Swedish"
    body = run_git(wt.path, "log", "-1", "--format=%b")
    assert "Keep it short." in body
    assert _trailer(wt.path, "Honk-Change") == "c1"
    assert _trailer(wt.path, "Honk-Model") == "claude-sonnet-4-5"
    assert _trailer(wt.path, "Assisted-by") == "Claude (claude-sonnet-4-5) via Honk Desktop"
    assert run_git(wt.path, "status", "--porcelain") == ""
    assert run_git(wt.path, "rev-parse", "HEAD~1") == wt.base_commit
    assert ws.changed_files(wt) == ["app/greeting.py", "app/new.py"]


def test_commit_with_nothing_to_commit_is_refused(ws: GitWorkspace, wt: Worktree) -> None:
    with pytest.raises(WorkspaceError, match=r"nothing to commit in .*honk/c1"):
        ws.commit(wt, request="x", change_id="c1", model="m")


def test_commit_refuses_multiline_trailer_values(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "x.txt").write_text("x\n")
    with pytest.raises(WorkspaceError, match=r"model .* must be one line"):
        ws.commit(wt, request="x", change_id="c1", model="m\nHonk-Change: forged")


def test_commit_message_subject_and_huge_request() -> None:
    request = "  " + "word " * 40 + "\nsecond line\n" + "z" * 20000
    msg = commit_message(request, change_id="c9", model="m")
    subject, blank, rest = msg.split("\n", 2)
    assert len(subject) <= 72 and subject.endswith("...") and blank == ""
    assert "[request trimmed: " in rest and len(msg) < 9000
    assert msg.endswith(
        "Honk-Change: c9\nHonk-Model: m\nAssisted-by: Claude (m) via Honk Desktop\n"
    )
    assert commit_message("   \n", change_id="c", model="m").startswith("Honk change\n")


def test_commit_of_a_huge_request_keeps_trailers_parseable(ws: GitWorkspace, wt: Worktree) -> None:
    (wt.path / "x.txt").write_text("x\n")
    ws.commit(wt, request="Fix: " + "y" * 1_000_000, change_id="c1", model="m")
    assert _trailer(wt.path, "Honk-Change") == "c1"
    assert len(run_git(wt.path, "log", "-1", "--format=%s")) <= 72


# ---- remove -----------------------------------------------------------------------------------


def test_remove_deletes_worktree_and_branch_and_is_idempotent(
    ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote
) -> None:
    (wt.path / "dirty.txt").write_text("untracked\n")
    ws.remove(wt)
    assert not wt.path.exists()
    assert wt.branch not in repo.git("branch", "--list")
    assert str(wt.path) not in repo.git("worktree", "list")
    ws.remove(wt)  # again: nothing to do, no error


def test_remove_can_keep_the_branch(ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote) -> None:
    ws.remove(wt, delete_branch=False)
    assert not wt.path.exists()
    assert repo.git("rev-parse", wt.branch) == wt.base_commit


def test_remove_after_the_directory_vanished(
    ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote
) -> None:
    subprocess.run(["rm", "-rf", str(wt.path)], check=True)
    ws.remove(wt)
    assert wt.branch not in repo.git("branch", "--list")
    ws.create("c1", "Swedish greeting", "main")  # the id and path are free again


def test_delete_branch_prunes_a_vanished_worktree_and_says_where_the_branch_was(
    ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote
) -> None:
    subprocess.run(["rm", "-rf", str(wt.path)], check=True)
    assert ws.delete_branch(wt.branch) == wt.base_commit
    assert repo.git("branch", "--list", wt.branch) == ""
    assert str(wt.path) not in repo.git("worktree", "list")
    assert ws.delete_branch(wt.branch) is None  # again: no such branch, no error


def test_delete_branch_refuses_a_branch_still_checked_out(
    ws: GitWorkspace, wt: Worktree, repo: RepoWithRemote
) -> None:
    with pytest.raises(WorkspaceError, match=f"could not delete branch {re.escape(wt.branch)}"):
        ws.delete_branch(wt.branch)
    assert repo.git("rev-parse", wt.branch) == wt.base_commit
    assert wt.path.is_dir()


# ---- slugify ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Make the greeting say hello in Swedish", "make-the-greeting-say-hello-in-swedish"),
        ("Fix: crash on start!!", "fix-crash-on-start"),
        ("Ändra hälsningen på svenska", "andra-halsningen-pa-svenska"),
        ("日本語だけ", "change"),
        ("", "change"),
        ("---", "change"),
    ],
)
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_slugify_respects_max_len() -> None:
    slug = slugify("the play button overlaps the title on small screens and more", max_len=20)
    assert len(slug) <= 20 and not slug.endswith("-") and slug.startswith("the-play")


def test_count_lines_ignores_headers() -> None:
    diff = (
        "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n"
        "-old\n+new\n\\ No newline at end of file\n"
    )
    assert count_lines(diff) == (1, 1)


def test_changes_cut_and_removed_at_the_same_moment_all_succeed(repo: RepoWithRemote,
                                                               tmp_path: Path) -> None:
    """Git does not lock its worktree admin files: two adds at once fail ("failed to read
    .../commondir"), and a `worktree list` while another worktree is removed fails ("Invalid
    path .git/worktrees/<name>"), so adds, removes and listings share one lock."""
    from concurrent.futures import ThreadPoolExecutor

    workspace = GitWorkspace.open(repo.path, tmp_path / "concurrent")
    for round_ in range(3):
        names = [f"r{round_}c{i:02d}" for i in range(16)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            made = list(pool.map(lambda name: workspace.create(name, "at once", "main"), names))
        assert sorted(w.path.name for w in made) == names
        assert all((w.path / "README.md").is_file() for w in made)
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(workspace.remove, made))
        assert not any(w.path.exists() for w in made)
    assert repo.git("worktree", "list").count("\n") == 0  # only the main checkout is left
    assert "honk/" not in repo.git("branch", "--list")


def test_create_and_remove_wait_while_another_honk_holds_the_worktree_lock(
    repo: RepoWithRemote, tmp_path: Path
) -> None:
    """The lock is an flock in the shared git dir, so another process (a second Honk, the
    merger's scratch worktree) excludes this one; here a second open file stands for it."""
    import threading

    from desktop.adapters.git.worktree_admin import common_git_dir, worktree_admin_lock

    workspace = GitWorkspace.open(repo.path, tmp_path / "locked")
    wt = workspace.create("held01", "held", "main")
    with worktree_admin_lock(common_git_dir(repo.path)):
        remover = threading.Thread(target=workspace.remove, args=(wt,))
        creator = threading.Thread(target=workspace.create, args=("held02", "held", "main"))
        remover.start()
        creator.start()
        remover.join(0.5)
        creator.join(0.01)
        assert remover.is_alive() and creator.is_alive()  # both wait for the lock
        assert wt.path.is_dir() and not (tmp_path / "locked" / "held02").exists()
    remover.join(10)
    creator.join(10)
    assert not wt.path.exists()
    assert (tmp_path / "locked" / "held02" / "README.md").is_file()
