"""`honk` with no arguments: the window, on one asyncio loop that is Qt's (qasync)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import traceback
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

__all__ = ["exit_after_first_paint", "main", "run_gui"]

log = logging.getLogger("honk.gui")


def install_excepthook() -> None:
    """Log an uncaught error and show it, instead of Qt aborting silently."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught error:\n%s", text)
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "Honk", f"Unexpected error: {value}")
            box.setDetailedText(text)
            box.open()

    sys.excepthook = hook


async def main() -> int:
    """Build the services and the window; return when the person quits."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.app import build_services
    from desktop.ui.main_window import MainWindow

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    services = build_services()
    settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, settings)
    done = asyncio.get_running_loop().create_future()
    window.finished.connect(lambda: done.done() or done.set_result(None))
    app.aboutToQuit.connect(lambda: done.done() or done.set_result(None))
    window.start()
    if os.environ.get("HONK_EXIT_AFTER_FIRST_PAINT") == "1":
        exit_after_first_paint(window)
    window.show()
    try:
        await done
    finally:
        if not window.quitting:
            window.quitting = True
            await window.bridge.shutdown()
        services.close()
    return 0


def exit_after_first_paint(window: QWidget) -> None:
    """Opt-in start-up probe (bench/startup.py): once the window's first paint is done,
    print ``HONK_FIRST_PAINT <unix time>`` and quit normally."""
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    class FirstPaint(QObject):
        seen = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and not self.seen:
                self.seen = True
                QTimer.singleShot(0, self.report)  # runs once this paint pass has finished
            return False

        def report(self) -> None:
            print(f"HONK_FIRST_PAINT {time.time():.6f}", flush=True)
            QApplication.quit()

    window.installEventFilter(FirstPaint(window))


def run_gui() -> int:
    """Start Qt, then run :func:`main` on a qasync loop."""
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.icons import icon, stylesheet
    from desktop.ui.pyside_fix import protect_none

    protect_none()  # before any Qt work: PySide6 6.12 on 3.11 would abort after ~5,000 calls

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    app.setApplicationName("Honk")
    app.setOrganizationName("Honk")
    app.setDesktopFileName("honk")
    app.setWindowIcon(icon("honk"))
    app.setQuitOnLastWindowClosed(False)  # closing the window leaves agents running in the tray
    app.setStyleSheet(stylesheet())
    install_excepthook()
    try:
        # asyncio.Runner takes loop_factory on 3.11 too (asyncio.run only from 3.12).
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            return runner.run(main())
    except asyncio.CancelledError:
        return 0
