"""`honk` with no arguments: the window, on one asyncio loop that is Qt's (qasync)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QWidget

    from desktop.app import Services
    from desktop.demo import DemoEnvironment
    from desktop.ui.main_window import MainWindow

__all__ = ["demo_main", "exit_after_first_paint", "main", "open_window", "run_gui"]

DEMO_PACE_S = 0.02  # slow enough that the demo's edits visibly stream

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


def open_window(services: Services, settings: QSettings,
                demo: DemoEnvironment | None = None) -> MainWindow:
    """The started main window; with ``demo``, labelled DEMO and prefilled with its stand-ins."""
    from desktop.ui.main_window import MainWindow

    window = MainWindow(services, settings)
    window.start()
    if demo is not None:
        window.set_demo(str(demo.repo), demo.serial,
                        [r.text for r in demo.suggested_requests])
    return window


async def main(env: Mapping[str, str] | None = None, demo: DemoEnvironment | None = None
               ) -> int:
    """Build the services (from ``env``, else the process's) and the window; return when the
    person quits."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.adapters.locks import AppLock, LockBusy
    from desktop.app import build_services

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    services = build_services(env)
    app_lock = AppLock(services.home)
    try:
        app_lock.acquire()
    except LockBusy as exc:  # one window per Honk home; a second says so and leaves
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.warning(None, "Honk", str(exc))
        services.close()
        return 1
    settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
    window = open_window(services, settings, demo)
    done = asyncio.get_running_loop().create_future()
    window.finished.connect(lambda: done.done() or done.set_result(None))
    app.aboutToQuit.connect(lambda: done.done() or done.set_result(None))
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
        app_lock.release()
    return 0


async def demo_main(pace_s: float = DEMO_PACE_S) -> int:
    """`honk demo`: the window on the demo's stand-ins and its throw-away HONK_HOME (never
    the person's); everything the demo started is stopped and deleted on quit."""
    from desktop.demo import DemoEnvironment

    demo = DemoEnvironment(pace_s=pace_s)
    await asyncio.to_thread(demo.__enter__)  # copies a repo, starts adb: blocking work
    try:
        return await main(demo.env, demo)
    finally:
        await asyncio.to_thread(demo.close)


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


def run_gui(*, demo: bool = False) -> int:
    """Start Qt, then run :func:`main` (or :func:`demo_main`) on a qasync loop."""
    # The pure-Python side first: once PySide6 is loaded, its import hook inspects every
    # module imported after it, which costs start-up time for nothing on these.
    import importlib

    for name in ("desktop.app", "desktop.reinstall"):
        importlib.import_module(name)
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.gc_guard import MainThreadCollector
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
    collector = MainThreadCollector(app)  # Qt objects must never be freed by a worker thread
    try:
        # asyncio.Runner takes loop_factory on 3.11 too (asyncio.run only from 3.12).
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            return runner.run(demo_main() if demo else main())
    except asyncio.CancelledError:
        return 0
    finally:
        collector.stop()
