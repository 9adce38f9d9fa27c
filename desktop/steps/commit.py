"""The commit step: the agent's work committed on the change branch, authorship disclosed
in trailers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.events import Committed
from desktop.core.pipeline import StepResult
from desktop.core.stages import Stage

if TYPE_CHECKING:
    from desktop.adapters.git.workspace import GitWorkspace, Worktree
    from desktop.adapters.process.loop_priority import Offload
    from desktop.core.pipeline import ChangeContext

__all__ = ["CommitStep"]


class CommitStep:
    """Commit the agent's work on the change branch, authorship disclosed in trailers."""

    stage = Stage.COMMIT
    max_returns = 0

    def __init__(
        self, workspace: GitWorkspace, worktree: Worktree, offload: Offload | None = None
    ) -> None:
        import asyncio  # lazy: the window imports the steps' types before asyncio is needed

        self.workspace, self.worktree = workspace, worktree
        self.offload = offload or asyncio.to_thread  # where git runs: never on the loop thread

    async def run(self, ctx: ChangeContext) -> StepResult:
        if not await self.offload(self.workspace.changed_files, self.worktree):
            if ctx.commit:  # already committed in an earlier round; nothing new
                return StepResult(ok=True)
            return StepResult(ok=False, reason="the agent finished without changing any file")
        sha = await self.offload(self._commit, ctx)
        if sha == ctx.commit:  # nothing new since the commit the journal already has
            return StepResult(ok=True)
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
        """The commit to keep instead of committing again, when the worktree holds nothing
        newer than HEAD: the journalled commit itself, or one a killed run made but never
        journalled. Committing again would fail on a clean tree."""
        head = self.workspace.head(self.worktree)
        if head == ctx.base_commit or not self.workspace.is_clean(self.worktree):
            return None
        if head == ctx.commit:
            return head  # e.g. resumed after the commit was journalled: nothing to redo
        message = self.workspace.message_of(self.worktree, head)
        return head if f"Honk-Change: {ctx.change_id}" in message else None
