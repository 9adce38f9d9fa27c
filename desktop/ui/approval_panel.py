"""The approval panel: the evidence about a change's commit beside its diff, and the
decision buttons. Thin: it shows a :class:`desktop.app.approvals.Review` and emits intents;
the window runs them.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from desktop.core.events import Merged
from desktop.core.review import APPROVABLE, Review
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView

__all__ = ["ApprovalPanel", "ReasonDialog", "shows_panel"]

_FIELDS = (("request", "Request"), ("commit", "Commit"), ("target", "Merges into"),
           ("verifiers", "Verifiers"), ("judge", "Judge"), ("artifact", "Build"),
           ("installed", "Installed"), ("cost", "Cost"), ("duration", "Duration"))
_ALERT = "color: #dc2626; font-weight: 600;"
_OK = "color: #16a34a; font-weight: 600;"


def shows_panel(view: ChangeView) -> bool:
    """Whether ``view`` has something to approve, a merge to show or a failed merge to explain."""
    if view.state in APPROVABLE or view.state in (ChangeState.MERGING, ChangeState.MERGED):
        return True
    last = view.stages[-1].stage if view.stages else None
    return view.state in (ChangeState.FAILED, ChangeState.INTERRUPTED) and last is Stage.MERGE


class ReasonDialog(QDialog):
    """Asks for a typed text; OK stays disabled until there is one."""

    def __init__(self, title: str, prompt: str, ok_text: str, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.setObjectName("reasonDialog")
        self.setWindowTitle(title)
        label = QLabel(prompt)
        label.setWordWrap(True)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName("reasonEdit")
        self.edit.setAccessibleName(title)
        self.edit.setTabChangesFocus(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.ok.setEnabled(False)
        self.ok.setToolTip(self.tr("Type a reason first"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.edit.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.edit.toPlainText().strip())))
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.edit)
        layout.addWidget(self.buttons)
        self.resize(460, 220)

    def text(self) -> str:
        return self.edit.toPlainText().strip()

    def accept(self) -> None:
        if self.text():  # Enter on the button box cannot get past an empty reason
            super().accept()


class ApprovalPanel(QWidget):
    """Evidence, gates and the Approve / Override / Request changes / Reject / Install row."""

    approve_requested = Signal()
    override_requested = Signal()
    changes_requested = Signal()
    reject_requested = Signal()
    install_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("approvalPanel")
        self.setAccessibleName(self.tr("Approval"))
        self.review: Review | None = None
        self.change_id: str | None = None
        self.merged: Merged | None = None
        self.error = ""  # the last failure for this change, kept until the next attempt
        self.title = QLabel(self.tr("Approval"))
        self.title.setObjectName("paneTitle")
        self.demo_badge = QLabel(self.tr("DEMO"))
        self.demo_badge.setObjectName("demoBadge")
        self.demo_badge.setStyleSheet("background: #d97706; color: white; font-weight: 700; "
                                      "padding: 1px 6px; border-radius: 4px;")
        self.demo_badge.hide()
        self.status = QLabel()
        self.status.setObjectName("approvalStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.gates = QLabel()
        self.gates.setObjectName("approvalGates")
        self.gates.setWordWrap(True)
        self.gates.setStyleSheet(_ALERT)
        self.gates.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for key, title in _FIELDS:
            value = QLabel()
            value.setObjectName(f"evidence_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setTextFormat(Qt.TextFormat.PlainText)
            self.fields[key] = value
            form.addRow(self.tr(title), value)
        body = QWidget()
        body.setLayout(form)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.approve_button = self._button("approveButton", self.tr("Approve…"),
                                           self.approve_requested)
        self.override_button = self._button("overrideButton", self.tr("Override…"),
                                            self.override_requested)
        self.override_button.setToolTip(self.tr("Approve although gates are not met; needs a "
                                                "typed reason, written to the audit log"))
        self.changes_button = self._button("requestChangesButton", self.tr("Request changes…"),
                                           self.changes_requested)
        self.reject_button = self._button("rejectButton", self.tr("Reject…"),
                                          self.reject_requested)
        self.install_button = self._button("installButton", self.tr("Install"),
                                           self.install_requested)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addWidget(self.demo_badge)
        head.addStretch(1)
        buttons = QHBoxLayout()
        for b in (self.approve_button, self.override_button, self.changes_button,
                  self.reject_button, self.install_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.status)
        layout.addWidget(self.gates)
        layout.addWidget(scroll, 1)
        layout.addLayout(buttons)
        self.show_change(None)

    def _button(self, name: str, text: str, signal: SignalInstance) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.rstrip("…"))
        button.clicked.connect(signal.emit)
        return button

    # -- what is shown -----------------------------------------------------------------
    def show_change(self, change_id: str | None) -> None:
        """A new selection: forget the old review until the new one arrives."""
        if change_id != self.change_id:
            self.review, self.merged, self.error = None, None, ""
        self.change_id = change_id
        if change_id is None:
            self.hide()
            return
        if self.review is None:
            for field in self.fields.values():
                field.clear()
            self.gates.hide()
            self._status(self.tr("Loading the evidence…"), "")
            self._enable("", loading=True)

    def show_review(self, review: Review, merged: Merged | None = None) -> None:
        """Fill in the evidence about ``review``'s commit and enable what it allows."""
        if review.view.id != self.change_id:
            return  # the selection moved on while the review loaded
        self.review = review
        self.merged = merged or self.merged
        ev, view = review.evidence, review.view
        f = self.fields
        f["request"].setText(view.request)
        f["commit"].setText(ev.commit or self.tr("nothing committed yet"))
        f["target"].setText(review.target)
        f["verifiers"].setText("\n".join(
            f"{'✓' if v.passed else '✗'} {v.name} ({v.seconds:.1f} s)" for v in ev.verifiers)
            or self.tr("no verifier ran on this commit"))
        f["judge"].setText(ev.verdict.render() if ev.verdict else self.tr("not judged"))
        a = ev.artifact
        f["artifact"].setText(f"{a.path}\n{a.size:,} bytes\nsha256 {a.sha256}" if a
                              else self.tr("no build of this commit"))
        i = ev.installed
        f["installed"].setText(
            f"{i.device} ({i.kind}), {_when(i.at)}, took {i.seconds:.1f} s\nsha256 "
            f"{i.artifact_sha256}" if i else self.tr("not installed on a device"))
        f["cost"].setText(f"${view.cost_usd:.4f} ({view.input_tokens:,} in / "
                          f"{view.output_tokens:,} out tokens)")
        worked = sum(s.seconds for s in view.stages)
        f["duration"].setText(self.tr("{work:.1f} s of work in {n} stages; {age} since the "
                                      "request").format(work=worked, n=len(view.stages),
                                                        age=_span(view.updated_at - view.created_at)))
        reason = review.block_reason()
        problems = [p for p in review.gates.problems if view.state is not ChangeState.MERGED]
        self.gates.setText("\n".join(f"• {p}" for p in problems))
        self.gates.setVisible(bool(problems))
        if self.error:
            self._status(self.error, _ALERT)
        elif self.merged is not None:
            m = self.merged
            self._status(self.tr("Merged into {remote}/{target} at {sha} ({method}){again}")
                         .format(remote=m.remote, target=m.target, sha=m.merged_commit,
                                 method=m.method,
                                 again=self.tr(", already merged") if m.already_merged else ""),
                         _OK)
        elif view.state is ChangeState.MERGED:
            self._status(self.tr("Merged: {reason}").format(reason=view.reason), _OK)
        elif review.is_void:
            self._status(self.tr("Approval void: the branch moved after the evidence was "
                                 "gathered. Look at the change again."), _ALERT)
        elif reason:
            self._status(self.tr("Approve is not possible: {why}").format(why=reason), _ALERT)
        else:
            self._status(self.tr("Ready to approve commit {sha} into {target}").format(
                sha=(ev.commit or "")[:12], target=review.target), "")
        self._enable(reason)

    def show_error(self, text: str) -> None:
        """A failed load, approval or merge: said in the panel, never swallowed."""
        self.error = text
        self._status(text, _ALERT)
        if self.review is not None:
            self._enable(self.review.block_reason())

    def show_busy(self, text: str) -> None:
        self.error = ""
        self._status(text, "")
        for b in (self.approve_button, self.override_button, self.reject_button,
                  self.changes_button):
            b.setEnabled(False)

    def set_demo(self, demo: bool) -> None:
        self.demo_badge.setVisible(demo)

    # -- helpers -----------------------------------------------------------------------
    def _status(self, text: str, style: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(style)

    def _enable(self, reason: str, *, loading: bool = False) -> None:
        review = self.review
        state = review.view.state if review else None
        approvable = state in APPROVABLE
        self.approve_button.setEnabled(not loading and approvable and not reason)
        self.approve_button.setToolTip(
            self.tr("Approve is disabled: {why}").format(why=reason) if reason
            else self.tr("Approve this commit for merging (Ctrl+Shift+A)"))
        commit_ok = bool(review and review.evidence.commit and not review.is_void)
        self.override_button.setEnabled(approvable and bool(reason) and commit_ok
                                        and bool(review and review.gates.unmet))
        self.override_button.setVisible(bool(review and review.gates.unmet) and approvable)
        self.changes_button.setEnabled(not loading and approvable)
        self.reject_button.setEnabled(not loading and state is not ChangeState.MERGED)
        self.install_button.setEnabled(bool(review and review.evidence.artifact)
                                       and state is not ChangeState.MERGED)
        self.show()


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def _span(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
