"""Starting, running, resuming, revising and rejecting changes: the use cases the CLI, the
window and Slack share. Each is a method over one explicit :class:`AppContext`; running and
taking a change up again live in `change_runs`, the pipeline's steps in `pipeline_steps`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.adapters.store.journal import JournalError
from desktop.app import change_runs
from desktop.app.context import AppContext
from desktop.app.inputs import new_change_id, read_config, validate_request
from desktop.app.pipeline_steps import pipeline_steps
from desktop.core.errors import UsageError
from desktop.core.events import ChangeCreated, Notice
from desktop.core.options import RunOptions
from desktop.core.stages import ChangeState, Stage

if TYPE_CHECKING:
    from desktop.adapters.git.workspace import GitWorkspace, Worktree
    from desktop.core.pipeline import ChangeContext, Step
    from desktop.core.state import ChangeView

__all__ = ["ChangeService", "RunOptions", "UsageError"]


class ChangeService:
    """The change use cases over ``context``; every effect is an event on its bus."""

    def __init__(self, context: AppContext) -> None:
        self.context = context

    # -- creating -----------------------------------------------------------------------
    def create(
        self, request: str, repo: Path, options: RunOptions | None = None
    ) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """Validate input, cut the worktree, journal the new change. Raises UsageError."""
        # Lazy for start-up: the window imports this module to show the history.
        from desktop.adapters.git.workspace import GitWorkspace
        from desktop.core.config import ENGINES  # read_config loads it here anyway

        options = options or RunOptions()
        text = validate_request(request)
        config = read_config(repo)
        chosen_by = f"{repo / config.file}: agent.engine"
        if options.engine is not None:  # the person's pick beats the repo's [agent] engine
            if options.engine not in ENGINES:
                raise UsageError(f"unknown agent engine {options.engine!r}; "
                                 f"expected one of {', '.join(ENGINES)}")
            config = replace(config, agent=replace(config.agent, engine=options.engine))
            chosen_by = "the chosen agent engine"
        if config.agent.engine == "claude-code":  # stop before any worktree exists
            from desktop.adapters.claude_code.sdk import INSTALL_HINT, sdk_installed

            if not sdk_installed():
                raise UsageError(f"{chosen_by} = 'claude-code': {INSTALL_HINT}")
        workspace = GitWorkspace.open(repo, self.context.worktrees)
        target = options.target or config.merge.target
        change_id = new_change_id()
        worktree = workspace.create(change_id, text, target)  # it slugifies for the branch
        model = options.model or config.agent.model
        if options.max_turns is not None:
            config = replace(config, agent=replace(config.agent, max_turns=options.max_turns))
        created = ChangeCreated(
            change=change_id,
            request=text,
            repo=str(workspace.repo),
            branch=worktree.branch,
            worktree=str(worktree.path),
            base=target,
            base_commit=worktree.base_commit,
            model=model,
            device=options.device,
        )
        try:
            self.context.bus.emit(created)
        except JournalError:  # unrecorded, the worktree would be an orphan nobody can find
            workspace.remove(worktree, delete_branch=True)
            raise
        hint = config.hint()
        if hint:
            self.context.bus.emit(Notice(change=change_id, level="info", message=hint))
        ctx = self.context.pipeline_context(change_id, text, worktree, config, model, options.device)
        ctx.prompt = text
        return ctx, workspace, worktree

    async def create_async(
        self, request: str, repo: Path, options: RunOptions | None = None
    ) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """:meth:`create` on the background threads (the window's way: its git runs off
        the loop thread, at a lower priority)."""
        return await self.context.offload(self.create, request, repo, options)

    # -- running ------------------------------------------------------------------------
    async def run(
        self,
        ctx: ChangeContext,
        workspace: GitWorkspace,
        worktree: Worktree,
        *,
        start_at: Stage = Stage.AGENT,
    ) -> ChangeState:
        """Run the change's pipeline; raises LockBusy if another process is driving it."""
        with await self.context.hold_off_loop(ctx.change_id, "run"):
            return await change_runs.run_locked(self.context, ctx, workspace, worktree,
                                                start_at=start_at)

    def steps(self, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree) -> list[Step]:
        """The change's pipeline steps, as its config asks for."""
        return pipeline_steps(self.context, ctx, workspace, worktree)

    # -- after the fact -----------------------------------------------------------------
    def patch(self, view: ChangeView) -> str:
        """The change's committed patch (base to its latest commit); "" before a commit."""
        from desktop.adapters.git.workspace import GitWorkspace  # lazy: see create

        if not view.commit:
            return ""
        workspace = GitWorkspace.open(Path(view.repo), self.context.worktrees)
        return workspace.committed_diff(view.base_commit, view.commit)

    def reopen(self, view: ChangeView) -> tuple[ChangeContext, GitWorkspace, Worktree]:
        """Context for resuming or revising a change from what the journal holds."""
        return change_runs.reopen(self.context, view)

    async def resume(self, change_id: str) -> ChangeState:
        """Continue an interrupted change from the stage it was cut in."""
        # Lock first, then read the state: two resumes racing cannot both see "interrupted".
        with self.context.hold(self.context.view(change_id).id, "resume"):
            return await change_runs.resume_locked(self.context, change_id)

    async def revise(self, change_id: str, message: str) -> ChangeState:
        """A follow-up request on an existing change, continuing its worktree and branch."""
        text = validate_request(message)
        with self.context.hold(self.context.view(change_id).id, "revise"):
            return await change_runs.revise_locked(self.context, change_id, text)

    def reject(self, change_id: str, reason: str = "") -> None:
        """Discard the worktree and branch; the journal keeps the record."""
        with self.context.hold(self.context.view(change_id).id, "reject"):
            change_runs.reject_locked(self.context, change_id, reason)

