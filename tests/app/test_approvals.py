"""The approval use cases on real services: the review a person decides on (gates, a void
approval), approve binding to the reviewed commit, and a second approve merging nothing. Real
git with a bare remote, real journal and audit log, the scripted Messages API."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.app.approvals import merge_summary, retry_reason
from desktop.app.errors import MergeError, UsageError
from desktop.app.services import Services
from desktop.core.audit import AuditRecord, StoredRecord, parse_export, verify
from desktop.core.events import Approved, Merged
from desktop.core.stages import ChangeState
from desktop.core.state import ChangeView
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import OK, configure, honk_toml
from tests.helpers.services import app_services, run_change


async def awaiting_approval(services: Services, repo: RepoWithRemote,
                            *require: str) -> ChangeView:
    """A verified change waiting for approval; ``require``: the gates honk.toml asks for."""
    configure(repo, honk_toml(OK, require=require or ("verified",)), push=True)
    return await run_change(services, repo)


def commit_behind_the_reviews_back(view: ChangeView) -> str:
    """A commit made on the change's branch by hand, after the evidence was gathered."""
    worktree = Path(view.worktree)
    (worktree / "sneaky.txt").write_text("not reviewed\n")
    run_git(worktree, "add", "sneaky.txt")
    run_git(worktree, "commit", "-q", "-m", "manual commit after the evidence")
    return run_git(worktree, "rev-parse", "HEAD")


def remote_tip(repo: RepoWithRemote) -> str:
    return run_git(repo.remote, "rev-parse", "main")


def audit(services: Services, change: str) -> list[tuple[str, str]]:
    return [(r.record.action, r.record.commit_sha) for r in services.audit.find(change)]


