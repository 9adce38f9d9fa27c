"""Running a change's pipeline, and taking a change up again: resume after a crash, revise
with a follow-up request, reject. Each runs under the change's lock (taken by the caller)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.adapters.editor.files import TEMP_GLOB as EDIT_TEMP_GLOB
from desktop.adapters.store.locks import this_host
from desktop.app.context import AppContext
from desktop.app.inputs import read_config
from desktop.app.keyring_wait import prepare_run_watched
from desktop.app.pipeline_steps import pipeline_steps
from desktop.core.errors import UsageError
from desktop.core.events import ChangeFinished, Notice, RevisionRequested, RunAttached
from desktop.core.stages import ChangeState, Stage

if TYPE_CHECKING:
    from desktop.adapters.git.workspace import GitWorkspace, Worktree
    from desktop.core.pipeline import ChangeContext, Step
    from desktop.core.state import ChangeView

__all__ = ["reject_locked", "reopen", "resume_locked", "revise_locked", "run_locked"]


async def run_locked(
    app: AppContext, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree,
    *, start_at: Stage = Stage.AGENT, steps: list[Step] | None = None,
) -> ChangeState:
    """Run the pipeline (``steps``, or the config's) from ``start_at``; every event is
    journalled before it is reported."""
    import asyncio  # lazy for start-up: `honk history` imports this module, not asyncio

    from desktop.adapters.store.journal_writer import OrderedEmitter

    # The run's events are journalled by the writer thread, so the loop (which the window
    # shares) never waits on SQLite; each is reported once stored, in order.
    emitter = OrderedEmitter(app.journal, app.bus.emit, app.journal_writer(),
                             asyncio.get_running_loop())
    ctx.emit = emitter.emit
    try:
        state = await _pipeline_run(app, ctx, workspace, worktree, start_at, steps)
    except BaseException:
        with contextlib.suppress(Exception):  # the run's own failure is the one to raise
            await emitter.flush()
        raise
    finally:
        ctx.emit = app.bus.emit
    await emitter.flush()  # the caller reads the journal next: everything is in it
    return state


async def _pipeline_run(
    app: AppContext, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree,
    start_at: Stage, steps: list[Step] | None,
) -> ChangeState:
    from desktop.core.pipeline import Pipeline

    ctx.emit(RunAttached(change=ctx.change_id, pid=os.getpid(), host=this_host()))
    # Verifiers or a build that a killed run of this change left running are stopped
    # before anything else touches the worktree.
    stopped = await app.offload(app.ledger(ctx.change_id).reap)
    for argv in stopped:
        ctx.emit(Notice(change=ctx.change_id, level="warning",
                        message=f"stopped {' '.join(argv)!r}, left running by an "
                                "earlier run that died"))
    app.warm_up()  # a no-op when the app warmed up; else one pause, on this thread
    await prepare_run_watched(app, ctx)  # "waiting for the keyring" when it prompts
    if steps is None:
        steps = pipeline_steps(app, ctx, workspace, worktree)
    pipeline = Pipeline(steps)
    return await pipeline.run(ctx, start_at=start_at)


def reopen(
    app: AppContext, view: ChangeView
) -> tuple[ChangeContext, GitWorkspace, Worktree]:
    """Context for resuming or revising a change from what the journal holds."""
    from desktop.adapters.git.workspace import GitWorkspace

    repo = Path(view.repo)
    workspace = GitWorkspace.open(repo, app.worktrees)
    worktree = workspace.attach(Path(view.worktree), view.branch, view.base, view.base_commit)
    workspace.clear_crash_leftovers(worktree, [EDIT_TEMP_GLOB])
    ctx = app.pipeline_context(
        view.id, view.request, worktree, read_config(repo), view.model, view.device
    )
    ctx.commit = view.commit
    ctx.cost_usd = view.cost_usd
    return ctx, workspace, worktree


async def resume_locked(app: AppContext, change_id: str) -> ChangeState:
    """Continue an interrupted change from the stage it was cut in."""
    from desktop.core.pipeline import revise_prompt

    view = app.view(change_id, owner=True)
    if view.state is not ChangeState.INTERRUPTED:
        raise UsageError(f"change {view.id} is {view.state.value}, not interrupted")
    ctx, workspace, worktree = reopen(app, view)
    last = view.stages[-1].stage if view.stages else Stage.AGENT
    if last is Stage.MERGE:
        raise UsageError(f"change {view.id} was cut while merging: run `honk approve "
                         f"{view.id}` to check the remote and finish the record")
    # Work that may have been cut half-way (edits, a commit) is checked again; an install
    # starts from the build, whose artifact path and sha256 only live in that run.
    start = {Stage.AGENT: Stage.AGENT, Stage.COMMIT: Stage.VERIFY,
             Stage.INSTALL: Stage.BUILD}.get(last, last)
    steps = pipeline_steps(app, ctx, workspace, worktree)  # built once, run below
    if start not in {step.stage for step in steps}:
        start = Stage.VERIFY
    if start is Stage.AGENT:
        diff = await app.offload(workspace.diff, worktree)
        ctx.prompt = revise_prompt(
            view.request, diff, "You were interrupted. Finish the original request."
        )
    app.bus.emit(
        Notice(change=view.id, level="info", message=f"resumed from the {start.value} stage")
    )
    return await run_locked(app, ctx, workspace, worktree, start_at=start, steps=steps)


async def revise_locked(app: AppContext, change_id: str, text: str) -> ChangeState:
    """Run the change again with a follow-up request, on its worktree and branch."""
    from desktop.core.pipeline import revise_prompt

    view = app.view(change_id, owner=True)
    if view.state.is_running:
        raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
    if view.state.is_final:
        raise UsageError(f"change {view.id} is {view.state.value} and cannot be revised")
    ctx, workspace, worktree = reopen(app, view)
    diff = await app.offload(workspace.diff, worktree)
    ctx.prompt = revise_prompt(view.request, diff, text)
    app.bus.emit(RevisionRequested(change=view.id, message=text))
    return await run_locked(app, ctx, workspace, worktree)


def reject_locked(app: AppContext, change_id: str, reason: str) -> None:
    """Remove the change's worktree and branch and record the rejection (the caller holds
    the change's lock).

    Whatever is already gone is said in a warning, and the rest is still removed: a worktree
    deleted by hand still leaves its branch deleted. A directory at the worktree's path that
    is no longer the change's worktree (another branch checked out there) is left alone.
    """
    from desktop.adapters.git.workspace import GitWorkspace, WorkspaceError

    view = app.view(change_id, owner=True)
    if view.state.is_running:
        raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
    if view.state is ChangeState.MERGED:
        raise UsageError(f"change {view.id} is already merged")
    problem: str | None = None
    try:
        workspace = GitWorkspace.open(Path(view.repo), app.worktrees)
        try:
            worktree = workspace.attach(Path(view.worktree), view.branch, view.base,
                                        view.base_commit)
        except WorkspaceError as exc:  # gone, or not the change's any more: keep it
            path = Path(view.worktree)
            problem = (f"worktree {path} left as it is: {exc}"
                       if path.exists() or path.is_symlink()
                       else f"worktree already gone: {path}")
            was = workspace.delete_branch(view.branch)
            problem += (f"; deleted its branch {view.branch} (it was at {was}: "
                        f"`git branch {view.branch} {was}` brings it back)" if was
                        else f"; its branch {view.branch} is gone too")
        else:
            workspace.remove(worktree, delete_branch=True)
    except Exception as exc:  # the repository, or git, refused: rejecting still records it
        problem = f"{problem}; {exc}" if problem else f"could not remove the worktree: {exc}"
    if problem is not None:
        app.bus.emit(Notice(change=view.id, level="warning", message=problem))
    app.bus.emit(ChangeFinished(change=view.id, state=ChangeState.REJECTED.value,
                                reason=reason or "rejected"))
