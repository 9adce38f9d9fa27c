"""A change's state is a fold over its events. The UI, the CLI and recovery all use this."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from desktop.core.events import (
    ChangeCreated,
    ChangeFinished,
    Committed,
    Event,
    RunAttached,
    StageFailed,
    StageFinished,
    StageStarted,
    Usage,
    VerifierResult,
)
from desktop.core.slack_events import SlackThread
from desktop.core.stages import STATE_OF_STAGE, ChangeState, Stage

__all__ = ["ChangeView", "StageView", "fold", "fold_one"]


@dataclass(frozen=True)
class StageView:
    stage: Stage
    status: str  # "running" | "done" | "failed"
    started_at: float
    seconds: float = 0.0
    reason: str = ""
    round: int = 1


@dataclass(frozen=True)
class ChangeView:
    """Everything a list row, `honk show` or recovery needs to know about one change."""

    id: str
    request: str = ""
    repo: str = ""
    branch: str = ""
    worktree: str = ""
    base: str = ""
    base_commit: str = ""
    model: str = ""
    device: str | None = None
    state: ChangeState = ChangeState.QUEUED
    created_at: float = 0.0
    updated_at: float = 0.0
    commit: str | None = None
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    owner_pid: int | None = None
    owner_host: str | None = None
    reason: str = ""
    stages: tuple[StageView, ...] = ()
    verifiers: tuple[VerifierResult, ...] = field(default=())
    files: tuple[str, ...] = ()
    requested_by: str = ""  # who asked, when not the person at this desk ("slack:Ana")

    def stage(self, stage: Stage) -> StageView | None:
        """The latest record of ``stage``, if it ran."""
        for view in reversed(self.stages):
            if view.stage is stage:
                return view
        return None

    def with_liveness(self, is_alive: Callable[[int, str], bool]) -> ChangeView:
        """Mark a running change whose owning process is gone as interrupted."""
        if not self.state.is_running:
            return self
        if self.owner_pid is not None and is_alive(self.owner_pid, self.owner_host or ""):
            return self
        return replace(self, state=ChangeState.INTERRUPTED)


def fold_one(view: ChangeView, event: Event) -> ChangeView:
    """Apply one event. Unknown or uninteresting events only bump ``updated_at``."""
    view = replace(view, updated_at=max(view.updated_at, event.at))
    if isinstance(event, ChangeCreated):
        return replace(
            view,
            request=event.request,
            repo=event.repo,
            branch=event.branch,
            worktree=event.worktree,
            base=event.base,
            base_commit=event.base_commit,
            model=event.model,
            device=event.device,
            created_at=event.at,
        )
    if isinstance(event, RunAttached):
        return replace(view, owner_pid=event.pid, owner_host=event.host)
    if isinstance(event, SlackThread):
        return replace(view, requested_by=f"slack:{event.user_name or event.user}")
    if isinstance(event, StageStarted):
        stage_view = StageView(event.stage, "running", event.at, round=event.round)
        return replace(
            view,
            state=STATE_OF_STAGE[event.stage],
            stages=(*view.stages, stage_view),
            reason="",
        )
    if isinstance(event, StageFinished | StageFailed):
        return _close_stage(view, event)
    if isinstance(event, Usage):
        return replace(
            view,
            cost_usd=event.total_cost_usd,
            input_tokens=view.input_tokens
            + event.input_tokens
            + event.cache_creation_input_tokens
            + event.cache_read_input_tokens,
            output_tokens=view.output_tokens + event.output_tokens,
        )
    if isinstance(event, VerifierResult):
        return replace(view, verifiers=(*view.verifiers, event))
    if isinstance(event, Committed):
        return replace(view, commit=event.commit, files=event.files)
    if isinstance(event, ChangeFinished):
        return replace(view, state=ChangeState(event.state), reason=event.reason, owner_pid=None)
    return view


def _close_stage(view: ChangeView, event: StageFinished | StageFailed) -> ChangeView:
    stages = list(view.stages)
    for i in range(len(stages) - 1, -1, -1):
        if stages[i].stage is event.stage and stages[i].status == "running":
            failed = isinstance(event, StageFailed)
            stages[i] = replace(
                stages[i],
                status="failed" if failed else "done",
                seconds=event.seconds or max(0.0, event.at - stages[i].started_at),
                reason=event.reason if isinstance(event, StageFailed) else "",
            )
            break
    reason = event.reason if isinstance(event, StageFailed) else view.reason
    return replace(view, stages=tuple(stages), reason=reason)


def fold(change_id: str, events: Iterable[Event]) -> ChangeView:
    view = ChangeView(id=change_id)
    for event in events:
        view = fold_one(view, event)
    return view
