"""The streamed install Honk speaks over the adb server's socket, against the real adb server
and virtual devices: what reaches the device, progress, and every way it can go wrong."""

# Fixtures are imported by name until tests/conftest.py lists tests.helpers.adb as a plugin;
# their parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from desktop.adapters.android.devices import AndroidDevices, DeviceError
from desktop.adapters.android.install import install_service, stream_install
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.stand_ins import write_apk
from tests.helpers.adb import (  # noqa: F401
    AdbServer,
    DeviceFactory,
    adb_server,
    device_factory,
    virtual_device,
)


def _devices(server: AdbServer, **kwargs: str) -> AndroidDevices:
    return AndroidDevices(server_port=server.port, env=server.env, **kwargs)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _installs(device: VirtualAdbDevice) -> list[str]:
    return [s for s in device.services_seen if "install" in s]


async def test_streams_over_the_socket_with_progress_to_100(
        adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app-debug.apk", payload=5 << 20)
    size = apk.stat().st_size
    # No adb binary at all: the server is running, so the install never needs the client.
    devices = _devices(adb_server, adb_path=str(tmp_path / "no-adb-here"))
    steps: list[tuple[float, str]] = []
    result = await devices.install(virtual_device.address, apk,
                                   lambda f, s: steps.append((f, s)))
    assert _installs(virtual_device) == [f"exec:cmd package 'install' -S {size}"]
    assert virtual_device.packages["com.example.honk"].sha256 == result.sha256 == _sha(apk)
    assert virtual_device.packages["com.example.honk"].size == result.bytes == size
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert 4 <= len(steps) <= 45  # byte progress, but not one report per chunk
    assert any(s.startswith("Sent 1.0 of 5.") for _, s in steps), steps
    assert "the device is installing it" in steps[-2][1]
    assert steps[-1][1].startswith(f"Installed on {virtual_device.address} in ")


async def test_abb_exec_when_the_device_offers_it(adb_server: AdbServer,
                                                  device_factory: DeviceFactory,
                                                  tmp_path: Path) -> None:
    device, _ = device_factory(features=("shell_v2", "cmd", "abb_exec"))
    await asyncio.to_thread(adb_server.connect, device)
    apk = write_apk(tmp_path / "app.apk", package="com.example.abb")
    result = await _devices(adb_server).install(device.address, apk)
    size = apk.stat().st_size
    assert _installs(device) == [f"abb_exec:package\0install\0-S\0{size}"]
    assert device.packages["com.example.abb"].sha256 == result.sha256 == _sha(apk)
    assert install_service(size, frozenset({"cmd"})) == f"exec:cmd package 'install' -S {size}"


async def test_the_package_on_the_device_is_the_last_one_installed(
        adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path) -> None:
    devices, serial = _devices(adb_server), virtual_device.address
    first = write_apk(tmp_path / "v1" / "app.apk")
    second = write_apk(tmp_path / "v2" / "app.apk")  # same package, other bytes
    await devices.install(serial, first)
    result = await devices.install(serial, second)
    assert result.package == "com.example.honk"
    assert virtual_device.packages["com.example.honk"].sha256 == _sha(second) != _sha(first)
    listed, code = await devices.shell(serial, "pm", "list", "packages")
    assert (listed, code) == ("package:com.example.honk\n", 0)


async def test_truncated_or_corrupt_apk_is_refused_and_nothing_installed(
        adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path) -> None:
    devices, serial = _devices(adb_server), virtual_device.address
    whole = write_apk(tmp_path / "whole.apk", payload=256 * 1024).read_bytes()
    truncated = tmp_path / "truncated.apk"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DeviceError, match=re.escape(f"{truncated} is not an APK")) as err:
        await devices.install(serial, truncated)
    assert err.value.code == "NOT_AN_APK" and "truncated or corrupt" in str(err.value)
    corrupt = tmp_path / "corrupt.apk"  # the manifest's bytes no longer match its CRC
    at = whole.index(b"<manifest")
    corrupt.write_bytes(whole[:at] + b"<MANIFEST" + whole[at + 9:])
    with pytest.raises(DeviceError, match=re.escape(f"{corrupt} is not an APK")):
        await devices.install(serial, corrupt)
    assert _installs(virtual_device) == []
    # A zip the device's package manager refuses: its answer, in words.
    nameless = tmp_path / "nameless.apk"
    with zipfile.ZipFile(nameless, "w") as z:
        z.writestr("AndroidManifest.xml", "<manifest><application/></manifest>")
    with pytest.raises(DeviceError, match=r"AndroidManifest\.xml is malformed") as err:
        await devices.install(serial, nameless)
    assert err.value.code == "INSTALL_PARSE_FAILED_MANIFEST_MALFORMED"
    assert str(err.value).startswith(f"Install on {serial} failed:")
    assert virtual_device.packages == {}


async def test_missing_and_offline_devices_are_named(adb_server: AdbServer,
                                                     device_factory: DeviceFactory,
                                                     tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app.apk")
    device, thread = device_factory()
    await asyncio.to_thread(adb_server.connect, device)
    devices = _devices(adb_server)
    with pytest.raises(DeviceError, match=re.escape(
            f"No device '127.0.0.1:9' is connected (connected: {device.address})")) as err:
        await devices.install("127.0.0.1:9", apk)
    assert err.value.code == "NO_DEVICE"
    await asyncio.to_thread(thread.stop)  # the phone goes away; adb lists it as offline
    await asyncio.to_thread(adb_server.wait_state, device.address, "offline")
    with pytest.raises(DeviceError, match=re.escape(f"Device {device.address} is offline. "
                                                    "The device does not answer")) as err:
        await devices.install(device.address, apk)
    assert err.value.code == "OFFLINE"


async def test_a_file_that_shrinks_mid_send_is_not_installed(
        adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app.apk")
    size = apk.stat().st_size + 4096  # announced more than the file holds
    devices = _devices(adb_server)
    with pytest.raises(DeviceError, match=r"got shorter while it was being sent") as err:
        await stream_install(devices.host, virtual_device.address, apk, size,
                             frozenset({"cmd"}), lambda _f, _s: None)
    assert err.value.code == "ARTIFACT_CHANGED" and str(apk) in str(err.value)
    assert virtual_device.packages == {}
    await devices.install(virtual_device.address, apk)  # the device is fine afterwards
    assert virtual_device.packages["com.example.honk"].sha256 == _sha(apk)


async def test_a_cancelled_install_leaves_nothing_and_the_next_one_works(
        adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app.apk", payload=8 << 20)
    devices = _devices(adb_server)
    task: asyncio.Task[object] | None = None

    def cancel_once_sending(_fraction: float, step: str) -> None:
        if step.startswith("Sent") and task is not None:
            task.cancel()

    task = asyncio.ensure_future(devices.install(virtual_device.address, apk,
                                                 cancel_once_sending))
    with pytest.raises(asyncio.CancelledError):
        await task
    assert virtual_device.packages == {}
    assert (await devices.install(virtual_device.address, apk)).sha256 == _sha(apk)
