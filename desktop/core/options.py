"""What a person may choose for one run, beside the repo's honk.toml."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """Overrides for one change: model, turn limit, merge target, device and agent engine
    (``"messages"`` or ``"claude-code"``, as ``[agent] engine`` in honk.toml)."""

    model: str | None = None
    max_turns: int | None = None
    target: str | None = None
    device: str | None = None
    engine: str | None = None
