"""The real adb, isolated: a private adb server and virtual devices connected to it.

Fixtures: ``adb_server`` (its own port, HOME, no mDNS or emulator scan; killed in
teardown), ``device_factory`` (start more virtual devices), ``virtual_device`` (one
device, already `adb connect`-ed and online). A small real APK: ``stand_ins.write_apk``.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import adbutils
import pytest

from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.adb_thread import DeviceThread
from desktop.sim.stand_ins import free_port


@dataclass
class AdbServer:
    """A private adb server: pass ``port`` and ``env`` to whatever talks to it."""

    port: int
    env: dict[str, str]
    adb: str = field(default_factory=adbutils.adb_path)

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.adb, "-P", str(self.port), *args], env=self.env, capture_output=True,
            text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False,
        )

    def state(self, serial: str) -> str | None:
        for line in self.run("devices").stdout.splitlines()[1:]:
            name, _, state = line.partition("\t")
            if name == serial:
                return state
        return None

    def wait_state(self, serial: str, want: str | None, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while (now := self.state(serial)) != want:
            if time.monotonic() > deadline:
                raise AssertionError(f"{serial} is {now!r}, expected {want!r}")
            time.sleep(0.05)

    def connect(self, device: VirtualAdbDevice, want: str = "device") -> str:
        out = self.run("connect", device.address)
        # An unauthorized device: adb prints "failed to authenticate to ..." and lists it.
        assert "connected to" in out.stdout or "authenticate" in out.stdout, out
        self.wait_state(device.address, want)
        return device.address


def _make_server(tmp_path: Path) -> AdbServer:
    home = tmp_path / "adb-home"
    home.mkdir()
    port = free_port()
    env = {
        **os.environ, "HOME": str(home), "ADB_MDNS": "0", "ADB_EMU": "0",
        "ANDROID_ADB_SERVER_PORT": str(port),
        # No USB here: the libusb backend would spend 3 s looking for devices at start.
        "ADB_LIBUSB": "0", "TMPDIR": str(tmp_path),  # TMPDIR: where the server logs
    }
    server = AdbServer(port=port, env=env)
    started = server.run("start-server")
    assert started.returncode == 0, started
    return server


@pytest.fixture
def adb_server(tmp_path: Path) -> Iterator[AdbServer]:
    server = _make_server(tmp_path)
    try:
        yield server
    finally:
        server.run("kill-server")  # the server daemonizes and would outlive the test


DeviceFactory = Callable[..., tuple[VirtualAdbDevice, DeviceThread]]


@pytest.fixture
def device_factory() -> Iterator[DeviceFactory]:
    """Start virtual devices (kwargs go to VirtualAdbDevice); all stop in teardown."""
    threads: list[DeviceThread] = []

    def start(**kwargs: object) -> tuple[VirtualAdbDevice, DeviceThread]:
        thread = DeviceThread(VirtualAdbDevice(**kwargs))  # type: ignore[arg-type]
        threads.append(thread)
        return thread.start(), thread

    yield start
    for thread in threads:
        thread.stop()


@pytest.fixture
def virtual_device(adb_server: AdbServer, device_factory: DeviceFactory) -> VirtualAdbDevice:
    """One virtual phone, connected to the private adb server and online."""
    device, _ = device_factory()
    adb_server.connect(device)
    return device
