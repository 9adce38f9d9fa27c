"""The main window's layout kept across runs in its QSettings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from desktop.ui.window_frame import restore_geometry

if TYPE_CHECKING:
    from PySide6.QtCore import QByteArray, QSettings
    from PySide6.QtWidgets import QSplitter

    from desktop.ui.changes_list import ChangesList
    from desktop.ui.composer import Composer
    from desktop.ui.diff_view import DiffView
    from desktop.ui.preferences import Preferences

__all__ = ["LaidOutWindow", "restore_layout", "save_layout"]


class LaidOutWindow(Protocol):
    """The parts of the main window whose layout is kept (the main window is one)."""

    main: QSplitter
    work: QSplitter
    side: QSplitter
    diff: DiffView
    composer: Composer
    changes: ChangesList
    prefs: Preferences

    def current_id(self) -> str | None: ...

    def saveGeometry(self) -> QByteArray: ...

    def restoreGeometry(self, geometry: QByteArray | bytes | bytearray | memoryview) -> bool: ...

    def saveState(self, version: int = ...) -> QByteArray: ...

    def restoreState(self, state: QByteArray | bytes | bytearray | memoryview,
                     version: int = ...) -> bool: ...


def save_layout(window: LaidOutWindow, s: QSettings) -> None:
    """Geometry, dock state, splitters, selection, diff mode and recent repos."""
    s.setValue("window/geometry", window.saveGeometry())
    s.setValue("window/state", window.saveState())
    for name, splitter in (("main", window.main), ("work", window.work),
                           ("side", window.side), ("diff", window.diff.splitter)):
        s.setValue(f"window/splitter_{name}", splitter.saveState())
    s.setValue("window/selected", window.current_id() or "")
    s.setValue("window/diff_mode", window.diff.mode)
    s.setValue("composer/recent_repos", window.composer.recent_repos())
    s.sync()


def restore_layout(window: LaidOutWindow, s: QSettings) -> None:
    """What :func:`save_layout` kept; the first change is selected when none was."""
    restore_geometry(window, s)
    if (state := s.value("window/state")) is not None:
        window.restoreState(state)
    for name, splitter in (("main", window.main), ("work", window.work),
                           ("side", window.side), ("diff", window.diff.splitter)):
        if (value := s.value(f"window/splitter_{name}")) is not None:
            splitter.restoreState(value)
    window.diff.set_mode(str(s.value("window/diff_mode", "unified")))
    repos = s.value("composer/recent_repos", [])
    repos = repos if isinstance(repos, list) else [repos]  # one entry reads back as a str
    window.composer.set_recent_repos([str(r) for r in repos if r])
    window.composer.set_default_model(window.prefs.default_model)
    selected = str(s.value("window/selected", "") or "")
    if not (selected and window.changes.select(selected)):
        window.changes.step(0)
