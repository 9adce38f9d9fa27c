"""Start-up in two stages: the frame (saved geometry, a skeleton) paints before the agent
stack loads; ``complete`` then builds the real window over the same top-level widget."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSettings
from PySide6.QtWidgets import QApplication

from desktop.app.services import build_services
from desktop.ui.first_paint import wait_for_first_paint
from desktop.ui.launch import open_window
from desktop.ui.main_window import MainWindow
from desktop.ui.window_frame import StartupSkeleton
from tests.ui.conftest import close_window, wait_until
from tests.ui.test_notifications import created


def _saved_geometry(settings: QSettings, rect: QRect) -> None:
    probe = MainWindow(None, None)
    probe.setGeometry(rect)
    settings.setValue("window/geometry", probe.saveGeometry())
    probe.deleteLater()


def test_frame_paints_at_the_saved_place_with_a_skeleton(
    ui_settings: QSettings, qapp: QApplication,
) -> None:
    # Not a qasync coroutine: start-up waits for the paint before the asyncio loop exists.
    _saved_geometry(ui_settings, QRect(40, 50, 700, 500))
    frame = MainWindow(None, ui_settings)
    frame.show()
    assert wait_for_first_paint(frame, 5000), "the frame never painted"
    assert isinstance(frame.centralWidget(), StartupSkeleton)
    assert (frame.width(), frame.height()) == (700, 500)
    assert not frame.ready and not hasattr(frame, "bridge")  # nothing of the agent stack yet
    frame.close()  # closed while starting: it just goes, there is nothing to cancel
    assert frame.quitting and not frame.isVisible()
    frame.deleteLater()


async def test_complete_builds_the_window_over_the_painted_frame(
    ui_settings: QSettings, qapp: QApplication,
) -> None:
    qapp.setQuitOnLastWindowClosed(False)
    services = build_services()
    for cid in ("c1", "c2"):
        services.journal.append(created(cid))
    frame = MainWindow(None, ui_settings)
    frame.resize(900, 600)
    frame.show()
    window = open_window(services, ui_settings, window=frame)
    try:
        assert window is frame and window.ready
        assert not isinstance(window.centralWidget(), StartupSkeleton)
        assert window.centralWidget() is window.main
        assert window.width() == 900  # completing does not move or resize the window
        await wait_until(lambda: window.changes.model.rowCount() == 2, what="history listed")
        assert "approve" in window.actions_by_id and window.menuBar().actions()
    finally:
        await close_window(window, services)
