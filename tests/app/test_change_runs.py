"""Taking a change up again (change_runs), each under the change's lock as its callers take
it: reject removes the worktree and branch and records why; revise and resume refuse a change
in a state they cannot continue, naming that state and touching nothing. Real services, real
git, the scripted Messages API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.adapters.store.locks import this_host
from desktop.app import change_runs
from desktop.app.errors import UsageError
from desktop.app.services import Services
from desktop.core.events import (
    ChangeFinished,
    Event,
    Notice,
    RevisionRequested,
    RunAttached,
    StageStarted,
)
from desktop.core.stages import ChangeState, Stage
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.services import app_services, run_change


@pytest.fixture
def configured(repo: RepoWithRemote) -> RepoWithRemote:
    return configure(repo, JUDGE_OFF)


def events(services: Services, change: str) -> list[Event]:
    return services.journal.events(change)


async def test_reject_removes_the_worktree_and_branch_and_records_the_rejection(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await run_change(services, configured)
        assert Path(view.worktree).is_dir() and configured.git("branch", "--list", view.branch)
        services.changes.reject(view.id, "wrong approach")
        after = services.context.view(view.id)
        last = events(services, view.id)[-1]
    assert not Path(view.worktree).exists()
    assert configured.git("branch", "--list", view.branch) == ""
    assert str(Path(view.worktree)) not in configured.git("worktree", "list")
    assert isinstance(last, ChangeFinished)
    assert (last.state, last.reason) == ("rejected", "wrong approach")
    assert after.state is ChangeState.REJECTED


@pytest.mark.parametrize("how", ["git worktree remove", "rm -rf"])
async def test_rejecting_a_change_whose_worktree_is_gone_deletes_its_branch_too(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI, how: str) -> None:
    async with app_services() as services:
        view = await run_change(services, configured)
        assert view.commit is not None
        if how == "rm -rf":  # git still lists it (prunable) until something prunes it
            shutil.rmtree(view.worktree)
        else:
            configured.git("worktree", "remove", "--force", view.worktree)
        assert configured.git("rev-parse", view.branch) == view.commit
        await services.approvals.reject(view.id, "not needed", actor="Reviewer <r@x> (os: r)")
        after = services.context.view(view.id)
        recorded = events(services, view.id)
        audited = [(r.record.action, r.record.reason, r.record.commit_sha)
                   for r in services.audit.find(view.id)]
        intact = services.audit.verify()
    assert configured.git("branch", "--list", view.branch) == ""
    assert str(Path(view.worktree)) not in configured.git("worktree", "list")
    *_, notice, finished = recorded
    assert isinstance(notice, Notice) and notice.level == "warning"
    # What was deleted is named with its commit, so nothing is past recovering.
    assert notice.message == (
        f"worktree already gone: {view.worktree}; deleted its branch {view.branch} (it was at "
        f"{view.commit}: `git branch {view.branch} {view.commit}` brings it back)")
    assert isinstance(finished, ChangeFinished)
    assert (finished.state, finished.reason) == ("rejected", "not needed")
    assert after.state is ChangeState.REJECTED
    assert audited == [("rejected", "not needed", view.commit)]
    assert intact.ok
    # The commit itself is still in the repository (only the branch name went).
    assert configured.git("cat-file", "-t", view.commit) == "commit"


async def test_rejecting_keeps_a_worktree_that_is_someone_elses_now(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await run_change(services, configured)
        worktree = Path(view.worktree)
        configured.git("worktree", "remove", "--force", str(worktree))
        configured.git("worktree", "add", "-q", "-b", "mine", str(worktree), "main")
        (worktree / "notes.txt").write_text("my own work\n")
        services.changes.reject(view.id, "")
        recorded = events(services, view.id)
    assert (worktree / "notes.txt").read_text() == "my own work\n"
    assert run_git(worktree, "symbolic-ref", "--short", "HEAD") == "mine"
    assert configured.git("branch", "--list", view.branch) == ""
    *_, notice, finished = recorded
    assert isinstance(notice, Notice) and notice.message.startswith(
        f"worktree {worktree} left as it is: worktree {worktree} is on branch mine")
    assert f"deleted its branch {view.branch}" in notice.message
    assert isinstance(finished, ChangeFinished) and finished.state == "rejected"


async def test_revise_refuses_a_final_change_naming_its_state(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await run_change(services, configured)
        services.changes.reject(view.id, "no")
        before = len(events(services, view.id))
        with (services.context.hold(view.id, "revise"),
              pytest.raises(UsageError, match=f"change {view.id} is rejected and cannot be "
                                              "revised")):
            await change_runs.revise_locked(services.context, view.id, "say it twice")
        assert len(events(services, view.id)) == before


async def test_revise_refuses_a_change_still_running_naming_its_state(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        ctx, _, worktree = await services.changes.create_async("Swedish", configured.path)
        # Driven from another computer (a shared HONK_HOME): on this one, a run that holds
        # no lock would count as dead, and the change as interrupted.
        services.bus.emit(RunAttached(change=ctx.change_id, pid=4242, host=f"not-{this_host()}"))
        services.bus.emit(StageStarted(change=ctx.change_id, stage=Stage.AGENT))
        head = configured.git("rev-parse", worktree.branch)
        with (services.context.hold(ctx.change_id, "revise"),
              pytest.raises(UsageError, match=f"change {ctx.change_id} is still agent_running; "
                                              "cancel it first")):
            await change_runs.revise_locked(services.context, ctx.change_id, "say it twice")
        recorded = events(services, ctx.change_id)
    assert not any(isinstance(e, RevisionRequested) for e in recorded)
    assert configured.git("rev-parse", worktree.branch) == head
    assert swedish_api.remaining() == {"default": 2}  # the agent was never asked


async def test_resume_refuses_a_change_that_is_not_interrupted(
        configured: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with app_services() as services:
        view = await run_change(services, configured)
        before = events(services, view.id)
        with (services.context.hold(view.id, "resume"),
              pytest.raises(UsageError, match=f"change {view.id} is awaiting_approval, not "
                                              "interrupted")):
            await change_runs.resume_locked(services.context, view.id)
        assert events(services, view.id) == before
        assert services.context.view(view.id).state is ChangeState.AWAITING_APPROVAL
