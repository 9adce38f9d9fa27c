"""The composer's device picker follows adb live (the real adb and its server against
virtual phones): devices come, go, and what cannot be used says why."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QApplication

from desktop.app.device_choice import DeviceChoice
from desktop.app.services import Services, build_services
from desktop.sim.stand_ins import free_port
from desktop.ui.bridge import Bridge
from desktop.ui.composer import Composer
from desktop.ui.first_paint import after_first_paint
from desktop.ui.launch import open_window
from desktop.ui.live_wiring import connect_devices
from desktop.ui.main_window import MainWindow
from tests.helpers.adb import AdbServer, DeviceFactory
from tests.ui.conftest import close_window, wait_until


def _entries(composer: Composer) -> list[tuple[str, object, bool, str]]:
    """(label, serial, enabled, tooltip) of every picker row."""
    combo = composer.device
    model = combo.model()
    assert isinstance(model, QStandardItemModel)
    out = []
    for row in range(combo.count()):
        item = model.item(row)
        out.append((combo.itemText(row), combo.itemData(row), bool(item and item.isEnabled()),
                    str(combo.itemData(row, Qt.ItemDataRole.ToolTipRole) or "")))
    return out


def _serials(composer: Composer) -> list[object]:
    return [serial for _, serial, _, _ in _entries(composer)]


@pytest.fixture
def adb_services(adb_server: AdbServer, tmp_path: Path) -> Iterator[Services]:
    services = build_services({**adb_server.env, "HONK_HOME": str(tmp_path / "home"),
                               "HONK_RETRY_BACKOFF_S": "0.05", "HONK_DEVICE_WATCH": "1"})
    yield services
    services.close()


async def test_devices_appear_and_go_in_the_picker(
    adb_server: AdbServer, device_factory: DeviceFactory, adb_services: Services,
    qapp: object
) -> None:
    first, _ = device_factory(model="Pixel 8", android_version="15")
    await asyncio.to_thread(adb_server.connect, first)
    bridge = Bridge(adb_services)
    bridge.start()
    composer = Composer()
    connect_devices(bridge, composer)
    bridge.watch_devices()
    await wait_until(lambda: first.address in _serials(composer), what="the first phone listed")
    label, _, enabled, _ = _entries(composer)[_serials(composer).index(first.address)]
    assert label == f"Pixel 8 ({first.address}) · Android 15" and enabled
    assert _entries(composer)[0][:3] == ("No device", "", True)
    composer.device.setCurrentIndex(_serials(composer).index(first.address))
    composer.device.activated.emit(composer.device.currentIndex())  # as a person's pick

    second, second_thread = device_factory(model="Galaxy S24", android_version="14")
    await asyncio.to_thread(adb_server.connect, second)
    await wait_until(lambda: second.address in _serials(composer), what="the second phone")
    assert composer.options().device == first.address  # the choice survives the change

    await asyncio.to_thread(second_thread.stop)  # unplugged: gone, or offline and disabled
    def second_unusable() -> bool:
        rows = [r for r in _entries(composer) if r[1] == second.address]
        return not rows or (not rows[0][2] and "offline" in rows[0][0] and rows[0][3] != "")
    await wait_until(second_unusable, what="the stopped phone gone or offline")
    await asyncio.to_thread(adb_server.run, "disconnect", second.address)
    await wait_until(lambda: second.address not in _serials(composer), what="it gone")
    assert composer.options().device == first.address

    await bridge.shutdown()
    assert bridge._device_watch is not None and bridge._device_watch.done()


async def test_an_unauthorized_phone_is_listed_disabled_with_what_to_do(
    adb_server: AdbServer, device_factory: DeviceFactory, adb_services: Services,
    qapp: object
) -> None:
    phone, _ = device_factory()
    phone.faults.require_auth = True
    await asyncio.to_thread(adb_server.connect, phone, "unauthorized")
    bridge = Bridge(adb_services)
    bridge.start()
    composer = Composer()
    connect_devices(bridge, composer)
    bridge.watch_devices()
    await wait_until(lambda: phone.address in _serials(composer), what="the phone listed")
    label, _, enabled, tip = _entries(composer)[_serials(composer).index(phone.address)]
    assert label.endswith("· unauthorized") and not enabled
    assert "Allow USB debugging" in tip
    assert composer.options().device is None
    await bridge.shutdown()


async def test_adb_missing_is_one_disabled_entry_and_retried(
    tmp_path: Path, qapp: object
) -> None:
    services = build_services({"HONK_HOME": str(tmp_path / "home"),
                               "HONK_ADB": str(tmp_path / "no-adb"),
                               "ANDROID_ADB_SERVER_PORT": str(free_port()),
                               "HONK_RETRY_BACKOFF_S": "0.05", "PATH": ""})
    bridge = Bridge(services)
    bridge.start()
    composer = Composer()
    composer.set_device("kept-serial", "Kept phone")
    seen: list[list[DeviceChoice]] = []
    bridge.devices_changed.connect(seen.append)
    connect_devices(bridge, composer)
    bridge.watch_devices()
    await wait_until(lambda: len(seen) >= 2, what="a retry")
    rows = _entries(composer)
    problem = [r for r in rows if r[1] is None]
    assert len(problem) == 1 and not problem[0][2]
    assert "adb not found at" in problem[0][0] and "retrying" in problem[0][0]
    assert "no-adb" in problem[0][3]
    assert composer.options().device == "kept-serial"  # nothing the person chose is lost
    await bridge.shutdown()
    assert bridge._device_watch is not None and bridge._device_watch.done()
    services.close()


async def test_the_window_starts_watching_only_after_its_complete_first_paint(
    adb_server: AdbServer, device_factory: DeviceFactory, adb_services: Services,
    ui_settings: QSettings, qapp: QApplication,
) -> None:
    # Watching loads the adb and iOS adapters: the person sees the complete window first.
    phone, _ = device_factory(model="Pixel 8", android_version="15")
    await asyncio.to_thread(adb_server.connect, phone)
    qapp.setQuitOnLastWindowClosed(False)
    frame = MainWindow(None, ui_settings)
    frame.show()
    window = open_window(adb_services, ui_settings, window=frame)
    try:
        assert window.bridge._device_watch is None  # completed, not yet painted
        # Installed after the window's own: called first, at the same paint.
        at_paint: list[bool] = []
        after_first_paint(window.main, lambda: at_paint.append(
            window.bridge._device_watch is None))
        await wait_until(lambda: phone.address in _serials(window.composer), timeout=30,
                         what="the phone listed once the window has painted")
        assert at_paint == [True]
    finally:
        await close_window(window)  # the fixture closes the services
