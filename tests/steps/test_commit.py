"""The commit step on a real worktree: it commits the agent's work with the change's
trailers, refuses a run that changed nothing, and adopts a commit a killed run made but never
journalled instead of committing again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from desktop.adapters.git.workspace import GitWorkspace, Worktree
from desktop.core.config import HonkConfig
from desktop.core.events import Committed, Event
from desktop.core.pipeline import ChangeContext
from desktop.steps.commit import CommitStep
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.sessions import GREETING_FILE, SWEDISH_GREETING

CHANGE = "c1"
REQUEST = "Make the greeting Swedish"
MODEL = "claude-sonnet-4-6"


@dataclass
class Change:
    """A change's worktree cut from the sample repo, and what its steps emit."""

    workspace: GitWorkspace
    worktree: Worktree
    events: list[Event] = field(default_factory=list)

    def ctx(self) -> ChangeContext:
        wt = self.worktree
        return ChangeContext(
            change_id=CHANGE, request=REQUEST, worktree=str(wt.path), branch=wt.branch,
            base_commit=wt.base_commit, config=HonkConfig(), emit=self.events.append,
            model=MODEL,
        )

    def step(self) -> CommitStep:
        return CommitStep(self.workspace, self.worktree)

    def git(self, *args: str) -> str:
        return run_git(self.worktree.path, *args)

    def edit_greeting(self) -> None:
        (self.worktree.path / GREETING_FILE).write_text(SWEDISH_GREETING)

    def committed(self) -> list[Committed]:
        return [e for e in self.events if isinstance(e, Committed)]


@pytest.fixture
def change(repo: RepoWithRemote, tmp_path: Path) -> Change:
    workspace = GitWorkspace.open(repo.path, tmp_path / "worktrees")
    return Change(workspace, workspace.create(CHANGE, REQUEST, "main"))


async def test_commits_the_agents_work_on_the_branch_with_the_change_trailer(
        change: Change) -> None:
    change.edit_greeting()
    ctx = change.ctx()
    result = await change.step().run(ctx)
    assert result.ok, result.reason
    head = change.git("rev-parse", "HEAD")
    assert ctx.commit == head
    assert change.git("rev-parse", f"{head}~1") == change.worktree.base_commit
    assert change.git("rev-parse", change.worktree.branch) == head
    trailers = change.git("log", "-1", "--format=%(trailers:only,unfold)", head)
    assert f"Honk-Change: {CHANGE}" in trailers and f"Honk-Model: {MODEL}" in trailers
    assert change.git("status", "--porcelain") == ""
    [committed] = change.committed()
    assert committed.commit == head and committed.branch == change.worktree.branch
    assert committed.files == (GREETING_FILE,)


async def test_a_run_that_changed_no_file_is_not_ok_and_commits_nothing(change: Change) -> None:
    ctx = change.ctx()
    result = await change.step().run(ctx)
    assert not result.ok
    assert "without changing any file" in result.reason
    assert ctx.commit is None and change.committed() == []
    assert change.git("rev-parse", "HEAD") == change.worktree.base_commit


async def test_a_round_with_nothing_new_since_its_journalled_commit_keeps_that_commit(
        change: Change) -> None:
    change.edit_greeting()
    ctx = change.ctx()
    assert (await change.step().run(ctx)).ok
    first = ctx.commit
    result = await change.step().run(ctx)  # again, as a resume from the commit stage does
    assert result.ok
    assert ctx.commit == first == change.git("rev-parse", "HEAD")
    assert len(change.committed()) == 1


async def test_a_commit_a_killed_run_made_but_never_journalled_is_adopted_not_redone(
        change: Change) -> None:
    # What a run killed inside the commit step leaves: git made the commit (with this
    # change's trailer, tree clean), the journal never heard of it.
    change.edit_greeting()
    left = change.workspace.commit(change.worktree, request=REQUEST, change_id=CHANGE,
                                   model=MODEL)
    ctx = change.ctx()  # as a resume makes it: the journal knows of no commit
    result = await change.step().run(ctx)
    assert result.ok, result.reason
    assert ctx.commit == left == change.git("rev-parse", "HEAD")
    assert change.git("rev-list", "--count", f"{change.worktree.base_commit}..HEAD") == "1"
    [committed] = change.committed()
    assert committed.commit == left and committed.files == (GREETING_FILE,)
