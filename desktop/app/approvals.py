"""Approving, rejecting and merging a change, each written to the hash-chained audit log.

An approval binds to the exact commit (and artifact sha256) the evidence is about. If the
branch moved since, the approval is void. Merging is idempotent: a second approval or a
retry after a crash finds the commit already merged and records that, never merging twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.app.inputs import read_config
from desktop.core.errors import UsageError
from desktop.core.events import (
    Approved,
    ChangeFinished,
    Merged,
    Notice,
    StageFailed,
    StageFinished,
    StageStarted,
)
from desktop.core.review import APPROVABLE, Review
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

if TYPE_CHECKING:
    from desktop.adapters.secrets import SecretStore
    from desktop.adapters.store.audit_log import AuditLog
    from desktop.app.changes import ChangeService
    from desktop.app.context import AppContext
    from desktop.core.approval import Evidence
    from desktop.core.audit import StoredRecord

# git, the merge routes and the audit records are imported where they are used (lazy for
# start-up): the window imports this module before any change is approved.

__all__ = ["ApprovalService", "Review", "bound_commit", "merge_summary", "retry_reason"]


class ApprovalService:
    """Approve, merge and reject over ``context``; every decision goes to the audit log."""

    def __init__(self, *, context: AppContext, changes: ChangeService, audit: AuditLog,
                 secrets: SecretStore) -> None:
        self.context = context
        self.changes = changes
        self.audit = audit
        self.secrets = secrets

    def review(self, change_id: str, *, owner: bool = False) -> Review:
        """The change, its evidence and gates (``owner``: the caller holds its lock)."""
        from desktop.adapters.git.workspace import branch_head
        from desktop.core.approval import check_gates, collect_evidence

        view = self.context.view(change_id, owner=owner)
        config = read_config(Path(view.repo))
        head = branch_head(Path(view.repo), view.branch)
        evidence = collect_evidence(self.context.journal.events(view.id))
        gates = check_gates(evidence, config.merge.require, head)
        return Review(view, config, evidence, gates, head)

    async def approve(self, change_id: str, *, reason: str = "", override: bool = False,
                      actor: str | None = None, commit: str | None = None) -> Merged:
        """Approve the change's verified commit and merge it. Raises UsageError if not allowed.

        ``actor``: who approves, as the audit log names them (default: the repo's git
        identity and the OS login). ``commit``: the commit the person saw; if the change
        has moved since, the approval is refused naming both. Holds the change's lock
        throughout (raises LockBusy if another process drives it), so two approvals can
        never push at once.
        """
        with self.context.hold(self.context.view(change_id).id, "approve"):
            return await self._approve_locked(change_id, reason=reason, override=override,
                                              actor=actor, seen=commit)

    async def _approve_locked(self, change_id: str, *, reason: str, override: bool,
                              actor: str | None, seen: str | None) -> Merged:
        import asyncio

        from desktop.adapters.git.identity import current_actor
        from desktop.adapters.git.merge import MergeConflict, MergeError, RemoteUnreachable
        from desktop.core.audit import standing_approval

        review = self.review(change_id, owner=True)
        view, evidence = review.view, review.evidence
        done = self._already_merged(view.id)
        if done is not None:
            self._finish_record(view, evidence, done)
            return done
        interrupted_merge = (view.state is ChangeState.INTERRUPTED and view.stages
                             and view.stages[-1].stage is Stage.MERGE)
        if view.state not in APPROVABLE and not interrupted_merge:
            raise UsageError(f"change {view.id} is {view.state.value}; only a change awaiting "
                             "approval can be approved")
        commit = await asyncio.to_thread(bound_commit, view, evidence, review.branch_head)
        if seen is not None and seen != commit:
            raise UsageError(f"change {view.id}: approval refused: it was shown at {seen}, but "
                             f"it has moved to {commit} since; look at the change again. "
                             "Nothing was merged.")
        # A retry after a cut merge: the person's approval of this very commit is on record
        # already, so the retry only finishes its merge (approval is idempotent per commit).
        records = self.audit.find(view.id)
        standing = standing_approval(records, view.id, commit)
        if standing is None:
            if review.gates.unmet and not override:
                raise UsageError(
                    "approval refused, required gates not met: "
                    + "; ".join(review.gates.problems)
                    + ". To approve anyway, pass an override with a typed reason.")
            if override and review.gates.unmet and not reason.strip():
                raise UsageError("an override needs a reason (it is written to the audit log)")
        if actor is None:
            actor = await asyncio.to_thread(current_actor, Path(view.repo))
        emit = self.context.bus.emit
        if standing is None:
            overriding = override and bool(review.gates.unmet)
            self._audit(view, evidence, actor, "override" if overriding else "approved",
                        reason=retry_reason(records, commit, reason) or None)
            emit(Approved(change=view.id, commit=commit, actor=actor,
                          artifact_sha256=evidence.artifact.sha256 if evidence.artifact else None,
                          override=overriding, unmet_gates=review.gates.unmet, reason=reason))
        else:
            first = standing.approval.record
            emit(Notice(change=view.id, level="info", message=(
                f"{commit[:12]} was approved already ({first.action} by {first.actor} at "
                f"{first.at}, audit record {standing.approval.seq}): finishing its merge")))
            if not self._journal_approved(view.id, commit):
                emit(Approved(change=view.id, commit=commit, actor=first.actor,
                              artifact_sha256=first.artifact_sha256,
                              override=first.action == "override",
                              unmet_gates=review.gates.unmet if first.action == "override"
                              else (), reason=first.reason or ""))
        emit(StageStarted(change=view.id, stage=Stage.MERGE))
        try:
            merged = await self._merge(review, commit)
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
        if standing is None or standing.merged is None:
            self._audit(view, evidence, actor, "merged", merge_result=merge_summary(merged))
        emit(ChangeFinished(change=view.id, state=ChangeState.MERGED.value,
                            reason=merge_summary(merged)))
        return merged

    def _finish_record(self, view: ChangeView, evidence: Evidence, merged: Merged) -> None:
        """The journal says merged: make sure the audit log and the state say so too, once.

        A process killed between journalling the merge and writing its audit record leaves
        the approval on record without its outcome.
        """
        from desktop.core.audit import standing_approval

        standing = standing_approval(self.audit.find(view.id), view.id, merged.commit)
        if standing is not None and standing.merged is None:
            self._audit(view, evidence, standing.approval.record.actor, "merged",
                        merge_result=merge_summary(merged))
        if view.state is not ChangeState.MERGED:
            self.context.bus.emit(ChangeFinished(change=view.id, state=ChangeState.MERGED.value,
                                                 reason=merge_summary(merged)))

    def _journal_approved(self, change_id: str, commit: str) -> bool:
        """Whether the journal's last word on approving is an approval of ``commit``."""
        for event in reversed(self.context.journal.events(change_id)):
            if isinstance(event, Approved):
                return event.commit == commit
            if isinstance(event, ChangeFinished):
                return False
        return False

    async def reject(self, change_id: str, reason: str = "", *, actor: str | None = None
                     ) -> None:
        """Remove the change's worktree and branch and audit the rejection (``actor``: as
        for :meth:`approve`)."""
        import asyncio

        from desktop.adapters.git.identity import current_actor

        review = self.review(change_id)
        self.changes.reject(change_id, reason)
        if actor is None:
            actor = await asyncio.to_thread(current_actor, Path(review.view.repo))
        self._audit(review.view, review.evidence, actor, "rejected", reason=reason or None)

    def _already_merged(self, change_id: str) -> Merged | None:
        for event in reversed(self.context.journal.events(change_id)):
            if isinstance(event, Merged):
                return event
        return None

    async def _merge(self, review: Review, commit: str) -> Merged:
        import asyncio

        from desktop.adapters.git.merge import GitMerger, MergeResult
        from desktop.adapters.secrets import GITHUB_TOKEN

        m, view = review.config.merge, review.view
        message = f"Merge Honk change {view.id}: {view.request.splitlines()[0][:60]}"
        if m.via == "github":
            from desktop.app.github_route import merge_via_github

            token = await asyncio.to_thread(self.secrets.get, GITHUB_TOKEN)  # keyring
            if not token:
                raise UsageError("no GitHub token: set GITHUB_TOKEN or store one with "
                                 "`honk key set github`")
            bus = self.context.bus

            def notify(message: str) -> None:
                bus.emit(Notice(change=view.id, level="info", message=message))

            return await merge_via_github(review, commit, token, self.context.home, notify)
        merger = GitMerger(Path(view.repo), self.context.home / "scratch")
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


