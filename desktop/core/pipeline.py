"""The pipeline: an explicit state machine that carries one change through its stages.

Stages are :class:`Step` objects run in order. A step may send the change back to the agent
with feedback (failing verifiers, a judge's veto), a bounded number of times per stage, or
stop the run in a resting state (awaiting approval). Every transition is an event; the
pipeline itself does no I/O, so it is tested with plain fakes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from desktop.core.config import HonkConfig
from desktop.core.events import (
    ChangeFinished,
    Event,
    Notice,
    StageFailed,
    StageFinished,
    StageStarted,
)
from desktop.core.stages import ChangeState, Stage

__all__ = ["SHUTDOWN", "ChangeContext", "Pipeline", "Step", "StepResult", "revise_prompt", "run_step"]


@dataclass
class ChangeContext:
    """What the steps of one run share. Mutable: steps record what they produced."""

    change_id: str
    request: str
    worktree: str
    branch: str
    base_commit: str
    config: HonkConfig
    emit: Callable[[Event], None]
    model: str
    prompt: str = ""  # what the agent step sends next
    device: str | None = None
    commit: str | None = None
    artifact_path: str | None = None
    artifact_sha256: str | None = None
    rounds: dict[Stage, int] = field(default_factory=dict)
    agent_turns: int = 0  # model turns used by this change, across rounds
    cost_usd: float = 0.0  # what the change has cost so far, across rounds
    # The agent's conversation, so feedback continues it rather than starting afresh.
    conversation: list[dict[str, object]] = field(default_factory=list)


@dataclass(frozen=True)
class StepResult:
    ok: bool
    reason: str = ""
    back_to_agent: str | None = None  # feedback: run the agent again with this message
    rest_in: ChangeState | None = None  # stop the run here, in this resting state


# Cancel a run's task with this message (``task.cancel(SHUTDOWN)``) when the process that
# serves it stops rather than the person cancelling: the change ends interrupted, resumable.
SHUTDOWN = "honk: shutting down"


class Step(Protocol):
    stage: Stage
    max_returns: int  # how often this step may send the change back to the agent

    async def run(self, ctx: ChangeContext) -> StepResult: ...


class Pipeline:
    """Runs steps in order; the first step must be the agent."""

    def __init__(self, steps: Sequence[Step], *, clock: Callable[[], float] = time.monotonic):
        if not steps or steps[0].stage is not Stage.AGENT:
            raise ValueError("the pipeline starts with the agent step")
        self.steps = list(steps)
        self.clock = clock

    async def run(self, ctx: ChangeContext, *, start_at: Stage = Stage.AGENT) -> ChangeState:
        """Carry the change from ``start_at`` to a resting or final state."""
        index = self._index(start_at)
        current: Stage | None = None
        try:
            while index < len(self.steps):
                step = self.steps[index]
                current = step.stage
                ctx.rounds[step.stage] = ctx.rounds.get(step.stage, 0) + 1
                result = await self._run_step(step, ctx)
                current = None
                if result.back_to_agent is not None:
                    returns = ctx.rounds.get(step.stage, 0)
                    if returns > step.max_returns:
                        reason = f"{result.reason} (still failing after {returns} rounds)"
                        return self._finish(ctx, ChangeState.FAILED, reason)
                    ctx.prompt = result.back_to_agent
                    ctx.emit(
                        Notice(
                            change=ctx.change_id,
                            level="info",
                            message=f"{step.stage.value}: back to the agent ({result.reason})",
                        )
                    )
                    index = 0
                    continue
                if not result.ok:
                    return self._finish(ctx, ChangeState.FAILED, result.reason)
                if result.rest_in is not None:
                    return self._finish(ctx, result.rest_in, result.reason)
                index += 1
        except asyncio.CancelledError as exc:
            if current is not None:
                ctx.emit(StageFailed(change=ctx.change_id, stage=current, reason="cancelled"))
            if SHUTDOWN in exc.args:  # the serving process stops; the change is not dropped
                self._finish(ctx, ChangeState.INTERRUPTED,
                             "Honk stopped while the change ran; it resumes when Honk "
                             f"serves again (or: honk resume {ctx.change_id})")
            else:
                self._finish(ctx, ChangeState.CANCELLED, "cancelled by the user")
            raise
        return self._finish(ctx, ChangeState.COMMITTED, "")

    async def _run_step(self, step: Step, ctx: ChangeContext) -> StepResult:
        return await run_step(step, ctx, clock=self.clock)

    def _index(self, stage: Stage) -> int:
        for i, step in enumerate(self.steps):
            if step.stage is stage:
                return i
        raise ValueError(f"no {stage.value} step in this pipeline")

    @staticmethod
    def _finish(ctx: ChangeContext, state: ChangeState, reason: str) -> ChangeState:
        ctx.emit(ChangeFinished(change=ctx.change_id, state=state.value, reason=reason))
        return state


async def run_step(
    step: Step, ctx: ChangeContext, *, clock: Callable[[], float] = time.monotonic
) -> StepResult:
    """Run one step with its stage events: started, then finished or failed (with how
    long it took). A step's exception fails the step with its message; cancelling does not
    emit here, the caller decides what a cancel means."""
    started = clock()
    ctx.emit(StageStarted(change=ctx.change_id, stage=step.stage,
                          round=ctx.rounds.get(step.stage, 1)))
    try:
        result = await step.run(ctx)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a step's bug or an outside failure: fail the change, say why
        result = StepResult(ok=False, reason=f"{type(exc).__name__}: {exc}")
    seconds = clock() - started
    if result.ok and result.back_to_agent is None:
        ctx.emit(StageFinished(change=ctx.change_id, stage=step.stage, seconds=seconds))
    else:
        ctx.emit(
            StageFailed(
                change=ctx.change_id, stage=step.stage, reason=result.reason, seconds=seconds
            )
        )
    return result


def revise_prompt(request: str, diff: str, message: str) -> str:
    """The agent's prompt for a follow-up on a change whose conversation is gone."""
    return (
        f"You are continuing work on this request:\n<request>\n{request}\n</request>\n\n"
        f"The worktree already contains this change (diff against the base):\n<diff>\n{diff}\n"
        f"</diff>\n\nThe engineer asks for this follow-up:\n<follow_up>\n{message}\n</follow_up>"
    )
