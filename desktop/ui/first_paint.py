"""Run a callback once a widget's first paint has finished (start-up staging and the
start-up probe of bench/startup.py)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QWidget

__all__ = ["after_first_paint", "after_paint_or_timeout", "wait_for_first_paint"]


class _FirstPaint(QObject):
    def __init__(self, widget: QWidget, callback: Callable[[], None]) -> None:
        super().__init__(widget)
        self._callback = callback
        self._seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._seen:
            self._seen = True
            QTimer.singleShot(0, self._callback)  # runs once this paint pass has finished
            # Done: the widget's later events no longer pass through Python (Qt allows
            # removing a filter from inside its own eventFilter).
            watched.removeEventFilter(self)
            self.deleteLater()
        return False


def after_first_paint(widget: QWidget, callback: Callable[[], None]) -> None:
    """Call ``callback`` (once) right after ``widget``'s first paint pass."""
    widget.installEventFilter(_FirstPaint(widget, callback))


def after_paint_or_timeout(widget: QWidget, callback: Callable[[], None],
                           timeout_ms: int) -> None:
    """Call ``callback`` once: right after ``widget``'s next paint pass, or after
    ``timeout_ms`` if it has not painted by then (hidden, or no display that paints)."""
    done: list[bool] = []

    def once() -> None:
        if not done:
            done.append(True)
            callback()

    after_first_paint(widget, once)
    QTimer.singleShot(timeout_ms, widget, once)


def wait_for_first_paint(widget: QWidget, timeout_ms: int) -> bool:
    """Run Qt's events until ``widget`` (shown) has painted once, or ``timeout_ms`` passed.

    Only before the asyncio loop starts: a nested Qt loop inside a qasync coroutine would
    re-enter tasks. True if it painted."""
    loop = QEventLoop()
    painted: list[bool] = []

    def on_paint() -> None:
        painted.append(True)
        loop.quit()

    after_first_paint(widget, on_paint)
    QTimer.singleShot(timeout_ms, loop.quit)  # no display to paint on: go on without it
    loop.exec()
    return bool(painted)
