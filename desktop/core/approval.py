"""The approval gate: what evidence exists for the change's current commit, and whether
the gates that honk.toml requires hold. Pure: it reads events, decides nothing else.

Evidence binds to a commit. Everything recorded before the latest commit of the change
(a verdict, a build, an install) is about an older state and does not count.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop.core.build_events import ArtifactBuilt, Installed
from desktop.core.events import Committed, Event, StageFinished, StageStarted, VerifierResult
from desktop.core.judge_events import JudgeVerdict
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.stages import ChangeState, Stage

__all__ = ["ApprovalStep", "Evidence", "GateCheck", "check_gates", "collect_evidence"]


@dataclass(frozen=True)
class Evidence:
    """What is known about the change's latest commit."""

    commit: str | None = None
    verified: bool = False
    verifiers: tuple[VerifierResult, ...] = ()
    verdict: JudgeVerdict | None = None
    artifact: ArtifactBuilt | None = None
    installed: Installed | None = None

    @property
    def judged(self) -> bool:
        return self.verdict is not None and not self.verdict.vetoed

    @property
    def built(self) -> bool:
        return self.artifact is not None

    @property
    def on_device(self) -> bool:
        return (self.installed is not None and self.artifact is not None
                and self.installed.artifact_sha256 == self.artifact.sha256)

    def gate(self, name: str) -> bool:
        return {"verified": self.verified, "judged": self.judged, "built": self.built,
                "installed": self.on_device}[name]


@dataclass(frozen=True)
class GateCheck:
    unmet: tuple[str, ...]
    problems: tuple[str, ...]  # one sentence per unmet gate, or a void approval

    @property
    def ok(self) -> bool:
        return not self.problems


def collect_evidence(events: Iterable[Event]) -> Evidence:
    """Fold the change's events into the evidence about its latest commit."""
    commit: str | None = None
    verified = False
    verifiers: list[VerifierResult] = []
    round_verifiers: list[VerifierResult] = []
    verdict: JudgeVerdict | None = None
    artifact: ArtifactBuilt | None = None
    installed: Installed | None = None
    for event in events:
        if isinstance(event, StageStarted) and event.stage is Stage.AGENT:
            verified = False  # the files may change again
        elif isinstance(event, StageStarted) and event.stage is Stage.VERIFY:
            round_verifiers = []
        elif isinstance(event, VerifierResult):
            round_verifiers.append(event)
        elif isinstance(event, StageFinished) and event.stage is Stage.VERIFY:
            verified = all(v.passed for v in round_verifiers)
            verifiers = list(round_verifiers)
        elif isinstance(event, Committed):
            if event.commit != commit:
                verdict, artifact, installed = None, None, None
            commit = event.commit
        elif isinstance(event, JudgeVerdict):
            verdict = event if event.commit in (None, commit) else verdict
        elif isinstance(event, ArtifactBuilt):
            artifact, installed = event, None
        elif isinstance(event, Installed):
            installed = event
    return Evidence(commit=commit, verified=verified and commit is not None,
                    verifiers=tuple(verifiers), verdict=verdict, artifact=artifact,
                    installed=installed)


_WHY = {
    "verified": "the verifiers have not passed on this commit",
    "judged": "the judge has not approved this commit",
    "built": "no build of this commit exists",
    "installed": "this commit's build is not installed on a test device",
}


def check_gates(evidence: Evidence, required: Sequence[str], branch_head: str | None) -> GateCheck:
    """Which required gates fail, and whether the branch moved away from the evidence."""
    problems: list[str] = []
    if evidence.commit is None:
        return GateCheck(unmet=tuple(required), problems=("nothing is committed yet",))
    if branch_head is not None and branch_head != evidence.commit:
        problems.append(
            f"the branch moved to {branch_head[:12]} after the evidence about "
            f"{evidence.commit[:12]}: look at the change again"
        )
    unmet = tuple(g for g in required if not evidence.gate(g))
    problems.extend(f"{g}: {_WHY[g]}" for g in unmet)
    return GateCheck(unmet=unmet, problems=tuple(problems))


class ApprovalStep:
    """The last automatic stage: the change rests here until a person decides."""

    stage = Stage.APPROVAL
    max_returns = 0

    async def run(self, ctx: ChangeContext) -> StepResult:
        return StepResult(ok=True, rest_in=ChangeState.AWAITING_APPROVAL)
