"""The steps of a change's pipeline, wired from adapters: agent, verifiers, commit, judge,
build, install and approval. The adapters are imported when steps are built, not at import:
the window imports the change services to show the history and must not pay for them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.events import Committed
from desktop.core.stages import Stage

if TYPE_CHECKING:
    from desktop.adapters.loop_priority import Offload
    from desktop.adapters.workspace import GitWorkspace, Worktree
    from desktop.changes import ChangeService
    from desktop.core.pipeline import ChangeContext, Step, StepResult

__all__ = ["CommitStep", "pipeline_steps"]


class CommitStep:
    """Commit the agent's work on the change branch, authorship disclosed in trailers."""

    stage = Stage.COMMIT
    max_returns = 0

    def __init__(
        self, workspace: GitWorkspace, worktree: Worktree, offload: Offload | None = None
    ) -> None:
        import asyncio

        self.workspace, self.worktree = workspace, worktree
        self.offload = offload or asyncio.to_thread  # where git runs: never on the loop thread

    async def run(self, ctx: ChangeContext) -> StepResult:
        from desktop.core.pipeline import StepResult

        if not await self.offload(self.workspace.changed_files, self.worktree):
            if ctx.commit:  # already committed in an earlier round; nothing new
                return StepResult(ok=True)
            return StepResult(ok=False, reason="the agent finished without changing any file")
        sha = await self.offload(self._commit, ctx)
        files = await self.offload(self.workspace.committed_files, self.worktree, sha)
        ctx.commit = sha
        ctx.emit(Committed(change=ctx.change_id, commit=sha, branch=ctx.branch, files=tuple(files)))
        return StepResult(ok=True)

    def _commit(self, ctx: ChangeContext) -> str:
        sha = self._unjournalled_commit(ctx)
        if sha is not None:
            return sha
        return self.workspace.commit(
            self.worktree, request=ctx.request, change_id=ctx.change_id, model=ctx.model
        )

    def _unjournalled_commit(self, ctx: ChangeContext) -> str | None:
        """A commit of this change that a killed run made but never journalled, if the
        worktree holds nothing newer; committing again would fail on a clean tree."""
        from desktop.adapters.gitcli import git

        head = self.workspace.head(self.worktree)
        if head in (ctx.base_commit, ctx.commit):
            return None
        if git("status", "--porcelain", "--untracked-files=all", cwd=self.worktree.path):
            return None
        message = git("log", "-1", "--format=%B", head, cwd=self.worktree.path)
        return head if f"Honk-Change: {ctx.change_id}" in message else None


def pipeline_steps(
    service: ChangeService, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree
) -> list[Step]:
    """The change's steps, in order, as its config asks for."""
    from desktop.adapters.agent import AgentSettings, AgentStep, Toolbox
    from desktop.adapters.agent_prompt import system_prompt
    from desktop.adapters.build import BuildStep
    from desktop.adapters.editor_tool import EditorTool
    from desktop.adapters.verifiers import VerifierRunner, VerifyStep
    from desktop.core.approval import ApprovalStep

    config = ctx.config
    offload = service.offload
    ledger = service.ledger(ctx.change_id)
    tool_cache = service.home / "tool-cache"  # boxed commands' Gradle and Android homes
    runner = VerifierRunner(config.verify, secrets=service.secret_values, ledger=ledger,
                            tool_cache=tool_cache)
    settings = AgentSettings(
        model=ctx.model,
        max_turns=config.agent.max_turns,
        max_cost_usd=config.agent.max_cost_usd,
        max_tokens=config.agent.max_tokens,
        system=system_prompt(worktree.path),
        prices=service.prices,
        backoff_s=service.backoff_s,
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
        AgentStep(service.client(), settings, toolbox, service.loop_share),
        VerifyStep(runner, max_returns=config.agent.verify_rounds),
        CommitStep(workspace, worktree, offload),
    ]
    if config.judge.enabled:
        steps.append(_judge_step(service, ctx, workspace, worktree))
    if config.build is not None:
        steps.append(BuildStep(config.build, secrets=service.secret_values, ledger=ledger,
                               tool_cache=tool_cache))
    if config.device is not None and service.installer_for is not None:
        installer = service.installer_for(config.device, ctx.device)
        if installer is not None:
            steps.append(installer)
    steps.append(ApprovalStep())
    return steps


def _judge_step(
    service: ChangeService, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree
) -> Step:
    from desktop.adapters.judge import JudgeSettings, JudgeStep

    async def diff() -> str:
        return await service.offload(workspace.diff, worktree)

    settings = JudgeSettings(model=ctx.config.judge.model, prices=service.prices)
    return JudgeStep(service.client(), diff, secret_values=service.secret_values,
                     settings=settings)
