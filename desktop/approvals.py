"""Approving, rejecting and merging a change, each written to the hash-chained audit log.

An approval binds to the exact commit (and artifact sha256) the evidence is about. If the
branch moved since, the approval is void. Merging is idempotent: a second approval or a
retry after a crash finds the commit already merged and records that, never merging twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.changes import UsageError, read_config
from desktop.core.events import (
    Approved,
    ChangeFinished,
    Merged,
    Notice,
    StageFailed,
    StageFinished,
    StageStarted,
)
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    from desktop.adapters.audit_log import AuditLog
    from desktop.adapters.secrets import SecretStore
    from desktop.changes import ChangeService
    from desktop.core.approval import Evidence, GateCheck
    from desktop.core.config import HonkConfig

# git, the merge routes and the audit records are imported where they are used: the window
# imports this module for ``Review`` at start-up.

__all__ = ["ApprovalService", "Review"]

APPROVABLE = {ChangeState.AWAITING_APPROVAL, ChangeState.COMMITTED}


@dataclass(frozen=True)
class Review:
    """What the approval panel shows: the change, its evidence and the gate check."""

    view: ChangeView
    config: HonkConfig
    evidence: Evidence
    gates: GateCheck
    branch_head: str | None

    @property
    def target(self) -> str:
        m = self.config.merge
        return f"{m.github_repo}:{m.target}" if m.via == "github" else f"{m.remote}/{m.target}"


class ApprovalService:
    def __init__(self, *, home: Path, changes: ChangeService, audit: AuditLog,
                 secrets: SecretStore) -> None:
        self.home = home
        self.changes = changes
        self.audit = audit
        self.secrets = secrets

    def review(self, change_id: str, *, owner: bool = False) -> Review:
        """The change, its evidence and gates (``owner``: the caller holds its lock)."""
        from desktop.adapters.gitcli import GitError, git
        from desktop.core.approval import check_gates, collect_evidence

        view = self.changes.view(change_id, owner=owner)
        config = read_config(Path(view.repo))
        try:
            head: str | None = git("rev-parse", "--verify", "-q", view.branch, cwd=Path(view.repo))
        except GitError:
            head = None
        evidence = collect_evidence(self.changes.journal.events(view.id))
        gates = check_gates(evidence, config.merge.require, head)
        return Review(view, config, evidence, gates, head)

    async def approve(self, change_id: str, *, reason: str = "", override: bool = False
                      ) -> Merged:
        """Approve the change's verified commit and merge it. Raises UsageError if not allowed.

        Holds the change's lock throughout (raises LockBusy if another process drives it),
        so two approvals can never push at once.
        """
        with self.changes.hold(self.changes.view(change_id).id, "approve"):
            return await self._approve_locked(change_id, reason=reason, override=override)

    async def _approve_locked(self, change_id: str, *, reason: str, override: bool) -> Merged:
        from desktop.adapters.audit_log import current_actor
        from desktop.adapters.git_merge import MergeConflict, MergeError, RemoteUnreachable

        review = self.review(change_id, owner=True)
        view, evidence = review.view, review.evidence
        done = self._already_merged(view.id)
        if done is not None:
            return done
        interrupted_merge = (view.state is ChangeState.INTERRUPTED and view.stages
                             and view.stages[-1].stage is Stage.MERGE)
        if view.state not in APPROVABLE and not interrupted_merge:
            raise UsageError(f"change {view.id} is {view.state.value}; only a change awaiting "
                             "approval can be approved")
        if evidence.commit is None or review.branch_head != evidence.commit:
            raise UsageError("approval refused: " + "; ".join(review.gates.problems))
        if review.gates.unmet and not override:
            raise UsageError(
                "approval refused, required gates not met: " + "; ".join(review.gates.problems)
                + ". To approve anyway, pass an override with a typed reason.")
        if override and review.gates.unmet and not reason.strip():
            raise UsageError("an override needs a reason (it is written to the audit log)")
        actor = await asyncio.to_thread(current_actor, Path(view.repo))
        artifact = evidence.artifact.sha256 if evidence.artifact else None
        overriding = override and bool(review.gates.unmet)
        self._audit(view, evidence, actor, "override" if overriding else "approved",
                    reason=reason or None)
        emit = self.changes.bus.emit
        emit(Approved(change=view.id, commit=evidence.commit, actor=actor,
                      artifact_sha256=artifact, override=overriding,
                      unmet_gates=review.gates.unmet, reason=reason))
        emit(StageStarted(change=view.id, stage=Stage.MERGE))
        try:
            merged = await self._merge(review, evidence.commit)
        except (MergeError, UsageError) as exc:
            files = f" ({', '.join(exc.files)})" if isinstance(exc, MergeConflict) else ""
            message = f"{exc}{files}"
            emit(StageFailed(change=view.id, stage=Stage.MERGE, reason=message))
            self._audit(view, evidence, actor, "merge_failed", merge_result=message)
            # Nothing was pushed and nothing about the change is wrong: once the remote is
            # back, approving again must work, so it keeps awaiting approval.
            after = (ChangeState.AWAITING_APPROVAL if isinstance(exc, RemoteUnreachable)
                     else ChangeState.FAILED)
            emit(ChangeFinished(change=view.id, state=after.value, reason=message))
            raise
        emit(merged)
        emit(StageFinished(change=view.id, stage=Stage.MERGE))
        summary = (f"{merged.method} into {merged.remote}/{merged.target} at "
                   f"{merged.merged_commit}" + (" (already merged)" if merged.already_merged else ""))
        self._audit(view, evidence, actor, "merged", merge_result=summary)
        emit(ChangeFinished(change=view.id, state=ChangeState.MERGED.value, reason=summary))
        return merged

    async def reject(self, change_id: str, reason: str = "") -> None:
        from desktop.adapters.audit_log import current_actor

        review = self.review(change_id)
        self.changes.reject(change_id, reason)
        actor = await asyncio.to_thread(current_actor, Path(review.view.repo))
        self._audit(review.view, review.evidence, actor, "rejected", reason=reason or None)

    def _already_merged(self, change_id: str) -> Merged | None:
        for event in reversed(self.changes.journal.events(change_id)):
            if isinstance(event, Merged):
                return event
        return None

    async def _merge(self, review: Review, commit: str) -> Merged:
        from desktop.adapters.git_merge import GitMerger, MergeResult
        from desktop.adapters.secrets import GITHUB_TOKEN

        m, view = review.config.merge, review.view
        message = f"Merge Honk change {view.id}: {view.request.splitlines()[0][:60]}"
        if m.via == "github":
            from desktop.github_route import merge_via_github

            token = self.secrets.get(GITHUB_TOKEN)
            if not token:
                raise UsageError("no GitHub token: set GITHUB_TOKEN or store one with "
                                 "`honk key set github`")
            bus = self.changes.bus

            def notify(message: str) -> None:
                bus.emit(Notice(change=view.id, level="info", message=message))

            return await merge_via_github(review, commit, token, self.home, notify)
        merger = GitMerger(Path(view.repo), self.home / "scratch")
        result: MergeResult = await asyncio.to_thread(
            merger.merge, approved_sha=commit, target=m.target, remote=m.remote,
            method=m.method, message=message)
        return Merged(change=view.id, commit=commit, target=result.target, remote=result.remote,
                      merged_commit=result.merged_commit, method=result.method,
                      already_merged=result.already_merged)

    def _audit(self, view: ChangeView, evidence: Evidence, actor: str, action: str, *,
               reason: str | None = None, merge_result: str | None = None) -> None:
        from desktop.core.audit import AuditRecord, utc_now_iso

        verdict = evidence.verdict
        self.audit.append(AuditRecord(
            at=utc_now_iso(), action=action, change_id=view.id, request=view.request,
            commit_sha=evidence.commit or view.commit or view.base_commit, actor=actor,
            artifact_sha256=evidence.artifact.sha256 if evidence.artifact else None,
            device=evidence.installed.device if evidence.installed else None,
            judge_verdict=f"{verdict.verdict}: {verdict.summary}" if verdict else None,
            merge_result=merge_result, reason=reason,
        ))
