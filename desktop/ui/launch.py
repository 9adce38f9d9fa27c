"""`honk` with no arguments: the window, on one asyncio loop that is Qt's (qasync)."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING

# asyncio (30 ms) and the agent stack load after the frame's first paint, not at import.
if TYPE_CHECKING:
    from pathlib import Path

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QWidget

    from desktop.app.services import Services
    from desktop.demo.environment import DemoEnvironment
    from desktop.ui.main_window import MainWindow
    from desktop.ui.phone_window import PhoneWindow

__all__ = ["demo_main", "exit_after_first_paint", "main", "open_phone_window", "open_window",
           "probe_stage", "run_gui", "show_running"]

DEMO_PACE_S = 0.02  # slow enough that the demo's edits visibly stream
FIRST_PAINT_WAIT_MS = 500  # without a display that paints, start anyway after this


def probe_stage(name: str) -> None:
    """In the start-up probe (HONK_EXIT_AFTER_FIRST_PAINT=1, bench/startup.py), print
    ``HONK_STAGE <name> <unix time> <CPU seconds>`` so the bench can say where the time
    between the marks goes."""
    if os.environ.get("HONK_EXIT_AFTER_FIRST_PAINT") == "1":
        print(f"HONK_STAGE {name} {time.time():.6f} {time.process_time():.6f}", flush=True)


def install_excepthook() -> None:
    """Log an uncaught error and show it, instead of Qt aborting silently."""

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        import logging
        import traceback

        text = "".join(traceback.format_exception(kind, value, tb))
        logging.getLogger("honk.gui").error("uncaught error:\n%s", text)
        from PySide6.QtWidgets import QApplication, QMessageBox

        if QApplication.instance() is not None:
            box = QMessageBox(QMessageBox.Icon.Critical, "Honk", f"Unexpected error: {value}")
            box.setDetailedText(text)
            box.open()

    sys.excepthook = hook


def open_window(services: Services, settings: QSettings,
                demo: DemoEnvironment | None = None,
                window: MainWindow | None = None) -> MainWindow:
    """The started main window (``window``'s painted frame completed, or a new one); with
    ``demo``, labelled DEMO and prefilled with its stand-ins."""
    from desktop.ui.main_window import MainWindow

    if window is None:
        window = MainWindow(services, settings)
    else:
        window.complete(services, settings)
    window.start()
    if demo is not None:
        window.set_demo(str(demo.repo), demo.serial,
                        [r.text for r in demo.suggested_requests])
    return window


async def main(window: MainWindow, env: Mapping[str, str] | None = None,
               settings: QSettings | None = None, demo: DemoEnvironment | None = None, *,
               after_warm_up: Callable[[], object] | None = None) -> int:
    """Build the services (from ``env``, else the process's) over the painted ``window``,
    warm the agent stack up off the loop, call ``after_warm_up`` (start-up is over), and
    return when the person quits."""
    probe_stage("loop")  # asyncio and qasync imported, the loop running
    import asyncio

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.app.services import build_services

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    services = build_services(env)
    probe_stage("services")  # imported (journal, events, config) and built
    phone: PhoneWindow | None = None
    try:
        if window.quitting:  # closed while it was starting
            return 0
        if settings is None:
            settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
        open_window(services, settings, demo, window)
        probe_stage("window")  # widgets built, history listed, actions live
        if demo is not None:
            phone = open_phone_window(services, demo, window)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def finish() -> None:
            if not done.done():
                done.set_result(None)

        window.finished.connect(finish)
        app.aboutToQuit.connect(finish)
        if os.environ.get("HONK_EXIT_AFTER_FIRST_PAINT") == "1":
            exit_after_complete_paint(window)
        else:
            if demo is None:  # a second `honk` for this home now brings this window forward
                from desktop.ui.single_instance import ActivationServer

                ActivationServer(services.home, window.show_window, window).listen()
            await warm_up(services)
            if after_warm_up is not None:
                after_warm_up()
        await done
    finally:
        if phone is not None:  # before the services it uses go
            await phone.stop()
            phone.close()
            phone.deleteLater()
        if window.ready and not window.quitting:
            window.quitting = True
            await window.bridge.shutdown()
        services.close()
    return 0


def open_phone_window(services: Services, demo: DemoEnvironment,
                      window: MainWindow) -> PhoneWindow | None:
    """The demo's "Phone: Slack" window, serving the demo repo to the loopback Slack, shown
    beside ``window``."""
    from desktop.demo.phone import PhoneLeg
    from desktop.ui.phone_window import PhoneWindow

    if demo.slack is None:
        return None
    phone = PhoneWindow(PhoneLeg(services, demo.slack, demo.repo, demo.serial))
    frame = window.frameGeometry()
    screen = window.screen().availableGeometry()
    x = frame.right() + 8
    if x + phone.width() > screen.right():  # no room on the right: overlap its right edge
        x = max(screen.left(), screen.right() - phone.width())
    phone.move(x, frame.top())
    phone.show()
    phone.start()
    return phone


async def warm_up(services: Services) -> None:
    """The first run's imports and client, now, on a worker thread a step at a time: a
    keystroke never waits for an import or the keyring."""
    from desktop.app.warmup import warm_up as warm_up_off_loop

    await warm_up_off_loop(services.context)


async def demo_main(window: MainWindow, pace_s: float = DEMO_PACE_S, *,
                    remote_build: bool = False,
                    after_warm_up: Callable[[], object] | None = None) -> int:
    """`honk demo`: the window on the demo's stand-ins and its throw-away HONK_HOME (never
    the person's); everything the demo started is stopped and deleted on quit."""
    import asyncio

    from desktop.demo.environment import DemoEnvironment

    demo = DemoEnvironment(pace_s=pace_s, remote_build=remote_build)
    await asyncio.to_thread(demo.__enter__)  # copies a repo, starts adb: blocking work
    try:
        return await main(window, demo.env, demo=demo, after_warm_up=after_warm_up)
    finally:
        await asyncio.to_thread(demo.close)


def exit_after_first_paint(window: QWidget) -> None:
    """Opt-in start-up probe (bench/startup.py): print ``HONK_FIRST_PAINT <unix time> <CPU
    seconds>`` once the window's first paint is done; :func:`main` prints ``HONK_READY`` (the
    same fields) once the complete window has painted, then quits normally."""
    from desktop.ui.first_paint import after_first_paint

    after_first_paint(window, lambda: print(
        f"HONK_FIRST_PAINT {time.time():.6f} {time.process_time():.6f}", flush=True))


def exit_after_complete_paint(window: MainWindow) -> None:
    """The probe's second mark: ``HONK_READY <unix time> <CPU seconds>`` once the complete
    window has painted (what a person sees, and what bench/same_widgets.py's floor measures),
    then quit."""
    from desktop.ui.first_paint import after_first_paint

    def ready() -> None:
        print(f"HONK_READY {time.time():.6f} {time.process_time():.6f}", flush=True)
        window.request_quit()

    # The splitter the widgets were built in is new: its first paint is the complete
    # layout's. The window's own next paint may be only its toolbar.
    after_first_paint(window.main, ready)


def paint_frame(home: Path | None) -> tuple[MainWindow, QSettings | None]:
    """The main window's frame at its saved geometry (from ``home``), shown and painted
    before the agent stack loads."""
    from PySide6.QtCore import QSettings

    from desktop.ui.first_paint import wait_for_first_paint
    from desktop.ui.main_window import MainWindow

    settings = None
    if home is not None:
        settings = QSettings(str(home / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(None, settings)
    if os.environ.get("HONK_EXIT_AFTER_FIRST_PAINT") == "1":
        exit_after_first_paint(window)
    window.show()
    wait_for_first_paint(window, FIRST_PAINT_WAIT_MS)
    return window, settings


def show_running(home: Path, busy: str) -> int:
    """Another Honk holds ``home``: ask it to show its window (0), or, when it does not
    answer, say so (1)."""
    from PySide6.QtWidgets import QMessageBox

    from desktop.ui.single_instance import activate_running

    if activate_running(home):
        print(f"Honk is already running for {home}: its window is in front now.",
              file=sys.stderr)
        return 0
    QMessageBox.warning(None, "Honk", busy)
    return 1


def run_gui(*, demo: bool = False, demo_remote_build: bool = False) -> int:
    """Start Qt and paint the window's frame; then, on a qasync loop, load the rest and run
    :func:`main` (or :func:`demo_main`). One Honk per home: a second launch for the same
    home shows the first one's window and leaves. ``demo_remote_build``: the demo builds on
    its loopback GitHub Actions."""
    from PySide6.QtWidgets import QApplication

    from desktop.app.errors import AppLock, LockBusy
    from desktop.app.home import default_home
    from desktop.ui.pyside_fix import protect_none

    protect_none()  # before any Qt work: PySide6 6.12 on 3.11 would abort after ~5,000 calls

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    probe_stage("qt")  # PySide6 imported, the QApplication made
    if demo:  # the demo's home is made by the demo; it never locks the person's
        return _run_app(app, None, demo=True, remote_build=demo_remote_build)
    home = default_home(os.environ)
    home.mkdir(parents=True, exist_ok=True)
    app_lock = AppLock(home)
    try:
        app_lock.acquire()
    except LockBusy as exc:
        return show_running(home, str(exc))
    try:
        return _run_app(app, home, demo=False)
    finally:
        app_lock.release()


def _run_app(app: QApplication, home: Path | None, *, demo: bool,
             remote_build: bool = False) -> int:
    from desktop.ui.gc_guard import MainThreadCollector
    from desktop.ui.icons import icon, stylesheet
    from desktop.ui.theme import SchemeFollower

    app.setApplicationName("Honk")
    app.setOrganizationName("Honk")
    app.setDesktopFileName("honk")
    app.setWindowIcon(icon("honk"))
    app.setQuitOnLastWindowClosed(False)  # closing the window leaves agents running in the tray
    app.setStyleSheet(stylesheet())
    SchemeFollower(app)  # light or dark as the OS says, switching live (owned by the app)
    install_excepthook()
    collector = MainThreadCollector(app)  # Qt objects must never be freed by a worker thread
    try:
        window, settings = paint_frame(home)
        import asyncio  # after the first paint: see paint_frame
        import logging

        import qasync

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        # asyncio.Runner takes loop_factory on 3.11 too (asyncio.run only from 3.12).
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            try:
                # Start-up's objects then leave every collection (see gc_guard).
                done = collector.freeze
                return runner.run(
                    demo_main(window, remote_build=remote_build, after_warm_up=done) if demo
                    else main(window, None, settings, after_warm_up=done))
            except asyncio.CancelledError:
                return 0
    finally:
        collector.stop()
