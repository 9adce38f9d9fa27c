"""What a person approves on: a change, its evidence and its gates, and the rules that say
whether Approve is possible now. The window, the CLI and Slack all read these rules here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.core.stages import ChangeState

if TYPE_CHECKING:  # types only: the window and `honk history` load this before any run
    from desktop.core.approval import Evidence, GateCheck
    from desktop.core.config import HonkConfig
    from desktop.core.state import ChangeView

__all__ = ["APPROVABLE", "Review"]

# States an approval may start from (committed: a change whose config has no later stage).
APPROVABLE = frozenset({ChangeState.AWAITING_APPROVAL, ChangeState.COMMITTED})


@dataclass(frozen=True)
class Review:
    """The change, its evidence, the gate check and where its branch points now."""

    view: ChangeView
    config: HonkConfig
    evidence: Evidence
    gates: GateCheck
    branch_head: str | None

    @property
    def target(self) -> str:
        """Where a merge goes, as a person reads it: ``origin/main`` or ``acme/app:main``."""
        m = self.config.merge
        return f"{m.github_repo}:{m.target}" if m.via == "github" else f"{m.remote}/{m.target}"

    @property
    def is_void(self) -> bool:
        """The branch no longer points at the commit the evidence is about."""
        commit = self.evidence.commit
        return commit is not None and self.branch_head != commit

    def block_reason(self) -> str:
        """Why Approve is not possible now ("" when it is)."""
        if self.view.state is ChangeState.MERGED:
            return "already merged"
        if self.view.state not in APPROVABLE:
            return f"the change is {self.view.state.value}, not awaiting approval"
        if self.evidence.commit is None or self.is_void or self.gates.unmet:
            return "; ".join(self.gates.problems) or "nothing is committed yet"
        return ""
