"""The pipeline state machine with plain fake steps: no I/O, milliseconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from desktop.core.config import HonkConfig
from desktop.core.events import ChangeFinished, Event, StageFailed, StageStarted
from desktop.core.pipeline import ChangeContext, Pipeline, StepResult
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import fold


@dataclass
class ScriptedStep:
    stage: Stage
    results: list[StepResult]
    max_returns: int = 0
    prompts: list[str] = field(default_factory=list)
    block: asyncio.Event | None = None

    async def run(self, ctx: ChangeContext) -> StepResult:
        self.prompts.append(ctx.prompt)
        if self.block is not None:
            await self.block.wait()
        return self.results.pop(0)


def make_ctx() -> tuple[ChangeContext, list[Event]]:
    events: list[Event] = []
    ctx = ChangeContext(change_id="c1", request="do it", worktree="/wt", branch="honk/c1-do-it",
                        base_commit="0" * 40, config=HonkConfig(), emit=events.append,
                        model="m", prompt="do it")
    return ctx, events


OK = StepResult(ok=True)


async def test_happy_path_reaches_committed_and_every_transition_is_an_event() -> None:
    ctx, events = make_ctx()
    steps = [ScriptedStep(Stage.AGENT, [OK]), ScriptedStep(Stage.VERIFY, [OK]),
             ScriptedStep(Stage.COMMIT, [OK])]
    state = await Pipeline(steps).run(ctx)
    assert state is ChangeState.COMMITTED
    started = [e.stage for e in events if isinstance(e, StageStarted)]
    assert started == [Stage.AGENT, Stage.VERIFY, Stage.COMMIT]
    assert fold("c1", events).state is ChangeState.COMMITTED


async def test_failing_verifier_returns_to_agent_with_feedback_then_passes() -> None:
    ctx, events = make_ctx()
    agent = ScriptedStep(Stage.AGENT, [OK, OK])
    verify = ScriptedStep(Stage.VERIFY, [StepResult(ok=False, reason="unit failed",
                                                    back_to_agent="fix: test_x"), OK], max_returns=3)
    state = await Pipeline([agent, verify, ScriptedStep(Stage.COMMIT, [OK])]).run(ctx)
    assert state is ChangeState.COMMITTED
    assert agent.prompts == ["do it", "fix: test_x"]
    view = fold("c1", events)
    assert [s.status for s in view.stages if s.stage is Stage.VERIFY] == ["failed", "done"]


async def test_verify_rounds_are_bounded() -> None:
    ctx, events = make_ctx()
    back = StepResult(ok=False, reason="unit failed", back_to_agent="fix")
    agent = ScriptedStep(Stage.AGENT, [OK] * 3)
    verify = ScriptedStep(Stage.VERIFY, [back] * 3, max_returns=2)
    state = await Pipeline([agent, verify]).run(ctx)
    assert state is ChangeState.FAILED
    assert len(agent.prompts) == 3
    finished = [e for e in events if isinstance(e, ChangeFinished)]
    assert finished[-1].reason == "unit failed (still failing after 3 rounds)"


async def test_step_exception_fails_the_change_with_the_reason() -> None:
    ctx, events = make_ctx()

    @dataclass
    class Boom:
        stage: Stage = Stage.AGENT
        max_returns: int = 0

        async def run(self, ctx: ChangeContext) -> StepResult:
            raise OSError("disk on fire")

    state = await Pipeline([Boom()]).run(ctx)
    assert state is ChangeState.FAILED
    assert fold("c1", events).reason == "OSError: disk on fire"


async def test_cancel_mid_stage_is_journalled_as_cancelled() -> None:
    ctx, events = make_ctx()
    gate = asyncio.Event()
    pipeline = Pipeline([ScriptedStep(Stage.AGENT, [OK], block=gate)])
    task = asyncio.ensure_future(pipeline.run(ctx))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    failed = [e for e in events if isinstance(e, StageFailed)]
    assert failed and failed[0].stage is Stage.AGENT and failed[0].reason == "cancelled"
    assert fold("c1", events).state is ChangeState.CANCELLED


async def test_resting_state_stops_the_run() -> None:
    ctx, _ = make_ctx()
    steps = [ScriptedStep(Stage.AGENT, [OK]),
             ScriptedStep(Stage.APPROVAL, [StepResult(ok=True, rest_in=ChangeState.AWAITING_APPROVAL)]),
             ScriptedStep(Stage.MERGE, [OK])]
    assert await Pipeline(steps).run(ctx) is ChangeState.AWAITING_APPROVAL
    assert steps[2].prompts == []


def test_pipeline_must_start_with_the_agent() -> None:
    with pytest.raises(ValueError, match="starts with the agent"):
        Pipeline([ScriptedStep(Stage.VERIFY, [])])
