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
        head = self.workspace.head(self.worktree)
        if head in (ctx.base_commit, ctx.commit):
            return None
        if not self.workspace.is_clean(self.worktree):
            return None
        message = self.workspace.message_of(self.worktree, head)
        return head if f"Honk-Change: {ctx.change_id}" in message else None
