"""The approval panel: the evidence about a change's commit beside its diff, and the
decision buttons. Thin: it shows a :class:`desktop.app.approvals.Review` and emits intents;
the window runs them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal, SignalInstance
from PySide6.QtGui import QGuiApplication, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.core.events import Merged
from desktop.core.review import APPROVABLE, Review
from desktop.core.stages import ChangeState, Stage
from desktop.core.state import ChangeView
from desktop.ui.theme import accents

__all__ = ["ApprovalPanel", "ReasonDialog", "shows_panel"]

_FIELDS = (("request", "Request"), ("commit", "Commit"), ("target", "Merges into"),
           ("verifiers", "Verifiers"), ("judge", "Judge"), ("artifact", "Build"),
           ("installed", "Installed"), ("cost", "Cost"), ("duration", "Duration"))
SHORT_SHA = 12  # hex digits shown of a commit or a sha256; the whole one is a copy away
_LONG_WORD = re.compile(r"\S{28,}")


def breakable(text: str) -> str:
    """``text`` with a break opportunity (zero-width space) every 24 characters of a word
    longer than 28, so a path or a hash wraps instead of widening the panel."""
    return _LONG_WORD.sub(lambda m: "\u200b".join(
        m.group(0)[i:i + 24] for i in range(0, len(m.group(0)), 24)), text)


def _wrapping(label: QLabel) -> QLabel:
    """A label that wraps to whatever width it gets and never asks for more."""
    label.setWordWrap(True)
    policy = QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    policy.setHeightForWidth(True)
    label.setSizePolicy(policy)
    label.setMinimumWidth(0)
    return label


def shows_panel(view: ChangeView) -> bool:
    """Whether ``view`` has something to approve, a merge to show or a failed merge to explain."""
    if view.state in APPROVABLE or view.state in (ChangeState.MERGING, ChangeState.MERGED):
        return True
    last = view.stages[-1].stage if view.stages else None
    return view.state in (ChangeState.FAILED, ChangeState.INTERRUPTED) and last is Stage.MERGE


class _FitsWidth(QWidget):
    """A scroll area's content whose height follows from its width (wrapped labels):
    QScrollArea sizes its widget from size hints, which know nothing of wrapping."""

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            height = layout.heightForWidth(self.width())
            if height != self.minimumHeight():
                self.setMinimumHeight(height)


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
        self.status = _wrapping(QLabel())
        self.status.setObjectName("approvalStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._status_tone = ""
        self.gates = _wrapping(QLabel())
        self.gates.setObjectName("approvalGates")
        self.gates.setTextFormat(Qt.TextFormat.PlainText)
        self.gates.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fields: dict[str, QLabel] = {}
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setContentsMargins(0, 0, 4, 0)
        self.commit_full = ""  # what Copy puts on the clipboard
        for key, title in _FIELDS:
            value = _wrapping(QLabel())
            value.setObjectName(f"evidence_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setTextFormat(Qt.TextFormat.PlainText)
            self.fields[key] = value
            form.addRow(self.tr(title), self._commit_row(value) if key == "commit" else value)
        body = _FitsWidth()
        body.setObjectName("approvalEvidence")
        body.setLayout(form)
        self.evidence = QScrollArea()
        self.evidence.setObjectName("approvalScroll")
        self.evidence.setWidgetResizable(True)
        self.evidence.setWidget(body)
        self.evidence.setFrameShape(QScrollArea.Shape.NoFrame)
        # The evidence wraps to the panel's width; it never scrolls sideways.
        self.evidence.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
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
        # Two rows of buttons: the decision first; they fit a narrow column beside the diff.
        buttons = QGridLayout()
        buttons.setHorizontalSpacing(6)
        buttons.setVerticalSpacing(4)
        buttons.addWidget(self.approve_button, 0, 0)
        buttons.addWidget(self.changes_button, 0, 1)
        buttons.addWidget(self.reject_button, 1, 0)
        buttons.addWidget(self.install_button, 1, 1)
        buttons.addWidget(self.override_button, 2, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 4)
        layout.setSpacing(4)
        layout.addLayout(head)
        layout.addWidget(self.status)
        layout.addWidget(self.gates)
        layout.addWidget(self.evidence, 1)
        layout.addLayout(buttons)
        self.show_change(None)

    def _button(self, name: str, text: str, signal: SignalInstance) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.setAccessibleName(text.rstrip("…"))
        button.setMinimumWidth(0)
        button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        button.clicked.connect(signal.emit)
        return button

    def _commit_row(self, value: QLabel) -> QWidget:
        """The short commit and a Copy button that copies the whole one."""
        self.copy_commit = QToolButton()
        self.copy_commit.setObjectName("copyCommit")
        self.copy_commit.setText(self.tr("Copy"))
        self.copy_commit.setAccessibleName(self.tr("Copy the full commit"))
        self.copy_commit.setToolTip(self.tr("Copy the full commit hash"))
        self.copy_commit.clicked.connect(self.copy_commit_hash)
        row = QWidget()
        line = QHBoxLayout(row)
        line.setContentsMargins(0, 0, 0, 0)
        line.setSpacing(6)
        value.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        line.addWidget(value)
        line.addWidget(self.copy_commit)
        line.addStretch(1)
        return row

    def copy_commit_hash(self) -> None:
        """Put the whole commit hash on the clipboard (the panel shows its first digits)."""
        if self.commit_full:
            QGuiApplication.clipboard().setText(self.commit_full)
            self.copy_commit.setText(self.tr("Copied"))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "gates"):
            self._restyle()  # the OS switched light/dark: alert colours that read on it
        super().changeEvent(event)

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
        f["request"].setText(breakable(view.request))
        self.commit_full = ev.commit or ""
        f["commit"].setText(ev.commit[:SHORT_SHA] if ev.commit else self.tr("nothing committed yet"))
        f["commit"].setToolTip(ev.commit or "")
        self.copy_commit.setText(self.tr("Copy"))
        self.copy_commit.setVisible(bool(ev.commit))
        f["target"].setText(breakable(review.target))
        f["verifiers"].setText("\n".join(
            f"{'✓' if v.passed else '✗'} {v.name} ({v.seconds:.1f} s)" for v in ev.verifiers)
            or self.tr("no verifier ran on this commit"))
        f["judge"].setText(breakable(ev.verdict.render()) if ev.verdict
                           else self.tr("not judged"))
        a = ev.artifact
        f["artifact"].setText(f"{Path(a.path).name}, {a.size:,} bytes, sha256 "
                              f"{a.sha256[:SHORT_SHA]}" if a
                              else self.tr("no build of this commit"))
        f["artifact"].setToolTip(f"{a.path}\nsha256 {a.sha256}" if a else "")
        i = ev.installed
        f["installed"].setText(
            f"{i.device} ({i.kind}), {_when(i.at)}, took {i.seconds:.1f} s, sha256 "
            f"{i.artifact_sha256[:SHORT_SHA]}" if i else self.tr("not installed on a device"))
        f["installed"].setToolTip(f"sha256 {i.artifact_sha256}" if i else "")
        f["cost"].setText(f"${view.cost_usd:.4f} ({view.input_tokens:,} in / "
                          f"{view.output_tokens:,} out tokens)")
        worked = sum(s.seconds for s in view.stages)
        f["duration"].setText(self.tr("{work:.1f} s of work in {n} stages; {age} since the "
                                      "request").format(work=worked, n=len(view.stages),
                                                        age=_span(view.updated_at - view.created_at)))
        reason = review.block_reason()
        problems = [p for p in review.gates.problems if view.state is not ChangeState.MERGED]
        self.gates.setText(breakable("\n".join(f"• {p}" for p in problems)))
        self.gates.setVisible(bool(problems))
        if self.error:
            self._status(self.error, "alert")
        elif self.merged is not None:
            m = self.merged
            self._status(self.tr("Merged into {remote}/{target} at {sha} ({method}){again}")
                         .format(remote=m.remote, target=m.target,
                                 sha=m.merged_commit[:SHORT_SHA], method=m.method,
                                 again=self.tr(", already merged") if m.already_merged else ""),
                         "ok")
            self.status.setToolTip(m.merged_commit)
        elif view.state is ChangeState.MERGED:
            self._status(self.tr("Merged: {reason}").format(reason=view.reason), "ok")
        elif review.is_void:
            self._status(self.tr("Approval void: the branch moved after the evidence was "
                                 "gathered. Look at the change again."), "alert")
        elif reason:
            self._status(self.tr("Approve is not possible: {why}").format(why=reason),
                         "alert")
        else:
            self._status(self.tr("Ready to approve commit {sha} into {target}").format(
                sha=(ev.commit or "")[:12], target=review.target), "")
        self._enable(reason)

    def show_error(self, text: str) -> None:
        """A failed load, approval or merge: said in the panel, never swallowed."""
        self.error = text
        self._status(text, "alert")
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
    def _status(self, text: str, tone: str) -> None:
        """Say ``text`` in ``tone`` ("", "ok" or "alert")."""
        self.status.setText(breakable(text))
        self.status.setToolTip("")
        self._status_tone = tone
        self._restyle()

    def _restyle(self) -> None:
        hues = accents(self.palette())
        colour = {"ok": hues.ok, "alert": hues.error}.get(self._status_tone)
        self.status.setStyleSheet(f"color: {colour}; font-weight: 600;" if colour else "")
        self.gates.setStyleSheet(f"color: {hues.error}; font-weight: 600;")

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
