"""The steps of a change's pipeline, wired from the context and the repo's config: agent,
verifiers, commit, judge, build, install and approval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from desktop.app.context import AppContext

if TYPE_CHECKING:
    from desktop.adapters.git.workspace import GitWorkspace, Worktree
    from desktop.core.config import HonkConfig
    from desktop.core.pipeline import ChangeContext, Step

__all__ = ["pipeline_steps"]

# The steps' modules (the agent, the SDK glue, verifiers, build) are imported when a
# change's steps are built, not here: the window imports the use cases to show the history
# and must not pay for them at start-up.


def pipeline_steps(
    app: AppContext, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree
) -> list[Step]:
    """The change's steps, in order, as its config asks for."""
    from desktop.adapters.editor.tool import EditorTool
    from desktop.core.approval import ApprovalStep
    from desktop.steps.agent import AgentSettings, AgentStep, Toolbox
    from desktop.steps.agent_prompt import system_prompt
    from desktop.steps.build import BuildStep
    from desktop.steps.commit import CommitStep
    from desktop.steps.verify import VerifierRunner, VerifyStep

    config = ctx.config
    offload = app.offload
    ledger = app.ledger(ctx.change_id)
    tool_cache = app.home / "tool-cache"  # boxed commands' Gradle and Android homes
    runner = VerifierRunner(config.verify, secrets=app.secret_values, ledger=ledger,
                            tool_cache=tool_cache)
    settings = AgentSettings(
        model=ctx.model,
        max_turns=config.agent.max_turns,
        max_cost_usd=config.agent.max_cost_usd,
        max_tokens=config.agent.max_tokens,
        system=system_prompt(worktree.path),
        prices=app.prices,
        backoff_s=app.backoff_s,
    )
    editor = EditorTool(worktree.path)

    async def file_diff(rel: str) -> tuple[str, int, int]:
        d = await offload(workspace.file_diff, worktree, rel)
        return d.diff, d.added, d.removed

    async def run_verifiers() -> str:
        report = await runner.run(ctx.change_id, worktree.path, ctx.emit)
        return report.failures_text()

    def toolbox(_: ChangeContext) -> Toolbox:
        return Toolbox(edit=editor.run, file_diff=file_diff, run_verifiers=run_verifiers,
                       offload=offload)

    agent: Step = (
        _claude_code_step(app, ctx, worktree, file_diff, run_verifiers)
        if config.agent.engine == "claude-code"
        else AgentStep(app.client(), settings, toolbox, app.loop_share)
    )
    steps: list[Step] = [
        agent,
        VerifyStep(runner, max_returns=config.agent.verify_rounds),
        CommitStep(workspace, worktree, offload),
    ]
    if config.judge.enabled:
        steps.append(_judge_step(app, ctx, workspace, worktree))
    if config.build is not None and config.build.remote:
        steps.append(_remote_build_step(app, workspace, config))
    elif config.build is not None:
        steps.append(BuildStep(config.build, secrets=app.secret_values, ledger=ledger,
                               tool_cache=tool_cache))
    if config.device is not None and app.installer_for is not None:
        installer = app.installer_for(config.device, ctx.device)
        if installer is not None:
            steps.append(installer)
    steps.append(ApprovalStep())
    return steps


def _remote_build_step(app: AppContext, workspace: GitWorkspace, config: HonkConfig) -> Step:
    from desktop.adapters.forge.actions import ActionsClient
    from desktop.adapters.git.merge import GitMerger
    from desktop.steps.remote_build import RemoteBuildStep

    build = config.build
    assert build is not None

    def client(on_wait: Callable[[float, str], None]) -> ActionsClient:
        token = app.github_token() or ""  # called off the loop: the keyring may be slow
        return ActionsClient(token, base_url=build.github_api, on_wait=on_wait)

    # Tests shorten the back-off; a real run polls every 2 s at first, then up to 30 s.
    poll = (max(0.05, 2 * app.backoff_s), max(0.3, 30 * app.backoff_s))
    return RemoteBuildStep(build, client=client,
                           pusher=GitMerger(workspace.repo, app.home / "scratch"),
                           remote=config.merge.remote, artifacts_dir=app.home / "artifacts",
                           history=app.journal.events, secrets=app.secret_values, poll_s=poll,
                           offload=app.offload, share=app.loop_share)


def _claude_code_step(
    app: AppContext, ctx: ChangeContext, worktree: Worktree,
    file_diff: Callable[[str], Awaitable[tuple[str, int, int]]],
    run_verifiers: Callable[[], Awaitable[str]],
) -> Step:
    from desktop.adapters.claude_code.environment import CliPlaces
    from desktop.steps.claude_code_agent import (
        ClaudeCodeAgentStep,
        ClaudeCodeSettings,
        ClaudeCodeTools,
    )
    from desktop.steps.claude_code_prompt import claude_code_prompt

    agent = ctx.config.agent
    client = app.client()  # the key and base URL Honk's own Messages client was made with
    settings = ClaudeCodeSettings(
        model=ctx.model, max_turns=agent.max_turns, max_cost_usd=agent.max_cost_usd,
        max_tokens=agent.max_tokens, system=claude_code_prompt(worktree.path),
        api_key=str(client.api_key), base_url=str(client.base_url).rstrip("/"),
        places=CliPlaces(app.home / "claude-code"), prices=app.prices,
        # Tests shorten the back-off; a real CLI may think for minutes between events.
        silence_s=max(10.0, 600 * app.backoff_s))

    def tools(_: ChangeContext) -> ClaudeCodeTools:
        return ClaudeCodeTools(file_diff=file_diff, run_verifiers=run_verifiers,
                               offload=app.offload)

    return ClaudeCodeAgentStep(settings, tools, secrets=app.secret_values,
                               ledger=app.ledger(ctx.change_id))


def _judge_step(
    app: AppContext, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree
) -> Step:
    from desktop.steps.judge import JudgeSettings, JudgeStep

    async def diff() -> str:
        return await app.offload(workspace.diff, worktree)

    settings = JudgeSettings(model=ctx.config.judge.model, prices=app.prices)
    return JudgeStep(app.client(), diff, secret_values=app.secret_values,
                     settings=settings)
