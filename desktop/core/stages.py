"""The stages of a change and the states a change can be in."""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Pipeline stages, in flow order."""

    AGENT = "agent"
    VERIFY = "verify"
    COMMIT = "commit"
    JUDGE = "judge"
    BUILD = "build"
    INSTALL = "install"
    APPROVAL = "approval"
    MERGE = "merge"


class ChangeState(StrEnum):
    """What a change is doing, as a person reads it in the list."""

    QUEUED = "queued"
    AGENT_RUNNING = "agent_running"
    VERIFYING = "verifying"
    COMMITTING = "committing"
    JUDGING = "judging"
    BUILDING = "building"
    INSTALLING = "installing"
    AWAITING_APPROVAL = "awaiting_approval"
    MERGING = "merging"
    COMMITTED = "committed"  # the agent's work is committed; nothing else configured
    MERGED = "merged"
    FAILED = "failed"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    INTERRUPTED = "interrupted"  # its process died mid-run; `honk resume` continues it

    @property
    def is_running(self) -> bool:
        return self in RUNNING_STATES

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES

    @property
    def succeeded(self) -> bool:
        """The run reached what it was asked for (exit code 0 for `honk run`)."""
        return self in SUCCEEDED_STATES


RUNNING_STATES = frozenset(
    {
        ChangeState.QUEUED,
        ChangeState.AGENT_RUNNING,
        ChangeState.VERIFYING,
        ChangeState.COMMITTING,
        ChangeState.JUDGING,
        ChangeState.BUILDING,
        ChangeState.INSTALLING,
        ChangeState.MERGING,
    }
)
FINAL_STATES = frozenset({ChangeState.MERGED, ChangeState.REJECTED})
SUCCEEDED_STATES = frozenset(
    {ChangeState.COMMITTED, ChangeState.AWAITING_APPROVAL, ChangeState.MERGED})

STATE_OF_STAGE = {
    Stage.AGENT: ChangeState.AGENT_RUNNING,
    Stage.VERIFY: ChangeState.VERIFYING,
    Stage.COMMIT: ChangeState.COMMITTING,
    Stage.JUDGE: ChangeState.JUDGING,
    Stage.BUILD: ChangeState.BUILDING,
    Stage.INSTALL: ChangeState.INSTALLING,
    Stage.APPROVAL: ChangeState.AWAITING_APPROVAL,
    Stage.MERGE: ChangeState.MERGING,
}