async def test_review_computes_the_gates_and_whether_the_approval_is_void(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await awaiting_approval(services, repo, "verified", "built")
        review = services.approvals.review(view.id)
        assert view.commit is not None
        assert review.evidence.commit == review.branch_head == view.commit
        assert review.evidence.verified and not review.evidence.built
        assert review.gates.unmet == ("built",)
        assert review.gates.problems == ("built: no build of this commit exists",)
        assert not review.is_void
        assert review.target == "origin/main"
        assert review.block_reason() == "built: no build of this commit exists"

        moved = commit_behind_the_reviews_back(view)
        again = services.approvals.review(view.id)
    assert again.evidence.commit == view.commit and again.branch_head == moved
    assert again.is_void
    assert again.gates.problems[0] == (
        f"the branch moved to {moved[:12]} after the evidence about {view.commit[:12]}: "
        "look at the change again")
    assert again.block_reason().startswith("the branch moved")


async def test_approve_merges_exactly_the_reviewed_commit(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await awaiting_approval(services, repo)
        reviewed = services.approvals.review(view.id).evidence.commit
        merged = await services.approvals.approve(view.id)
        approved = [e for e in services.journal.events(view.id) if isinstance(e, Approved)]
        state = services.context.view(view.id).state
        actions = audit(services, view.id)
    assert reviewed is not None
    assert merged.commit == reviewed and not merged.already_merged
    assert remote_tip(repo) == merged.merged_commit
    assert reviewed in run_git(repo.remote, "rev-list", "main").split()
    assert [a.commit for a in approved] == [reviewed]
    assert actions == [("approved", reviewed), ("merged", reviewed)]
    assert state is ChangeState.MERGED


async def test_approve_refuses_a_moved_branch_naming_both_commits(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await awaiting_approval(services, repo)
        before = remote_tip(repo)
        moved = commit_behind_the_reviews_back(view)
        with pytest.raises(UsageError) as refused:
            await services.approvals.approve(view.id)
        recorded = services.journal.events(view.id)
        state = services.context.view(view.id).state
        actions = audit(services, view.id)
    message = str(refused.value)
    assert view.commit is not None
    assert view.commit in message and moved in message and "branch moved" in message
    assert "Nothing was merged" in message
    assert remote_tip(repo) == before
    assert not any(isinstance(e, Approved | Merged) for e in recorded)
    assert actions == []
    assert state is ChangeState.AWAITING_APPROVAL


async def test_a_second_approve_of_a_merged_change_merges_nothing(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await awaiting_approval(services, repo)
        first = await services.approvals.approve(view.id)
        tip = remote_tip(repo)
        second = await services.approvals.approve(view.id)
        merges = [e for e in services.journal.events(view.id) if isinstance(e, Merged)]
        actions = audit(services, view.id)
    assert (second.commit, second.merged_commit) == (first.commit, first.merged_commit)
    assert remote_tip(repo) == tip
    log = run_git(repo.remote, "log", "--format=%B", "main")
    assert log.count(f"Honk-Change: {view.id}") == 1
    assert len(merges) == 1
    assert actions == [("approved", first.commit), ("merged", first.commit)]


async def test_approving_again_after_a_failed_merge_is_a_second_approval_of_the_same_commit(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    """The failed merge closes the first approval, so approving again is a person's second
    decision (gates checked again) and is recorded as one: the audit log tells the whole
    story, the second approval names the failed merge it retries, and the chain verifies."""
    first_actor, second_actor = "Ann <ann@x> (os: ann)", "Bo <bo@x> (os: bo)"
    async with app_services() as services:
        view = await awaiting_approval(services, repo)
        away = repo.remote.with_name("remote-away.git")
        repo.remote.rename(away)  # the server is down
        with pytest.raises(MergeError, match="cannot be reached"):
            await services.approvals.approve(view.id, actor=first_actor)
        waiting = services.context.view(view.id).state
        away.rename(repo.remote)  # back up
        merged = await services.approvals.approve(view.id, actor=second_actor,
                                                  reason="remote is back")
        approvals = [e for e in services.journal.events(view.id) if isinstance(e, Approved)]
        records = services.audit.find(view.id)
        report = services.audit.verify()
        exported = parse_export(services.audit.export_json())
    commit = view.commit
    assert commit is not None and merged.commit == commit and not merged.already_merged
    assert waiting is ChangeState.AWAITING_APPROVAL
    assert remote_tip(repo) == merged.merged_commit
    failed = records[1]
    assert [(r.seq, r.record.action, r.record.commit_sha, r.record.actor, r.record.reason)
            for r in records] == [
        (1, "approved", commit, first_actor, None),
        (2, "merge_failed", commit, first_actor, None),
        (3, "approved", commit, second_actor,
         "approved again after the failed merge (audit record 2): remote is back"),
        (4, "merged", commit, second_actor, None),
    ]
    assert failed.record.merge_result is not None
    assert "cannot be reached" in failed.record.merge_result
    assert records[3].record.merge_result == merge_summary(merged)
    # The journal says the same: two approvals of the one commit, by who gave them.
    assert [(a.commit, a.actor, a.reason) for a in approvals] == [
        (commit, first_actor, ""), (commit, second_actor, "remote is back")]
    assert report.ok and report.checked == 4
    assert verify(*exported).ok


def test_a_retry_note_only_follows_a_failed_merge_of_the_same_commit() -> None:
    def stored(seq: int, action: str, commit: str) -> StoredRecord:
        return StoredRecord(seq, AuditRecord(
            at="2026-12-07T20:00:00.000+00:00", action=action, change_id="c", request="r",
            commit_sha=commit, actor="Ann (os: ann)"), "0" * 64, "0" * 64)

    a, b = "a" * 40, "b" * 40
    failed = [stored(1, "approved", a), stored(2, "merge_failed", a)]
    assert retry_reason(failed, a, "") == "approved again after the failed merge (audit record 2)"
    assert retry_reason(failed, a, "ok now") == (
        "approved again after the failed merge (audit record 2): ok now")
    assert retry_reason(failed, b, "moved on") == "moved on"  # another commit: a new decision
    assert retry_reason([stored(1, "rejected", a)], a, "") == ""
    assert retry_reason([], a, "why") == "why"
