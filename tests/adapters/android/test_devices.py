"""AndroidDevices against the real adb server and client, with virtual devices on loopback."""

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

from desktop.adapters.android.devices import AndroidDevice, AndroidDevices, DeviceError
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.stand_ins import write_apk
from tests.helpers.adb import (  # noqa: F401
    AdbServer,
    DeviceFactory,
    adb_server,
    device_factory,
    virtual_device,
)


def _devices(server: AdbServer) -> AndroidDevices:
    return AndroidDevices(server_port=server.port, env=server.env)


async def test_list_shows_model_and_android_version(adb_server: AdbServer,
                                                    device_factory: DeviceFactory) -> None:
    device, _ = device_factory(model="Pixel Honk", android_version="15")
    await asyncio.to_thread(adb_server.connect, device)
    [found] = await _devices(adb_server).list()
    assert found == AndroidDevice(device.address, "device", "Pixel Honk", "15", "")
    assert found.ready


async def test_port_comes_from_android_adb_server_port(adb_server: AdbServer,
                                                       virtual_device: VirtualAdbDevice) -> None:
    devices = AndroidDevices(env=adb_server.env)  # no explicit port: the variable decides
    assert devices.port == adb_server.port
    assert [d.serial for d in await devices.list()] == [virtual_device.address]
    with pytest.raises(DeviceError, match="ANDROID_ADB_SERVER_PORT is 'fifty'") as bad:
        AndroidDevices(env={**adb_server.env, "ANDROID_ADB_SERVER_PORT": "fifty"})
    assert bad.value.code == "BAD_SETTING"


async def test_track_sees_a_device_come_and_go(adb_server: AdbServer,
                                               device_factory: DeviceFactory) -> None:
    device, _ = device_factory(model="Tracked")
    devices = _devices(adb_server)
    stream = devices.track()
    try:
        assert await anext(stream) == []
        await devices.connect(device.address)
        seen: list[AndroidDevice] = []
        while not (seen and seen[0].ready):
            seen = await asyncio.wait_for(anext(stream), 10)
        assert (seen[0].serial, seen[0].model, seen[0].android_version) == (
            device.address, "Tracked", "14")
        await asyncio.to_thread(adb_server.run, "disconnect", device.address)
        while seen:
            seen = await asyncio.wait_for(anext(stream), 10)
    finally:
        await stream.aclose()


async def test_install_delivers_exactly_the_artifact(adb_server: AdbServer,
                                                     virtual_device: VirtualAdbDevice,
                                                     tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "build" / "app-debug.apk", payload=2 << 20)
    steps: list[tuple[float, str]] = []
    result = await _devices(adb_server).install(virtual_device.address, apk,
                                                lambda f, s: steps.append((f, s)))
    expected = hashlib.sha256(apk.read_bytes()).hexdigest()
    assert result.sha256 == expected == virtual_device.packages["com.example.honk"].sha256
    assert (result.serial, result.package, result.bytes) == (
        virtual_device.address, "com.example.honk", apk.stat().st_size)
    fractions = [f for f, _ in steps]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert "Installed on" in steps[-1][1]


async def test_install_on_an_old_device_and_a_file_without_apk_suffix(
        adb_server: AdbServer, device_factory: DeviceFactory, tmp_path: Path) -> None:
    device, _ = device_factory(features=())  # no `cmd`, no shell_v2: push + pm install
    await asyncio.to_thread(adb_server.connect, device)
    apk = write_apk(tmp_path / "app.bin", package="com.example.legacy", activity=".Home")
    devices = _devices(adb_server)
    result = await devices.install(device.address, apk)
    assert result.sha256 == device.packages["com.example.legacy"].sha256
    await devices.launch(device.address, "com.example.legacy", ".Home")
    with pytest.raises(DeviceError, match="does not exist"):  # exit code unknown: text decides
        await devices.launch(device.address, "com.example.other", ".Home")


async def test_launch_and_screenshot(adb_server: AdbServer, virtual_device: VirtualAdbDevice,
                                     tmp_path: Path) -> None:
    devices, serial = _devices(adb_server), virtual_device.address
    await devices.install(serial, write_apk(tmp_path / "app.apk"))
    await devices.launch(serial, "com.example.honk", ".MainActivity")
    assert virtual_device.foreground == "com.example.honk"
    shot = await devices.screenshot(serial)
    assert shot.startswith(b"\x89PNG\r\n\x1a\n") and b"IEND" in shot[-12:]


async def test_launch_of_an_app_that_is_not_installed(adb_server: AdbServer,
                                                      virtual_device: VirtualAdbDevice) -> None:
    devices = _devices(adb_server)
    with pytest.raises(DeviceError, match=r"com\.example\.ghost/\.Main.*does not exist") as err:
        await devices.launch(virtual_device.address, "com.example.ghost", ".Main")
    assert err.value.code == "LAUNCH_FAILED"
    with pytest.raises(DeviceError, match="not a valid Android package name"):
        await devices.launch(virtual_device.address, "com.x; reboot", ".Main")


