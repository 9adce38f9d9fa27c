"""The agent step on its own: the real SDK over HTTP against the scripted Messages API, the
real editor tool in a real worktree, its events on the real bus and journal. The step is
built as desktop/app/pipeline_steps.py builds it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from desktop.adapters.editor.tool import EditorTool
from desktop.adapters.git.workspace import GitWorkspace, Worktree
from desktop.app.context import AppContext
from desktop.core.events import EditApplied, EditPreview, Notice, ToolCall
from desktop.core.options import RunOptions
from desktop.core.pipeline import ChangeContext
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import tool_turn
from desktop.steps.agent import AgentSettings, AgentStep, Toolbox
from desktop.steps.agent_prompt import EDITOR_TOOL_NAME, system_prompt
from desktop.steps.verify import VerifierRunner
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.scripted_api import StartScripted
from tests.helpers.services import app_services
from tests.helpers.sessions import GREETING_FILE, SWEDISH_GREETING, swedish_edit, swedish_session
from tests.helpers.step_change import StepChange


def agent_step(app: AppContext, ctx: ChangeContext, workspace: GitWorkspace,
               worktree: Worktree) -> AgentStep:
    """The agent step, wired as `pipeline_steps` wires it for a change."""
    config = ctx.config
    runner = VerifierRunner(config.verify, secrets=app.secret_values,
                            ledger=app.ledger(ctx.change_id), tool_cache=app.home / "tool-cache")
    settings = AgentSettings(
        model=ctx.model, max_turns=config.agent.max_turns, max_cost_usd=config.agent.max_cost_usd,
        max_tokens=config.agent.max_tokens, system=system_prompt(worktree.path),
        prices=app.prices, backoff_s=app.backoff_s,
    )
    editor = EditorTool(worktree.path)

    async def file_diff(rel: str) -> tuple[str, int, int]:
        d = await app.offload(workspace.file_diff, worktree, rel)
        return d.diff, d.added, d.removed

    async def run_verifiers() -> str:
        return (await runner.run(ctx.change_id, worktree.path, ctx.emit)).failures_text()

    def toolbox(_: ChangeContext) -> Toolbox:
        return Toolbox(edit=editor.run, file_diff=file_diff, run_verifiers=run_verifiers,
                       offload=app.offload)

    return AgentStep(app.client(), settings, toolbox, app.loop_share)


class AgentChange(StepChange[AgentStep]):
    """A created change with its agent step (see `StepChange`)."""

    def roles(self) -> list[Any]:
        return [message["role"] for message in self.ctx.conversation]


@asynccontextmanager
async def agent_change(repo: RepoWithRemote, options: RunOptions | None = None
                       ) -> AsyncIterator[AgentChange]:
    """A change of ``repo`` made through the real services (start the scripted API first)."""
    configure(repo, JUDGE_OFF)
    async with app_services() as services:
        ctx, workspace, worktree = await services.changes.create_async(
            "Make the greeting Swedish", repo.path, options)
        step = agent_step(services.context, ctx, workspace, worktree)
        change = AgentChange(services, ctx, worktree, step)
        services.bus.subscribe(change.seen.append)
        yield change


async def test_an_edit_turn_is_applied_once_and_journalled_with_its_diff(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI) -> None:
    async with agent_change(repo) as change:
        result = await change.step.run(change.ctx)
        applied = change.journalled(EditApplied)
        calls = change.journalled(ToolCall)
        journalled_previews = change.journalled(EditPreview)
    assert result.ok, result.reason
    assert change.greeting() == SWEDISH_GREETING
    [edit] = applied
    assert (edit.command, edit.path, edit.added, edit.removed) == (
        "str_replace", GREETING_FILE, 1, 1)
    assert '-GREETING = "Hello"' in edit.diff and '+GREETING = "Hej"' in edit.diff
    # It streamed as previews first (shown, never journalled), then landed once.
    previews = [e for e in change.seen if isinstance(e, EditPreview)]
    assert previews and {p.tool_use_id for p in previews} == {edit.tool_use_id}
    assert "".join(p.delta for p in previews if p.field == "new_str") == '"Hej"'
    landed = next(i for i, e in enumerate(change.seen) if isinstance(e, EditApplied))
    assert change.seen.index(previews[-1]) < landed
    assert journalled_previews == []
    assert [(c.tool, c.summary, c.is_error) for c in calls] == [
        (EDITOR_TOOL_NAME, f"str_replace {GREETING_FILE}", False)]
    # The tool result went back to the model, which then ended its turn.
    assert change.roles() == ["user", "assistant", "user", "assistant"]
    [tool_result] = cast(list[dict[str, Any]], change.ctx.conversation[2]["content"])
    assert tool_result["tool_use_id"] == edit.tool_use_id and tool_result["is_error"] is False
    assert swedish_api.remaining() == {"default": 0}


async def test_max_turns_stops_the_run_with_a_clear_reason(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    look = tool_turn(EDITOR_TOOL_NAME, {"command": "view", "path": GREETING_FILE})
    api = scripted([look, *swedish_session()])
    async with agent_change(repo, RunOptions(max_turns=1)) as change:
        result = await change.step.run(change.ctx)
        applied = change.journalled(EditApplied)
    assert not result.ok
    assert result.reason == "the agent used all 1 turns"
    assert change.ctx.agent_turns == 1
    assert api.remaining() == {"default": 2}  # no second turn was asked for
    assert applied == [] and change.greeting() == 'GREETING = "Hello"\n'


async def test_a_stream_cut_mid_message_is_retried_and_the_edit_applied_once(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    cut = swedish_edit(chunk_chars=2, cut_after_events=8)
    api = scripted([cut, *swedish_session()])
    async with agent_change(repo) as change:
        result = await change.step.run(change.ctx)
        applied = change.journalled(EditApplied)
        notices = [n.message for n in change.journalled(Notice)]
    assert result.ok, result.reason
    assert len(applied) == 1
    assert any("retrying" in message for message in notices), notices
    assert change.greeting() == SWEDISH_GREETING
    # The cut turn left nothing in the conversation: one edit turn, its result, the end.
    assert change.roles() == ["user", "assistant", "user", "assistant"]
    assert api.remaining() == {"default": 0}
