"""UI tests: real widgets (offscreen), a qasync loop per test, the scripted Messages API (the
``scripted`` and ``swedish_api`` fixtures of tests/helpers/scripted_api.py)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.app.services import Services, build_services
from desktop.ui.main_window import MainWindow
from desktop.ui.notifier import RecordingNotifier
from desktop.ui.pyside_fix import protect_none
from tests.helpers.gitrepo import RepoWithRemote

protect_none()  # PySide6 6.12 on CPython 3.11 loses a reference to None per void Qt call

# pytest-qt's session QApplication is made before function fixtures set the platform.
os.environ["QT_QPA_PLATFORM"] = "offscreen"

CONFIG = """
[agent]
model = "claude-sonnet-4-6"
max_turns = 10
verify_rounds = 1

[judge]
enabled = false

[[verify]]
name = "greeting-is-swedish"
command = ["python3", "-c", "import sys; t = open('app/greeting.py').read(); sys.exit(0 if 'Hej' in t else 1)"]
timeout = 30
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The offscreen platform says so whenever a top-level window gets size hints; harmless.
    for item in items:
        if "tests/ui/" in item.nodeid:
            item.add_marker(pytest.mark.qt_log_ignore(
                "does not support propagateSizeHints", "does not support raise"))


def _qasync_loop() -> asyncio.AbstractEventLoop:
    app = QApplication.instance() or QApplication([])
    return qasync.QEventLoop(app)


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Every async UI test runs on Qt's loop, as the app does."""
    return {"qasync": _qasync_loop}


@pytest.fixture(autouse=True, scope="session")
def _collect_on_the_gui_thread() -> Iterator[None]:
    # As the app does (desktop/ui/gc_guard.py): a collection that a worker thread triggers
    # would free Qt objects there. Collect here, between tests, on the GUI thread instead.
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    gc.collect()
    if was_enabled:
        gc.enable()


@pytest.fixture(autouse=True)
def _collect_after_each_test() -> Iterator[None]:
    yield
    gc.collect()


@pytest.fixture(autouse=True)
def _no_keyring_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("HONK_RETRY_BACKOFF_S", "0.01")
    # No adb server on the default port from window tests; the picker's own tests turn it on.
    monkeypatch.setenv("HONK_DEVICE_WATCH", "0")
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)


@pytest.fixture
def configured(repo: RepoWithRemote) -> RepoWithRemote:
    repo.write("honk.toml", CONFIG)
    repo.commit_all("add honk.toml")
    return repo


@pytest.fixture
def ui_settings(tmp_path: Path) -> QSettings:
    return QSettings(str(tmp_path / "honk-home" / "ui.ini"), QSettings.Format.IniFormat)


class Harness:
    """A started main window with a recording notifier; ``close`` shuts it down cleanly."""

    def __init__(self, services: Services, settings: QSettings) -> None:
        self.services = services
        self.recorder = RecordingNotifier()
        self.window = MainWindow(services, settings, extra_notifiers=[self.recorder],
                                 use_dbus=False)
        self.answers: list[bool] = []
        self.asked: list[str] = []
        self.window.ask = self._ask
        self.opened: list[Any] = []
        self.window.open_url = lambda url: self.opened.append(url) or True
        self.window.start()
        self.window.show()
        self.window.activateWindow()

    async def active(self) -> None:
        """Shortcuts fire only in the active window."""
        self.window.activateWindow()
        await wait_until(self.window.isActiveWindow, what="the window active")

    def _ask(self, title: str, text: str) -> bool:
        self.asked.append(f"{title}: {text}")
        return self.answers.pop(0) if self.answers else True

    async def close(self) -> None:
        await close_window(self.window, self.services)


async def close_window(window: MainWindow, services: Services | None = None) -> None:
    """Shut a completed window down as quitting does (its runs cancelled), hide its tray
    icon, close ``services`` and delete the window."""
    if not window.quitting:
        window.quitting = True
        await window.bridge.shutdown()
    window.close()
    window.tray.icon.hide()
    if services is not None:
        services.close()
    window.deleteLater()
    await asyncio.sleep(0)


async def wait_until(condition: Callable[[], object], timeout: float = 10.0, what: str = "") -> None:
    """Poll on the running loop (never qtbot.wait* inside async tests)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


@pytest.fixture
def harness_factory(ui_settings: QSettings, qapp: QApplication) -> Iterator[Callable[[], Harness]]:
    made: list[Harness] = []
    qapp.setQuitOnLastWindowClosed(False)  # as the app: closing the window keeps the loop

    def make() -> Harness:
        h = Harness(build_services(), ui_settings)
        made.append(h)
        return h

    yield make
    for h in made:
        if not h.window.quitting:  # a test failed mid-way: still close the journal
            h.services.close()
