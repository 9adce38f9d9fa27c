"""The parts of the main window that its intents (``window_approval``, ``window_dialogs``,
``window_events``, ``window_requests``, ``window_quit``) use, as a Protocol: the intents are mixed into the window, and typing ``self`` with this
lets mypy check them without importing the window (which imports them)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    import asyncio

    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QDialog, QStatusBar, QWidget

    from desktop.ui.bridge import Bridge
    from desktop.ui.composer import Composer

__all__ = ["WindowParts"]

T = TypeVar("T")


class WindowParts(Protocol):
    """What every intent of the main window needs (the main window is one)."""

    bridge: Bridge
    composer: Composer
    actions_by_id: dict[str, QAction]
    active_dialog: QDialog | None  # the open dialog, kept so it is not collected

    def statusBar(self) -> QStatusBar: ...

    def tr(self, sourceText: str, /, disambiguation: str | None = ..., n: int = ...) -> str: ...

    def window(self) -> QWidget:
        """The window itself (it is top level): the parent of the intents' dialogs."""
        ...

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]: ...
