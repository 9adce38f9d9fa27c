"""The steps of a change's pipeline, wired from the context and the repo's config: agent,
verifiers, commit, judge, build, install and approval."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.app.context import AppContext

if TYPE_CHECKING:
    from desktop.adapters.git.workspace import GitWorkspace, Worktree
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

    steps: list[Step] = [
        AgentStep(app.client(), settings, toolbox, app.loop_share),
        VerifyStep(runner, max_returns=config.agent.verify_rounds),
        CommitStep(workspace, worktree, offload),
    ]
    if config.judge.enabled:
        steps.append(_judge_step(app, ctx, workspace, worktree))
    if config.build is not None:
        steps.append(BuildStep(config.build, secrets=app.secret_values, ledger=ledger,
                               tool_cache=tool_cache))
    if config.device is not None and app.installer_for is not None:
        installer = app.installer_for(config.device, ctx.device)
        if installer is not None:
            steps.append(installer)
    steps.append(ApprovalStep())
    return steps


def _judge_step(
    app: AppContext, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree
) -> Step:
    from desktop.steps.judge import JudgeSettings, JudgeStep

    async def diff() -> str:
        return await app.offload(workspace.diff, worktree)

    settings = JudgeSettings(model=ctx.config.judge.model, prices=app.prices)
    return JudgeStep(app.client(), diff, secret_values=app.secret_values,
                     settings=settings)
