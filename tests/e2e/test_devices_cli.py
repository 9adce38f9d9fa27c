"""`honk devices` through the real adb against the virtual device."""

from __future__ import annotations

import json
import subprocess
import sys

from desktop.sim.adb_device import VirtualAdbDevice
from tests.helpers.adb import AdbServer


def test_devices_lists_the_virtual_phone(adb_server: AdbServer, virtual_device: VirtualAdbDevice) -> None:
    env = {**adb_server.env, "ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    proc = subprocess.run([sys.executable, "-m", "desktop", "devices", "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    [row] = [r for r in rows if r["kind"] == "android"]
    assert row["serial"] == virtual_device.address
    assert row["state"] == "device" and row["model"]
