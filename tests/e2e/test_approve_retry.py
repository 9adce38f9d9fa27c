"""Approval is idempotent per (change, commit): a retry after a cut merge reuses the approval
on record and writes the merge once; an approval of a new commit is a new record. And an
approval binds to the exact commit: a moved branch or an unclean worktree is refused, naming
the change and both commits, and nothing is lost. Real git, bare remote, real SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.adapters.store.audit_log import AuditLog
from desktop.core.audit import AuditRecord, utc_now_iso
from desktop.core.events import Merged, StageFinished
from desktop.core.stages import Stage
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.approvals import Capsys, audit_actions, journal, journal_append, start_change
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.scripted_api import StartScripted, cli
from tests.helpers.sessions import doubled_follow_up, swedish_session


@pytest.fixture
def api(scripted: StartScripted) -> ScriptedMessagesAPI:
    """The Swedish session, then one revision of it."""
    return scripted(swedish_session() + doubled_follow_up())


def cut_approve(repo: RepoWithRemote, tmp_path: Path, hook: str, *args: str) -> None:
    """`honk approve args` in its own process, killed by the remote's ``hook``: pre-receive
    cuts it before the push lands (and refuses it), post-receive right after."""
    pidfile = tmp_path / "approve.pid"
    script = repo.remote / "hooks" / hook
    script.write_text(f"#!/bin/sh\nkill -9 $(cat {pidfile})\nexit 1\n")
    script.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "approve", *args],
                            env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    pidfile.write_text(str(proc.pid))
    try:
        assert proc.wait(timeout=60) == -9
    finally:
        script.unlink()


def merged_once(repo: RepoWithRemote, change: str, commit: str) -> None:
    assert commit in run_git(repo.remote, "rev-list", "main").split()
    assert run_git(repo.remote, "log", "--format=%B", "main").count(f"Honk-Change: {change}") == 1
    assert [e["type"] for e in journal(change)].count("merged") == 1


@pytest.mark.parametrize(("hook", "override"), [("post-receive", False), ("pre-receive", True)])
def test_a_retry_after_a_cut_merge_reuses_the_approval_on_record(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys, tmp_path: Path,
        hook: str, override: bool) -> None:
    require = ("verified", "built") if override else ("verified",)
    change, commit = start_change(repo, capsys, require)
    flags = ("--override", "--reason", "build server down") if override else ()
    cut_approve(repo, tmp_path, hook, change, *flags)
    pushed = hook == "post-receive"
    assert (run_git(repo.remote, "rev-parse", "main") == commit) is pushed
    first = "override" if override else "approved"
    assert audit_actions(change) == [(first, commit)]

    # The retry needs no new decision (not even the override): the approval of this very
    # commit is on record. It finishes the merge and records it, once.
    code, lines, out = cli(capsys, "approve", change, "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    assert audit_actions(change) == [(first, commit), ("merged", commit)]
    notice = [x for x in lines if x["type"] == "notice"]
    assert any("approved already" in str(x["message"]) for x in notice)
    [merged] = [x for x in lines if x["type"] == "merged"]
    assert merged["already_merged"] is pushed
    merged_once(repo, change, commit)
    approvals = [e for e in journal(change) if e["type"] == "approved"]
    assert len(approvals) == 1 and approvals[0]["override"] is override

    # A double click afterwards changes nothing; the chain verifies.
    assert cli(capsys, "approve", change)[0] == 0
    assert audit_actions(change) == [(first, commit), ("merged", commit)]
    code, _, out = cli(capsys, "audit", "verify")
    assert code == 0 and "2 records" in out


def test_an_approval_of_a_new_commit_is_a_new_record(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys, tmp_path: Path) -> None:
    change, first = start_change(repo, capsys)
    cut_approve(repo, tmp_path, "pre-receive", change)
    code, lines, out = cli(capsys, "revise", change, "say it twice", "--json")
    assert code == 0, out
    second = str(lines[-1]["commit"])
    assert second != first
    code, _, out = cli(capsys, "approve", change)
    assert code == 0, out
    assert audit_actions(change) == [("approved", first), ("approved", second),
                                     ("merged", second)]
    assert run_git(repo.remote, "rev-parse", "main") == second


def test_cut_between_the_audit_record_and_the_journal(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys) -> None:
    """The approval reached the audit log but not the journal: the retry journals it from
    the record (its actor, not the retrying one) and writes no second record."""
    change, commit = start_change(repo, capsys)
    AuditLog(Path(os.environ["HONK_HOME"]) / "audit.sqlite3").append(AuditRecord(
        at=utc_now_iso(), action="approved", change_id=change, request="Swedish greeting",
        commit_sha=commit, actor="Ada Approver <ada@example.invalid> (os: ada)"))
    code, lines, out = cli(capsys, "approve", change, "--json")
    assert code == 0, out
    assert audit_actions(change) == [("approved", commit), ("merged", commit)]
    [approved] = [x for x in lines if x["type"] == "approved"]
    assert approved["actor"] == "Ada Approver <ada@example.invalid> (os: ada)"
    merged_once(repo, change, commit)


def test_cut_between_the_journalled_merge_and_its_audit_record(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys, tmp_path: Path) -> None:
    change, commit = start_change(repo, capsys)
    cut_approve(repo, tmp_path, "post-receive", change)
    journal_append(Merged(change=change, commit=commit, target="main", remote="origin",
                          merged_commit=commit, method="fast-forward"),
                   StageFinished(change=change, stage=Stage.MERGE))
    code, lines, out = cli(capsys, "approve", change, "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    assert audit_actions(change) == [("approved", commit), ("merged", commit)]
    assert cli(capsys, "approve", change)[0] == 0
    assert audit_actions(change) == [("approved", commit), ("merged", commit)]
    merged_once(repo, change, commit)


# -- the approval binds to the exact commit --------------------------------------------------


def refused(capsys: Capsys, repo: RepoWithRemote, change: str, *needles: str) -> str:
    before = run_git(repo.remote, "rev-parse", "main")
    code, _, out = cli(capsys, "approve", change)
    assert code == 2, out
    for needle in (f"change {change}: approval refused", *needles, "Nothing was merged"):
        assert needle in out, out
    assert run_git(repo.remote, "rev-parse", "main") == before
    assert audit_actions(change) == []
    return out


def test_uncommitted_changes_in_the_worktree_refuse_and_stay(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys) -> None:
    change, commit = start_change(repo, capsys)
    [row] = cli(capsys, "show", change, "--json")[1]
    worktree = Path(str(row["worktree"]))
    (worktree / "app/greeting.py").write_text('GREETING = "Hej, unreviewed"\n')
    (worktree / "README.md").write_text("# staged, unreviewed\n")
    run_git(worktree, "add", "README.md")
    refused(capsys, repo, change, "uncommitted changes", "app/greeting.py", "README.md",
            f"reviewed commit {commit}")
    assert (worktree / "app/greeting.py").read_text() == 'GREETING = "Hej, unreviewed"\n'
    assert run_git(worktree, "diff", "--cached", "--name-only") == "README.md"
    assert run_git(worktree, "rev-parse", "HEAD") == commit

    # Once they are gone the same commit is approved. An untracked file (say, a build's
    # output) is not part of any commit and does not block it.
    run_git(worktree, "reset", "-q", "--hard")
    (worktree / "output.bin").write_bytes(b"\0")
    code, _, out = cli(capsys, "approve", change)
    assert code == 0, out
    assert run_git(repo.remote, "rev-parse", "main") == commit


def test_a_moved_branch_or_worktree_refuses_naming_both_commits(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: Capsys) -> None:
    change, commit = start_change(repo, capsys)
    [row] = cli(capsys, "show", change, "--json")[1]
    worktree, branch = Path(str(row["worktree"])), str(row["branch"])

    run_git(worktree, "checkout", "-q", "--detach", "HEAD~1")  # the worktree left the commit
    base = run_git(worktree, "rev-parse", "HEAD")
    refused(capsys, repo, change, f"worktree {worktree} is at {base}", commit)
    run_git(worktree, "checkout", "-q", branch)

    (worktree / "sneaky.txt").write_text("not reviewed\n")
    run_git(worktree, "add", "sneaky.txt")
    run_git(worktree, "commit", "-q", "-m", "manual commit after the review")
    moved = run_git(worktree, "rev-parse", "HEAD")
    refused(capsys, repo, change, "branch moved", f"expected {branch} at {commit}",
            f"found {moved}", "look at the change again")
    assert run_git(repo.path, "rev-parse", branch) == moved  # the manual commit is kept
