"""The composer's intents of the main window: a new request, send, a follow-up and cancel
(a mixin of :class:`~desktop.ui.main_window.MainWindow`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QApplication, QPlainTextEdit

from desktop.ui.window_parts import WindowParts

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings

    from desktop.ui.changes_list import ChangesList
    from desktop.ui.composer import FollowUp
    from desktop.ui.diff_view import DiffView

__all__ = ["RequestIntents", "RequestWindow"]


class RequestWindow(WindowParts, Protocol):
    """The window the intents are mixed into: the boxes they read, and their helpers."""

    settings: QSettings
    changes: ChangesList
    diff: DiffView
    follow_up: FollowUp
    _select_next: str | None  # a change just sent: selected when it is first listed

    def current_id(self) -> str | None: ...

    def send_request(self) -> None: ...

    def send_follow_up(self) -> None: ...

    async def _send_request(self) -> None: ...

    def _update_follow_up(self) -> None: ...


class RequestIntents:
    """Mixed into the main window (see :class:`RequestWindow` for what it needs)."""

    # The window's, declared here too: mypy would otherwise give the mixin an attribute of
    # the type first assigned below, which clashes with the window's.
    _select_next: str | None

    def new_request(self: RequestWindow) -> None:
        self.composer.set_folded(False)
        self.composer.request.setFocus()
        self.composer.request.selectAll()

    def send(self: RequestWindow) -> None:
        """Ctrl+Enter: the follow-up box when it has focus, else the request composer."""
        if self.follow_up.edit.hasFocus():
            self.send_follow_up()
        else:
            self.send_request()

    def send_request(self: RequestWindow) -> None:
        self._spawn(self._send_request())

    async def _send_request(self: RequestWindow) -> None:
        text = self.composer.request.toPlainText()
        repo = self.composer.repo_path()
        if repo is None:
            self.composer.show_error(self.tr("Choose a repository first."))
            return
        self.composer.send_button.setEnabled(False)
        try:
            change_id = await self.bridge.send_request(text, repo, self.composer.options())
        except Exception as exc:  # usage, config, git or key problems: say it where they typed
            self.composer.show_error(str(exc))
            return
        finally:
            self.composer.send_button.setEnabled(True)
        self.composer.clear_request()
        self.changes.view.setFocus()  # off the request box, so the composer folds away
        self.composer.set_recent_repos(self.composer.recent_repos())
        self.settings.setValue("composer/recent_repos", self.composer.recent_repos())
        self._select_next = change_id
        self.diff.follow = True
        if not self.changes.select(change_id):
            return
        self._select_next = None

    def send_follow_up(self: RequestWindow) -> None:
        cid = self.current_id()
        text = self.follow_up.edit.toPlainText().strip()
        if not cid or not text:
            return
        try:
            self.bridge.revise(cid, text)
        except Exception as exc:
            self.statusBar().showMessage(str(exc), 10_000)
            return
        self.follow_up.edit.clear()
        self._update_follow_up()

    def cancel(self: RequestWindow) -> None:
        focus = QApplication.focusWidget()
        if isinstance(focus, QPlainTextEdit) and not focus.isReadOnly():
            self.changes.view.setFocus()  # Esc while typing leaves the editor, cancels nothing
            return
        cid = self.current_id()
        if cid and self.bridge.cancel(cid):
            self.statusBar().showMessage(self.tr("Cancelling change {id}…").format(id=cid), 5000)
