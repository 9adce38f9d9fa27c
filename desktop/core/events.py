"""Typed events: the single source of truth for a change.

Every event is a frozen dataclass with a stable ``type`` name. Events are appended to the
journal as they happen (except the ephemeral ones, which are high-rate stream deltas that
viewers show but nobody needs to replay), and a change's state is a fold over them.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from desktop.core.stages import Stage

__all__ = [
    "AgentText",
    "AgentTextDelta",
    "Approved",
    "ChangeCreated",
    "ChangeFinished",
    "Committed",
    "CostCapReached",
    "EditApplied",
    "EditPreview",
    "EditRejected",
    "Event",
    "Merged",
    "Notice",
    "RevisionRequested",
    "RunAttached",
    "StageFailed",
    "StageFinished",
    "StageProgress",
    "StageStarted",
    "ToolCall",
    "Usage",
    "VerifierResult",
    "event_from_dict",
    "event_to_dict",
]

_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event. ``change`` is the change id; ``at`` is the wall-clock time."""

    type: ClassVar[str] = "event"
    ephemeral: ClassVar[bool] = False

    change: str
    at: float = field(default_factory=time.time)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type in _REGISTRY:
            raise TypeError(f"duplicate event type {cls.type!r}")
        _REGISTRY[cls.type] = cls


@dataclass(frozen=True, kw_only=True)
class ChangeCreated(Event):
    type: ClassVar[str] = "change_created"
    request: str
    repo: str
    branch: str
    worktree: str
    base: str  # the target branch name the worktree was cut from
    base_commit: str
    model: str
    device: str | None = None


@dataclass(frozen=True, kw_only=True)
class RunAttached(Event):
    """A process took charge of the change; if it dies, the change is interrupted."""

    type: ClassVar[str] = "run_attached"
    pid: int
    host: str


@dataclass(frozen=True, kw_only=True)
class StageStarted(Event):
    type: ClassVar[str] = "stage_started"
    stage: Stage
    round: int = 1


@dataclass(frozen=True, kw_only=True)
class StageProgress(Event):
    """Long work reports progress; not journalled one by one."""

    type: ClassVar[str] = "stage_progress"
    ephemeral: ClassVar[bool] = True
    stage: Stage
    message: str = ""
    percent: float | None = None


@dataclass(frozen=True, kw_only=True)
class StageFinished(Event):
    type: ClassVar[str] = "stage_finished"
    stage: Stage
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class StageFailed(Event):
    type: ClassVar[str] = "stage_failed"
    stage: Stage
    reason: str
    seconds: float = 0.0


@dataclass(frozen=True, kw_only=True)
class AgentText(Event):
    """The model's text. Deltas are ephemeral; the assembled block is journalled."""

    type: ClassVar[str] = "agent_text"
    text: str


@dataclass(frozen=True, kw_only=True)
class AgentTextDelta(Event):
    type: ClassVar[str] = "agent_text_delta"
    ephemeral: ClassVar[bool] = True
    text: str


@dataclass(frozen=True, kw_only=True)
class ToolCall(Event):
    """One line per tool call, as the transcript shows it folded."""

    type: ClassVar[str] = "tool_call"
    tool: str
    summary: str
    is_error: bool = False
    result: str = ""


@dataclass(frozen=True, kw_only=True)
class EditPreview(Event):
    """An edit still streaming: ``delta`` is the text just appended to ``field``.

    Previews carry only what each fragment added, so showing a long edit stays linear;
    viewers append deltas per (tool_use_id, field). ``path`` and ``command`` are "" until
    the model has streamed them.
    """

    type: ClassVar[str] = "edit_preview"
    ephemeral: ClassVar[bool] = True
    tool_use_id: str
    command: str
    path: str
    field: str  # "old_str" | "new_str" | "file_text" | "insert_text" | "insert_line" (digits)
    delta: str


@dataclass(frozen=True, kw_only=True)
class EditApplied(Event):
    """An edit landed: the real unified diff of that file against the base commit."""

    type: ClassVar[str] = "edit_applied"
    tool_use_id: str
    command: str
    path: str
    diff: str
    added: int
    removed: int


@dataclass(frozen=True, kw_only=True)
class EditRejected(Event):
    type: ClassVar[str] = "edit_rejected"
    tool_use_id: str
    command: str
    path: str
    error: str


@dataclass(frozen=True, kw_only=True)
class VerifierResult(Event):
    type: ClassVar[str] = "verifier_result"
    name: str
    passed: bool
    seconds: float
    output: str = ""  # failing lines only, trimmed and redacted
    exit_code: int | None = None


@dataclass(frozen=True, kw_only=True)
class Usage(Event):
    """Tokens and cost of one model turn, and the running total for the change."""

    type: ClassVar[str] = "usage"
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float
    total_cost_usd: float


@dataclass(frozen=True, kw_only=True)
class CostCapReached(Event):
    type: ClassVar[str] = "cost_cap_reached"
    total_cost_usd: float
    cap_usd: float


@dataclass(frozen=True, kw_only=True)
class Committed(Event):
    type: ClassVar[str] = "committed"
    commit: str
    branch: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class RevisionRequested(Event):
    type: ClassVar[str] = "revision_requested"
    message: str


@dataclass(frozen=True, kw_only=True)
class Notice(Event):
    """Something a person should read (a retry, a hint); not a state change."""

    type: ClassVar[str] = "notice"
    level: str  # "info" | "warning" | "error"
    message: str


@dataclass(frozen=True, kw_only=True)
class ChangeFinished(Event):
    """The pipeline run ended; ``state`` is the state it left the change in."""

    type: ClassVar[str] = "change_finished"
    state: str
    reason: str = ""


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-ready dict with ``type`` first; enums become their values."""
    out: dict[str, Any] = {"type": event.type}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, Stage):
            value = value.value
        elif isinstance(value, tuple):
            value = list(value)
        out[f.name] = value
    return out


def event_from_dict(data: dict[str, Any]) -> Event:
    """Inverse of :func:`event_to_dict`. Unknown fields are ignored so old journals load."""
    kind = data.get("type")
    cls = _REGISTRY.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "stage":
            value = Stage(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[f.name] = value
    return cls(**kwargs)


@dataclass(frozen=True, kw_only=True)
class Approved(Event):
    """A person approved exactly ``commit`` (and ``artifact_sha256``) for the merge."""

    type: ClassVar[str] = "approved"
    commit: str
    actor: str
    artifact_sha256: str | None = None
    override: bool = False  # approved although a required gate was not met
    unmet_gates: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class Merged(Event):
    """The approved commit reached the target: ``merged_commit`` is the target's new tip."""

    type: ClassVar[str] = "merged"
    commit: str
    target: str
    remote: str
    merged_commit: str
    method: str
    already_merged: bool = False
    pull_request: str = ""
