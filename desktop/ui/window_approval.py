"""The approve / override / request changes / reject / install intents of the main window,
and the approval panel they drive (a mixin of :class:`~desktop.ui.main_window.MainWindow`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_parts import WindowParts

if TYPE_CHECKING:
    import asyncio

    from PySide6.QtWidgets import QDialog

    from desktop.core.build_events import Installed
    from desktop.core.review import Review
    from desktop.core.state import ChangeView
    from desktop.ui.approval_panel import ApprovalPanel

__all__ = ["ApprovalIntents", "ApprovalWindow"]


class ApprovalWindow(WindowParts, Protocol):
    """The window the intents are mixed into: its parts, and the intents' own helpers."""

    approval: ApprovalPanel
    ask: Callable[[str, str], bool]  # a confirmation; tests replace it
    quitting: bool
    _review_gen: int  # only the newest review load may fill the panel
    _approve_tip: str  # the approve action's tip while it is enabled

    def current_id(self) -> str | None: ...

    def _confirm_override(self, review: Review, reason: str) -> None: ...

    async def _approve(self, change_id: str, reason: str, *, override: bool) -> None: ...

    def _revise(self, change_id: str, text: str) -> None: ...

    async def _await_install(self, change_id: str, serial: str | None,
                             task: asyncio.Future[Installed]) -> None: ...

    def _review_for(self, change_id: str) -> Review | None: ...

    def _reload_review(self, change_id: str) -> None: ...

    async def _load_review(self, change_id: str, generation: int) -> None: ...

    def _update_approve_action(self, view: ChangeView | None) -> None: ...