async def test_no_device_connected(adb_server: AdbServer, tmp_path: Path) -> None:
    devices = _devices(adb_server)
    with pytest.raises(DeviceError, match="No Android device is connected") as err:
        await devices.choose(None)
    assert err.value.code == "NO_DEVICE"
    with pytest.raises(DeviceError, match=re.escape("No device '127.0.0.1:9' is connected")):
        await devices.install("127.0.0.1:9", write_apk(tmp_path / "app.apk"))


async def test_two_devices_and_none_chosen(adb_server: AdbServer,
                                           device_factory: DeviceFactory) -> None:
    first, _ = device_factory(model="One")
    second, _ = device_factory(model="Two")
    for dev in (first, second):
        await asyncio.to_thread(adb_server.connect, dev)
    devices = _devices(adb_server)
    with pytest.raises(DeviceError) as err:
        await devices.choose(None)
    assert err.value.code == "SEVERAL_DEVICES"
    assert first.address in str(err.value) and second.address in str(err.value)
    assert (await devices.choose(second.address)).model == "Two"


async def test_unauthorized_device_says_what_to_do(adb_server: AdbServer,
                                                   device_factory: DeviceFactory,
                                                   tmp_path: Path) -> None:
    device, _ = device_factory()
    device.faults.require_auth = True
    await asyncio.to_thread(adb_server.connect, device, "unauthorized")
    devices = _devices(adb_server)
    [listed] = await devices.list()
    assert listed.state == "unauthorized" and "Allow USB debugging" in listed.hint
    with pytest.raises(DeviceError, match=r"is unauthorized\. Unlock the phone") as err:
        await devices.install(device.address, write_apk(tmp_path / "app.apk"))
    assert err.value.code == "UNAUTHORIZED"


async def test_device_unplugged_mid_install(adb_server: AdbServer,
                                            virtual_device: VirtualAdbDevice,
                                            tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app.apk", payload=4 << 20)
    virtual_device.faults.offline_after_bytes = 1 << 20
    devices = _devices(adb_server)
    with pytest.raises(DeviceError, match="disconnected during the install") as err:
        await devices.install(virtual_device.address, apk)
    assert err.value.code == "DEVICE_DISCONNECTED"
    assert virtual_device.packages == {}
    await devices.connect(virtual_device.address)  # plugged back in: the retry works
    await asyncio.to_thread(adb_server.wait_state, virtual_device.address, "device")
    assert (await devices.install(virtual_device.address, apk)).bytes == apk.stat().st_size


async def test_insufficient_storage_in_plain_words(adb_server: AdbServer,
                                                   virtual_device: VirtualAdbDevice,
                                                   tmp_path: Path) -> None:
    virtual_device.faults.install_failure = "INSTALL_FAILED_INSUFFICIENT_STORAGE"
    with pytest.raises(DeviceError, match="out of storage space") as err:
        await _devices(adb_server).install(virtual_device.address, write_apk(tmp_path / "a.apk"))
    assert err.value.code == "INSTALL_FAILED_INSUFFICIENT_STORAGE"
    assert "INSTALL_FAILED_INSUFFICIENT_STORAGE" in str(err.value)


async def test_bad_artifacts_never_reach_the_device(adb_server: AdbServer,
                                                    virtual_device: VirtualAdbDevice,
                                                    tmp_path: Path) -> None:
    devices, serial = _devices(adb_server), virtual_device.address
    missing = tmp_path / "out" / "app.apk"
    with pytest.raises(DeviceError, match=re.escape(f"{missing} does not exist")) as err:
        await devices.install(serial, missing)
    assert err.value.code == "ARTIFACT_MISSING"
    text = tmp_path / "notes.apk"
    text.write_text("this is not an APK")
    with pytest.raises(DeviceError, match=re.escape(f"{text} is not an APK")) as err:
        await devices.install(serial, text)
    assert err.value.code == "NOT_AN_APK"
    bare = tmp_path / "bare.apk"
    with zipfile.ZipFile(bare, "w") as z:
        z.writestr("classes.dex", b"dex")
    with pytest.raises(DeviceError, match=r"has no AndroidManifest\.xml"):
        await devices.install(serial, bare)
    assert not any("install" in s for s in virtual_device.services_seen)


async def test_adb_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "platform-tools" / "adb"
    devices = AndroidDevices(adb_path=str(missing), server_port=1, env={})
    with pytest.raises(DeviceError, match=re.escape(f"adb not found at {missing}")) as err:
        await devices.install("x", write_apk(tmp_path / "app.apk"))
    assert err.value.code == "ADB_NOT_FOUND"
