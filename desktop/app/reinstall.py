"""Install a change's existing build again, on the device the person picks (Ctrl+I).

Only the install stage runs: the change is reopened from the journal, the artifact path and
sha256 come from the evidence about its latest commit (so the device gets exactly the bytes
that were built for it), and every step is an event on the bus like any pipeline stage.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.adapters.store.locks import this_host
from desktop.app.change_runs import reopen
from desktop.app.inputs import read_config
from desktop.core.approval import collect_evidence
from desktop.core.build_events import Installed
from desktop.core.errors import HonkError, UsageError
from desktop.core.events import (
    ChangeFinished,
    Event,
    RunAttached,
    StageFailed,
)
from desktop.core.pipeline import run_step
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    from desktop.app.context import AppContext
    from desktop.core.bus import EventBus

__all__ = ["InstallFailed", "install_change"]

# States a change can be reinstalled from: resting with a build, or cut/failed while installing.
_RESTING = (ChangeState.AWAITING_APPROVAL, ChangeState.COMMITTED)
_RETRYABLE = (ChangeState.FAILED, ChangeState.CANCELLED, ChangeState.INTERRUPTED)


class InstallFailed(HonkError, RuntimeError):
    """The device refused the install or launch; the reason is journalled too."""


def _check_state(view: ChangeView) -> None:
    if view.state in _RESTING:
        return
    last = view.stages[-1].stage if view.stages else None
    if view.state in _RETRYABLE and last is Stage.INSTALL:
        return
    if view.state.is_running:
        raise UsageError(f"change {view.id} is still {view.state.value}; wait or cancel it")
    raise UsageError(f"change {view.id} is {view.state.value}; only a built change awaiting "
                     "approval (or one whose install failed) can be installed")


async def install_change(context: AppContext, change_id: str, serial: str | None) -> Installed:
    """Install the change's latest build on ``serial`` (None: the device the change chose).

    Raises UsageError when there is nothing to install or nowhere to install it, LockBusy
    when another process drives the change, InstallFailed when the device refuses.
    """
    with context.hold(context.view(change_id).id, "install"):
        return await _install_locked(context, change_id, serial)


async def _install_locked(context: AppContext, change_id: str, serial: str | None) -> Installed:
    bus = context.bus
    view = await asyncio.to_thread(context.view, change_id, owner=True)
    _check_state(view)
    config = await asyncio.to_thread(read_config, Path(view.repo))
    if config.device is None:
        raise UsageError(f"{Path(view.repo) / 'honk.toml'}: no [device] section, so there is "
                         "no device to install on; add [device] kind and package")
    events = await asyncio.to_thread(context.journal.events, view.id)
    evidence = collect_evidence(events)
    if evidence.artifact is None:
        raise UsageError(f"change {view.id} has no build of its latest commit to install; "
                         "add a [build] section to honk.toml and revise or resume the change")
    device = serial or view.device
    if config.device.kind != "local" and not device:
        raise UsageError(f"no device chosen for change {view.id}: pick one in the device "
                         "picker (see `honk devices`)")
    step = context.installer_for(config.device, device) if context.installer_for else None
    if step is None:
        raise UsageError(f"no installer for a {config.device.kind} device {device!r}")
    ctx, _workspace, _worktree = await asyncio.to_thread(reopen, context, view)
    ctx.artifact_path = evidence.artifact.path
    ctx.artifact_sha256 = evidence.artifact.sha256
    ctx.device = device
    # Back to where it rested afterwards; a change whose install had failed rests at approval.
    rest = view.state if view.state in _RESTING else ChangeState.AWAITING_APPROVAL
    installed: list[Installed] = []

    def emit(event: Event) -> None:
        if isinstance(event, Installed):
            installed.append(event)
        bus.emit(event)

    ctx.emit = emit
    bus.emit(RunAttached(change=view.id, pid=os.getpid(), host=this_host()))
    try:
        result = await run_step(step, ctx)
    except asyncio.CancelledError:
        bus.emit(StageFailed(change=view.id, stage=Stage.INSTALL, reason="cancelled"))
        _finish(bus, view, rest, "install cancelled")
        raise
    if not result.ok or not installed:
        reason = result.reason or "the installer reported nothing installed"
        if result.ok:  # the step said it succeeded but put nothing on a device
            bus.emit(StageFailed(change=view.id, stage=Stage.INSTALL, reason=reason))
        _finish(bus, view, _after_failure(view), reason)
        raise InstallFailed(reason)
    _finish(bus, view, rest, result.reason)
    return installed[-1]


def _after_failure(view: ChangeView) -> ChangeState:
    """A failed reinstall leaves an approvable change approvable (the gates still judge)."""
    return view.state if view.state in _RESTING else ChangeState.FAILED


def _finish(bus: EventBus, view: ChangeView, state: ChangeState, reason: str) -> None:
    bus.emit(ChangeFinished(change=view.id, state=state.value, reason=reason))
