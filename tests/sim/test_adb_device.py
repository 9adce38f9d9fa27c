"""The virtual device against the real adb client and server (adb 36 bundled with adbutils)."""

# Fixtures are imported by name until tests/conftest.py lists tests.helpers.adb as a plugin;
# their parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import socket
import struct
import subprocess
import zlib
from pathlib import Path

from desktop.sim.adb_device import CLSE, CNXN, OKAY, OPEN, VirtualAdbDevice
from desktop.sim.phone_screen import SCREEN_PX
from desktop.sim.stand_ins import write_apk
from tests.helpers.adb import (  # noqa: F401
    AdbServer,
    DeviceFactory,
    adb_server,
    device_factory,
    virtual_device,
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_adb_lists_the_device_with_its_banner(adb_server: AdbServer,
                                              virtual_device: VirtualAdbDevice) -> None:
    out = adb_server.run("devices", "-l").stdout
    assert f"{virtual_device.address}" in out
    assert "model:Honk_Virtual_Phone" in out and "product:honk_sim" in out
    model = adb_server.run("-s", virtual_device.address, "shell", "getprop", "ro.product.model")
    assert model.stdout == "Honk Virtual Phone\n"
    version = adb_server.run("-s", virtual_device.address, "shell", "getprop",
                             "ro.build.version.release")
    assert version.stdout.strip() == "14"


def test_streamed_install_receives_exactly_the_file(adb_server: AdbServer,
                                                    virtual_device: VirtualAdbDevice,
                                                    tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app.apk", payload=3 * 1024 * 1024 + 17)
    out = adb_server.run("-s", virtual_device.address, "install", str(apk))
    assert out.returncode == 0 and "Success" in out.stdout, out
    assert "Streamed Install" in out.stdout
    assert any(s.startswith("exec:cmd package 'install' -S ") for s in virtual_device.services_seen)
    installed = virtual_device.packages["com.example.honk"]
    assert installed.sha256 == _sha(apk) and installed.size == apk.stat().st_size
    listed = adb_server.run("-s", virtual_device.address, "shell", "pm", "list", "packages")
    assert listed.stdout == "package:com.example.honk\n"


def test_real_adb_uses_abb_exec_when_the_device_offers_it(adb_server: AdbServer,
                                                          device_factory: DeviceFactory,
                                                          tmp_path: Path) -> None:
    device, _ = device_factory(features=("shell_v2", "cmd", "abb_exec"))
    adb_server.connect(device)
    apk = write_apk(tmp_path / "app.apk", package="com.example.abb", payload=1 << 20)
    out = adb_server.run("-s", device.address, "install", str(apk))
    assert out.returncode == 0 and "Success" in out.stdout, out
    size = apk.stat().st_size
    assert f"abb_exec:package\0install\0-S\0{size}" in device.services_seen
    assert device.packages["com.example.abb"].sha256 == _sha(apk)


def test_streamed_install_needs_a_size(adb_server: AdbServer,
                                       virtual_device: VirtualAdbDevice) -> None:
    out = adb_server.run("-s", virtual_device.address, "shell", "cmd", "package", "install",
                         "-S", "lots")
    assert "Error: a streamed install needs the APK's size in bytes (-S SIZE), got 'lots'" in (
        out.stdout), out
    assert virtual_device.packages == {}


def test_push_install_without_the_cmd_feature(adb_server: AdbServer,
                                              device_factory: DeviceFactory,
                                              tmp_path: Path) -> None:
    device, _ = device_factory(features=())
    adb_server.connect(device)
    apk = write_apk(tmp_path / "old.apk", package="com.example.old")
    out = adb_server.run("-s", device.address, "install", str(apk))
    assert out.returncode == 0 and "Success" in out.stdout, out
    assert "sync:" in device.services_seen
    assert device.packages["com.example.old"].sha256 == _sha(apk)
    assert device.files == {}  # adb removed the pushed copy afterwards


def test_am_start_and_screencap(adb_server: AdbServer, virtual_device: VirtualAdbDevice,
                                tmp_path: Path) -> None:
    serial = virtual_device.address
    missing = adb_server.run("-s", serial, "shell", "am", "start", "-n", "com.example.honk/.Main")
    assert "Error: Activity class {com.example.honk/com.example.honk.Main} does not exist." in (
        missing.stdout)
    adb_server.run("-s", serial, "install", str(write_apk(tmp_path / "a.apk")))
    started = adb_server.run("-s", serial, "shell", "am", "start", "-n",
                             "com.example.honk/.MainActivity")
    assert started.returncode == 0 and "Error" not in started.stdout, started
    shot = subprocess.run([adb_server.adb, "-P", str(adb_server.port), "-s", serial,
                           "exec-out", "screencap", "-p"], env=adb_server.env,
                          capture_output=True, check=True).stdout
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", shot[16:24])
    assert (width, height) == SCREEN_PX
    idat = shot.index(b"IDAT")
    length = struct.unpack(">I", shot[idat - 4 : idat])[0]
    assert len(zlib.decompress(shot[idat + 4 : idat + 4 + length])) == height * (1 + 3 * width)


def test_install_faults(adb_server: AdbServer, virtual_device: VirtualAdbDevice,
                        tmp_path: Path) -> None:
    serial, apk = virtual_device.address, write_apk(tmp_path / "app.apk")
    virtual_device.faults.install_failure = "INSTALL_FAILED_INSUFFICIENT_STORAGE"
    out = adb_server.run("-s", serial, "install", str(apk))
    assert out.returncode == 1
    assert "Failure [INSTALL_FAILED_INSUFFICIENT_STORAGE]" in out.stderr
    virtual_device.faults.install_failure = None
    junk = tmp_path / "junk.apk"
    junk.write_bytes(b"not a zip at all")
    out = adb_server.run("-s", serial, "install", str(junk))
    assert "Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse" in out.stderr
    assert virtual_device.packages == {}


def test_goes_offline_mid_install_and_comes_back(adb_server: AdbServer,
                                                 virtual_device: VirtualAdbDevice,
                                                 tmp_path: Path) -> None:
    serial, apk = virtual_device.address, write_apk(tmp_path / "big.apk", payload=4 << 20)
    virtual_device.faults.offline_after_bytes = 1 << 20
    out = adb_server.run("-s", serial, "install", str(apk))
    assert out.returncode != 0 and "Success" not in out.stdout
    assert virtual_device.packages == {}
    adb_server.connect(virtual_device)  # "plugged back in"
    again = adb_server.run("-s", serial, "install", str(apk))
    assert "Success" in again.stdout, again


def test_unauthorized_until_the_user_allows(adb_server: AdbServer,
                                            device_factory: DeviceFactory) -> None:
    device, thread = device_factory()
    device.faults.require_auth = True
    adb_server.connect(device, want="unauthorized")
    assert "unauthorized" in adb_server.run("-s", device.address, "shell", "true").stderr
    thread.call(device.authorize)
    adb_server.wait_state(device.address, "device")


def _message(command: int, a0: int, a1: int, data: bytes) -> bytes:
    return struct.pack("<6I", command, a0, a1, len(data), sum(data), command ^ 0xFFFFFFFF) + data


def _read(sock: socket.socket) -> tuple[int, int, int, bytes, int]:
    head = b""
    while len(head) < 24:
        head += sock.recv(24 - len(head))
    command, a0, a1, length, check, _ = struct.unpack("<6I", head)
    data = b""
    while len(data) < length:
        data += sock.recv(length - len(data))
    return command, a0, a1, data, check


def test_old_protocol_version_checksums_and_unknown_services(
        device_factory: DeviceFactory) -> None:
    device, _ = device_factory()
    with socket.create_connection(("127.0.0.1", device.port), timeout=5) as sock:
        sock.sendall(_message(CNXN, 0x01000000, 4096, b"host::\0"))
        command, version, maxdata, banner, check = _read(sock)
        assert (command, version, maxdata) == (CNXN, 0x01000000, 4096)
        assert banner.startswith(b"device::") and b"features=shell_v2,cmd" in banner
        assert b"delayed_ack" not in banner and check == sum(banner)
        sock.sendall(_message(OPEN, 7, 0, b"abb_exec:package\0install\0"))
        assert _read(sock)[:3] == (CLSE, 0, 7)  # refused: the client falls back
        sock.sendall(_message(OPEN, 8, 0, b"shell:getprop ro.product.model\0"))
        command, _local, remote, _, _ = _read(sock)
        assert (command, remote) == (OKAY, 8)
        assert _read(sock)[3] == b"Honk Virtual Phone\n"
