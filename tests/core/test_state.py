from __future__ import annotations

from desktop.core.events import (
    ChangeCreated,
    ChangeFinished,
    Committed,
    EditPreview,
    RunAttached,
    StageStarted,
    Usage,
    event_from_dict,
    event_to_dict,
)
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import fold


def created() -> ChangeCreated:
    return ChangeCreated(change="c", request="r", repo="/r", branch="honk/c-r", worktree="/w",
                         base="main", base_commit="a" * 40, model="m", at=100.0)


def test_events_round_trip_through_dicts() -> None:
    for event in (created(), StageStarted(change="c", stage=Stage.VERIFY, round=2),
                  Committed(change="c", commit="b" * 40, branch="x", files=("a", "b"))):
        assert event_from_dict(event_to_dict(event)) == event


def test_stream_deltas_are_ephemeral_and_state_changes_are_not() -> None:
    assert EditPreview.ephemeral and not Committed.ephemeral and not StageStarted.ephemeral


def test_fold_tracks_cost_commit_and_final_state() -> None:
    events = [
        created(),
        RunAttached(change="c", pid=1, host="h"),
        StageStarted(change="c", stage=Stage.AGENT),
        Usage(change="c", model="m", input_tokens=10, output_tokens=5, cost_usd=0.1, total_cost_usd=0.1),
        Usage(change="c", model="m", input_tokens=10, output_tokens=5, cost_usd=0.2, total_cost_usd=0.3),
        Committed(change="c", commit="f" * 40, branch="honk/c-r"),
        ChangeFinished(change="c", state="committed"),
    ]
    view = fold("c", events)
    assert view.state is ChangeState.COMMITTED
    assert view.cost_usd == 0.3 and view.output_tokens == 10
    assert view.commit == "f" * 40
    assert view.owner_pid is None


def test_running_change_whose_process_died_is_interrupted() -> None:
    view = fold("c", [created(), RunAttached(change="c", pid=4242, host="h"),
                      StageStarted(change="c", stage=Stage.AGENT)])
    assert view.state is ChangeState.AGENT_RUNNING
    assert view.with_liveness(lambda pid, host: True).state is ChangeState.AGENT_RUNNING
    assert view.with_liveness(lambda pid, host: False).state is ChangeState.INTERRUPTED
    done = fold("c", [created(), ChangeFinished(change="c", state="committed")])
    assert done.with_liveness(lambda pid, host: False).state is ChangeState.COMMITTED


def test_exactly_the_reached_goal_states_count_as_success() -> None:
    from desktop.core.stages import ChangeState

    assert {s for s in ChangeState if s.succeeded} == {
        ChangeState.COMMITTED, ChangeState.AWAITING_APPROVAL, ChangeState.MERGED}
    assert not any(s.succeeded and s.is_running for s in ChangeState)