def retry_reason(records: Sequence[StoredRecord], commit: str, reason: str) -> str:
    """The audit reason of an approval: the person's ``reason``, led by a note naming the
    failed merge it retries when the change's last record is a failed merge of this very
    ``commit``. The failed merge closed the first approval; approving again is a second
    decision (gates checked again), and the note says it is about the same commit."""
    last = records[-1].record if records else None
    if last is None or last.action != "merge_failed" or last.commit_sha != commit:
        return reason
    note = f"approved again after the failed merge (audit record {records[-1].seq})"
    return f"{note}: {reason}" if reason.strip() else note


def merge_summary(merged: Merged) -> str:
    """One line about a merge, for the audit record and the change's final state."""
    return (f"{merged.method} into {merged.remote}/{merged.target} at {merged.merged_commit}"
            + (" (already merged)" if merged.already_merged else ""))


def bound_commit(view: ChangeView, evidence: Evidence, branch_head: str | None) -> str:
    """The commit an approval binds to: the one the evidence is about, if the branch and the
    worktree still hold exactly it. Otherwise UsageError naming the change, the expected and
    the actual state; nothing is touched, so nothing is lost.
    """
    from desktop.adapters.git.workspace import checkout_state

    expected = evidence.commit
    refused = f"change {view.id}: approval refused"
    if expected is None:
        raise UsageError(f"{refused}: nothing is committed yet")
    if branch_head is None:
        raise UsageError(f"{refused}: its branch {view.branch} no longer exists in {view.repo} "
                         f"(expected it at {expected}, the reviewed commit). Nothing was merged.")
    if branch_head != expected:
        raise UsageError(f"{refused}: the branch moved after the review: expected "
                         f"{view.branch} at {expected} (the reviewed commit), found {branch_head}"
                         "; look at the change again. Nothing was merged.")
    worktree = Path(view.worktree)
    if not worktree.is_dir():
        return expected  # nothing uncommitted can be there; the merge reads the repository
    state = checkout_state(worktree)
    if state is None:
        return expected  # not a worktree any more (pruned): the branch check above holds
    # Tracked files only: the commit took every file that existed then.
    head, dirty = state
    if head != expected:
        raise UsageError(f"{refused}: its worktree {worktree} is at {head}, not at the reviewed "
                         f"commit {expected}; look at the change again. Nothing was merged.")
    if dirty:
        shown = ", ".join(dirty[:5]) + (f" and {len(dirty) - 5} more" if len(dirty) > 5 else "")
        raise UsageError(
            f"{refused}: its worktree {worktree} has uncommitted changes ({shown}) on top of "
            f"the reviewed commit {expected} (expected a clean worktree at {expected}, found "
            f"{head} plus those changes). Approving would merge {expected[:12]} without them. "
            "Nothing was merged and the changes are still there: commit them and have the "
            "change checked again, or discard them.")
    return expected
