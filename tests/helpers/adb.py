"""The real adb, isolated: a private adb server and virtual devices connected to it.

Fixtures: ``adb_server`` (the sim's ``PrivateAdbServer``: its own port, HOME, no mDNS or
emulator scan; killed in teardown), ``device_factory`` (start more virtual devices),
``virtual_device`` (one device, already `adb connect`-ed and online). A small real APK:
``stand_ins.write_apk``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.adb_thread import DeviceThread
from desktop.sim.private_adb import PrivateAdbError, PrivateAdbServer


class AdbServer:
    """A private adb server as the tests use it: pass ``port`` and ``env`` to whatever talks
    to it; ``run`` answers adb's CompletedProcess, whatever its exit status."""

    def __init__(self, server: PrivateAdbServer) -> None:
        self.server = server
        self.port, self.adb = server.port, server.adb
        self.env = {**server.base_env, **server.server_env}

    def run(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return self.server.call(*args, timeout=timeout)

    def state(self, serial: str) -> str | None:
        return self.server.state(serial)

    def wait_state(self, serial: str, want: str | None, timeout: float = 10) -> None:
        self.server.wait_state(serial, want, timeout)

    def connect(self, device: VirtualAdbDevice, want: str = "device") -> str:
        out = self.run("connect", device.address)
        # An unauthorized device: adb prints "failed to authenticate to ..." and lists it.
        assert "connected to" in out.stdout or "authenticate" in out.stdout, out
        self.wait_state(device.address, want)
        return device.address


@pytest.fixture
def adb_server(tmp_path: Path) -> Iterator[AdbServer]:
    server = PrivateAdbServer(tmp_path, os.environ)
    server.start()
    try:
        yield AdbServer(server)
    finally:
        with contextlib.suppress(PrivateAdbError):
            server.close()  # the server daemonizes and would outlive the test


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
