"""What the loopback GitHub answers: a status, a JSON body and headers, and its error shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["DOCS", "Reply", "error", "iso"]

DOCS = "https://docs.github.com/rest"


@dataclass
class Reply:
    status: int
    body: Any  # JSON, or None for an empty body
    headers: dict[str, str] = field(default_factory=dict)


def error(code: int, message: str, *, docs: str = DOCS, **extra: Any) -> Reply:
    """GitHub's error body: ``message``, ``documentation_url`` and any ``extra`` fields."""
    return Reply(code, {"message": message, "documentation_url": docs, **extra})


def iso(epoch: float | None = None) -> str:
    """``2026-01-01T00:00:00Z``: the time (now when None) as GitHub writes it."""
    at = datetime.now(UTC) if epoch is None else datetime.fromtimestamp(epoch, UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")
