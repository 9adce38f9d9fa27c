"""The engine a person picks for one run (RunOptions.engine, from the window's picker or
`honk run --engine`) beats the repo's ``[agent] engine``, as ``model`` does."""

from __future__ import annotations

import pytest

from desktop.app.errors import UsageError
from desktop.core.options import RunOptions
from desktop.steps.agent import AgentStep
from desktop.steps.claude_code_agent import ClaudeCodeAgentStep
from tests.app.test_pipeline_steps import steps_for
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import OK, honk_toml

CLAUDE_CODE = '[agent]\nengine = "claude-code"\n'


async def test_picking_claude_code_builds_the_claude_code_agent_step(
        repo: RepoWithRemote) -> None:
    steps = await steps_for(repo, honk_toml(OK), RunOptions(engine="claude-code"))
    assert isinstance(steps[0], ClaudeCodeAgentStep)


async def test_picking_messages_overrides_a_repo_that_chose_claude_code(
        repo: RepoWithRemote) -> None:
    steps = await steps_for(repo, honk_toml(OK, extra=CLAUDE_CODE), RunOptions(engine="messages"))
    assert isinstance(steps[0], AgentStep)


async def test_no_pick_keeps_the_repos_engine(repo: RepoWithRemote) -> None:
    steps = await steps_for(repo, honk_toml(OK, extra=CLAUDE_CODE), RunOptions())
    assert isinstance(steps[0], ClaudeCodeAgentStep)


async def test_an_unknown_engine_is_refused_before_any_worktree(repo: RepoWithRemote) -> None:
    with pytest.raises(UsageError, match="unknown agent engine 'gpt'"):
        await steps_for(repo, honk_toml(OK), RunOptions(engine="gpt"))
    assert repo.git("worktree", "list").count("\n") == 0


async def test_picking_claude_code_without_the_sdk_stops_with_the_install_command(
        repo: RepoWithRemote, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("desktop.adapters.claude_code.sdk.sdk_installed", lambda: False)
    with pytest.raises(UsageError, match=r"chosen agent engine = 'claude-code'.*"
                                         r"pip install 'honk-desktop\[claude-code\]'"):
        await steps_for(repo, honk_toml(OK), RunOptions(engine="claude-code"))
    assert repo.git("worktree", "list").count("\n") == 0
