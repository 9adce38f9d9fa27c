"""Running a change's pipeline, and taking a change up again: resume after a crash, revise
with a follow-up request, reject. Each runs under the change's lock (taken by the caller)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.change_inputs import UsageError, read_config
from desktop.core.events import ChangeFinished, Notice, RevisionRequested, RunAttached
from desktop.core.stages import ChangeState, Stage

if TYPE_CHECKING:
    from desktop.adapters.workspace import GitWorkspace, Worktree
    from desktop.changes import ChangeService
    from desktop.core.pipeline import ChangeContext, Step
    from desktop.core.state import ChangeView

__all__ = ["reject_locked", "reopen", "resume_locked", "revise_locked", "run_locked"]


async def run_locked(
    service: ChangeService, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree,
    *, start_at: Stage = Stage.AGENT, steps: list[Step] | None = None,
) -> ChangeState:
    """Run the pipeline (``steps``, or the config's) from ``start_at``; every event is
    journalled before it is reported."""
    from desktop.adapters.journal_writer import OrderedEmitter

    # The run's events are journalled by the writer thread, so the loop (which the window
    # shares) never waits on SQLite; each is reported once stored, in order.
    emitter = OrderedEmitter(service.journal, service.bus.emit, service.journal_writer(),
                             asyncio.get_running_loop())
    ctx.emit = emitter.emit
    try:
        state = await _pipeline_run(service, ctx, workspace, worktree, start_at, steps)
    except BaseException:
        with contextlib.suppress(Exception):  # the run's own failure is the one to raise
            await emitter.flush()
        raise
    finally:
        ctx.emit = service.bus.emit
    await emitter.flush()  # the caller reads the journal next: everything is in it
    return state


async def _pipeline_run(
    service: ChangeService, ctx: ChangeContext, workspace: GitWorkspace, worktree: Worktree,
    start_at: Stage, steps: list[Step] | None,
) -> ChangeState:
    from desktop.change_steps import pipeline_steps
    from desktop.core.pipeline import Pipeline

    ctx.emit(RunAttached(change=ctx.change_id, pid=os.getpid(), host=socket.gethostname()))
    # Verifiers or a build that a killed run of this change left running are stopped
    # before anything else touches the worktree.
    stopped = await service.offload(service.ledger(ctx.change_id).reap)
    for argv in stopped:
        ctx.emit(Notice(change=ctx.change_id, level="warning",
                        message=f"stopped {' '.join(argv)!r}, left running by an "
                                "earlier run that died"))
    service.warm_up()  # a no-op when the app warmed up; else one pause, on this thread
    await service.offload(service.prepare_run)
    if steps is None:
        steps = pipeline_steps(service, ctx, workspace, worktree)
    pipeline = Pipeline(steps)
    return await pipeline.run(ctx, start_at=start_at)


def reopen(
    service: ChangeService, view: ChangeView
) -> tuple[ChangeContext, GitWorkspace, Worktree]:
    """Context for resuming or revising a change from what the journal holds."""
    from desktop.adapters.workspace import GitWorkspace

    repo = Path(view.repo)
    workspace = GitWorkspace.open(repo, service.home / "worktrees")
    worktree = workspace.attach(Path(view.worktree), view.branch, view.base, view.base_commit)
    clear_crash_leftovers(worktree.path)
    ctx = service.context(
        view.id, view.request, worktree, read_config(repo), view.model, view.device
    )
    ctx.commit = view.commit
    ctx.cost_usd = view.cost_usd
    return ctx, workspace, worktree


async def resume_locked(service: ChangeService, change_id: str) -> ChangeState:
    """Continue an interrupted change from the stage it was cut in."""
    from desktop.change_steps import pipeline_steps
    from desktop.core.pipeline import revise_prompt

    view = service.view(change_id, owner=True)
    if view.state is not ChangeState.INTERRUPTED:
        raise UsageError(f"change {view.id} is {view.state.value}, not interrupted")
    ctx, workspace, worktree = reopen(service, view)
    last = view.stages[-1].stage if view.stages else Stage.AGENT
    if last is Stage.MERGE:
        raise UsageError(f"change {view.id} was cut while merging: run `honk approve "
                         f"{view.id}` to check the remote and finish the record")
    # Work that may have been cut half-way (edits, a commit) is checked again; an install
    # starts from the build, whose artifact path and sha256 only live in that run.
    start = {Stage.AGENT: Stage.AGENT, Stage.COMMIT: Stage.VERIFY,
             Stage.INSTALL: Stage.BUILD}.get(last, last)
    steps = pipeline_steps(service, ctx, workspace, worktree)  # built once, run below
    if start not in {step.stage for step in steps}:
        start = Stage.VERIFY
    if start is Stage.AGENT:
        diff = await service.offload(workspace.diff, worktree)
        ctx.prompt = revise_prompt(
            view.request, diff, "You were interrupted. Finish the original request."
        )
    service.bus.emit(
        Notice(change=view.id, level="info", message=f"resumed from the {start.value} stage")
    )
    return await run_locked(service, ctx, workspace, worktree, start_at=start, steps=steps)


async def revise_locked(service: ChangeService, change_id: str, text: str) -> ChangeState:
    """Run the change again with a follow-up request, on its worktree and branch."""
    from desktop.core.pipeline import revise_prompt

    view = service.view(change_id, owner=True)
    if view.state.is_running:
        raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
    if view.state.is_final:
        raise UsageError(f"change {view.id} is {view.state.value} and cannot be revised")
    ctx, workspace, worktree = reopen(service, view)
    diff = await service.offload(workspace.diff, worktree)
    ctx.prompt = revise_prompt(view.request, diff, text)
    service.bus.emit(RevisionRequested(change=view.id, message=text))
    return await run_locked(service, ctx, workspace, worktree)


def reject_locked(service: ChangeService, change_id: str, reason: str) -> None:
    """Remove the worktree and branch and record the rejection."""
    from desktop.adapters.workspace import GitWorkspace

    view = service.view(change_id, owner=True)
    if view.state.is_running:
        raise UsageError(f"change {view.id} is still {view.state.value}; cancel it first")
    if view.state is ChangeState.MERGED:
        raise UsageError(f"change {view.id} is already merged")
    workspace = GitWorkspace.open(Path(view.repo), service.home / "worktrees")
    try:
        worktree = workspace.attach(
            Path(view.worktree), view.branch, view.base, view.base_commit
        )
        workspace.remove(worktree, delete_branch=True)
    except Exception as exc:  # already gone: rejecting still records the decision
        service.bus.emit(
            Notice(change=view.id, level="warning", message=f"worktree already gone: {exc}")
        )
    service.bus.emit(
        ChangeFinished(
            change=view.id, state=ChangeState.REJECTED.value, reason=reason or "rejected"
        )
    )


def clear_crash_leftovers(worktree: Path) -> None:
    """Remove what a killed run can leave in its worktree: the editor's temp files (the
    edit they carried never landed) and git's index.lock. Only called under the change's
    lock, so no live Honk process is writing there."""
    from desktop.adapters.gitcli import GitError, git

    try:
        stale = git("ls-files", "--others", "-z", "--", ":(glob)**/.honk-edit-*.tmp",
                    cwd=worktree, strip=False)
        for rel in filter(None, stale.split("\0")):
            with contextlib.suppress(FileNotFoundError):
                (worktree / rel).unlink()
        index = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index.lock",
                         cwd=worktree))
    except GitError:
        return
    deadline = time.monotonic() + 2.0  # an orphaned git of the dead run may still finish
    while index.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(FileNotFoundError):
        index.unlink()