class ApprovalIntents:
    """Mixed into the main window (see :class:`ApprovalWindow` for what it needs); imports
    the panel's helpers on first use, after start-up has painted."""

    # The window's (WindowParts), declared here too: mypy would otherwise give the mixin an
    # attribute of the type first assigned below, which clashes with the window's.
    active_dialog: QDialog | None

    def approve(self: ApprovalWindow) -> None:
        """Ctrl+Shift+A: confirm naming the target and the commit, then approve and merge."""
        cid = self.current_id()
        view = self.bridge.views.get(cid or "")
        if view is None:
            return
        review = self._review_for(view.id)
        if review is not None and (why := review.block_reason()):
            self.statusBar().showMessage(
                self.tr("Approve is not possible: {why}").format(why=why), 10_000)
            return
        target = review.target if review else (view.base or self.tr("the target branch"))
        commit = (review.evidence.commit if review else view.commit) or self.tr("(no commit yet)")
        if self.ask(self.tr("Approve change"), self.tr(
                "Merge commit {sha} of change {id} into {target}?").format(
                    sha=commit, id=view.id, target=target)):
            self._spawn(self._approve(view.id, "", override=False))

    def override(self: ApprovalWindow) -> None:
        """Approve although gates are not met: a typed reason first, then a confirmation."""
        from desktop.ui.approval_panel import ReasonDialog

        cid = self.current_id()
        review = self._review_for(cid or "")
        if cid is None or review is None or not review.gates.unmet:
            self.statusBar().showMessage(self.tr("Nothing to override here"), 5000)
            return
        dialog = ReasonDialog(
            self.tr("Override the approval gates"),
            self.tr("Not met:\n{problems}\n\nWhy approve anyway? The reason is written to "
                    "the audit log.").format(problems="\n".join(review.gates.problems)),
            self.tr("Override and approve…"), self.window())
        dialog.accepted.connect(lambda: self._confirm_override(review, dialog.text()))
        dialog.open()
        self.active_dialog = dialog

    def _confirm_override(self: ApprovalWindow, review: Review, reason: str) -> None:
        if self.ask(self.tr("Override and approve"), self.tr(
                "Merge commit {sha} of change {id} into {target} although {gates} not met?"
                ).format(sha=review.evidence.commit, id=review.view.id, target=review.target,
                         gates=", ".join(review.gates.unmet))):
            self._spawn(self._approve(review.view.id, reason, override=True))

    async def _approve(self: ApprovalWindow, change_id: str, reason: str, *,
                       override: bool) -> None:
        if self.approval.change_id == change_id:
            self.approval.show_busy(self.tr("Approving and merging…"))
        try:
            merged = await self.bridge.approve(change_id, reason=reason, override=override)
        except Exception as exc:  # said on the status bar by the bridge; kept in the panel
            if self.approval.change_id == change_id:
                self.approval.show_error(self.tr("Approval failed: {error}").format(error=exc))
            return
        self.statusBar().showMessage(self.tr("Merged change {id} into {remote}/{target} at "
                                             "{sha}").format(
            id=change_id, remote=merged.remote, target=merged.target,
            sha=merged.merged_commit[:12]), 10_000)
        if self.approval.change_id == change_id:
            self.approval.merged = merged
            self._reload_review(change_id)

    def request_changes(self: ApprovalWindow) -> None:
        """Send a follow-up to the agent (a revision) from the approval panel."""
        from desktop.ui.approval_panel import ReasonDialog

        cid = self.current_id()
        if cid is None:
            return
        dialog = ReasonDialog(self.tr("Request changes"), self.tr(
            "What should the agent change in {id}? It is sent as a follow-up.").format(id=cid),
            self.tr("Send follow-up"), self.window())
        dialog.accepted.connect(lambda: self._revise(cid, dialog.text()))
        dialog.open()
        self.active_dialog = dialog

    def _revise(self: ApprovalWindow, change_id: str, text: str) -> None:
        try:
            self.bridge.revise(change_id, text)
        except Exception as exc:
            self.approval.show_error(str(exc))
            self.statusBar().showMessage(str(exc), 10_000)

    def reject(self: ApprovalWindow) -> None:
        cid = self.current_id()
        if cid and self.ask(self.tr("Reject change"), self.tr(
                "Reject change {id}? Its worktree and branch are removed; the journal keeps "
                "the record.").format(id=cid)):
            self.bridge.reject(cid)

    def install(self: ApprovalWindow) -> None:
        """Ctrl+I: install the change's build on the device chosen in the composer."""
        cid = self.current_id()
        if not cid:
            return
        serial = self.composer.options().device
        task = self.bridge.install(cid, serial)
        if task is not None:
            self._spawn(self._await_install(cid, serial, task))

    async def _await_install(self: ApprovalWindow, change_id: str, serial: str | None,
                             task: asyncio.Future[Installed]) -> None:
        import asyncio

        self.statusBar().showMessage(self.tr("Installing change {id} on {device}…").format(
            id=change_id, device=serial or self.tr("its device")))
        try:
            installed = await task
        except asyncio.CancelledError:
            if not task.cancelled():
                raise
            self.statusBar().showMessage(self.tr("Install cancelled"), 5000)
            return
        except Exception as exc:  # the bridge said it on the status bar too
            if self.approval.change_id == change_id:
                self.approval.show_error(self.tr("Install failed: {error}").format(error=exc))
            return
        self.statusBar().showMessage(self.tr("Installed change {id} on {device}").format(
            id=change_id, device=installed.device), 10_000)

    # -- approval panel ----------------------------------------------------------------
    def _review_for(self: ApprovalWindow, change_id: str) -> Review | None:
        review = self.approval.review
        return review if review is not None and review.view.id == change_id else None

    def _update_approval(self: ApprovalWindow, view: ChangeView | None, *, reload: bool) -> None:
        from desktop.ui.approval_panel import shows_panel

        if view is None or not shows_panel(view):
            self.approval.show_change(None)
        else:
            self.approval.show_change(view.id)
            if reload and not view.state.is_running:  # a merge in progress keeps its busy line
                self._reload_review(view.id)
        self._update_approve_action(view)

    def _reload_review(self: ApprovalWindow, change_id: str) -> None:
        self._review_gen += 1
        self._spawn(self._load_review(change_id, self._review_gen))

    async def _load_review(self: ApprovalWindow, change_id: str, generation: int) -> None:
        try:
            review, merged = await self.bridge.review(change_id)
        except Exception as exc:  # a broken honk.toml, a vanished repo: say so in the panel
            if self.quitting:
                return
            if generation == self._review_gen and self.approval.change_id == change_id:
                self.approval.show_error(self.tr("Cannot load the evidence: {error}").format(
                    error=exc))
            return
        if self.quitting:  # the widgets may be gone
            return
        if generation == self._review_gen and self.approval.change_id == change_id:
            self.approval.show_review(review, merged)
            self._update_approve_action(self.bridge.views.get(change_id))

    def _update_approve_action(self: ApprovalWindow, view: ChangeView | None) -> None:
        """Approve is disabled, with the reason as its tip, when it cannot succeed."""
        from desktop.core.stages import ChangeState

        action = self.actions_by_id["approve"]
        why = ""
        if view is None:
            why = self.tr("no change selected")
        elif view.state not in (ChangeState.AWAITING_APPROVAL, ChangeState.COMMITTED):
            why = self.tr("change {id} is {state}").format(id=view.id, state=view.state.value)
        elif (review := self._review_for(view.id)) is not None:
            why = review.block_reason()
        action.setEnabled(not why)
        tip = self.tr("Approve is disabled: {why}").format(why=why) if why else self._approve_tip
        action.setToolTip(tip)
        action.setStatusTip(tip)
