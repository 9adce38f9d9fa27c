"""A change made through the real services, with one of its agent steps, for the tests of
a step on its own (tests/steps/test_agent.py, test_claude_code_agent.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from desktop.adapters.git.workspace import Worktree
from desktop.app.services import Services
from desktop.core.events import Event
from desktop.core.pipeline import ChangeContext
from tests.helpers.sessions import GREETING_FILE

__all__ = ["StepChange"]

E = TypeVar("E", bound=Event)
S = TypeVar("S")


@dataclass
class StepChange(Generic[S]):
    """A created change with its agent step; ``seen`` is every event the bus carried,
    ephemeral previews included."""

    services: Services
    ctx: ChangeContext
    worktree: Worktree
    step: S
    seen: list[Event] = field(default_factory=list)

    def journalled(self, kind: type[E]) -> list[E]:
        return [e for e in self.services.journal.events(self.ctx.change_id) if isinstance(e, kind)]

    def greeting(self) -> str:
        return (self.worktree.path / GREETING_FILE).read_text()
