"""A private adb server for the demo: its own port and HOME, connected to a virtual phone.

The real adb (bundled with adbutils) runs as a daemon; this starts one that nothing else
shares (no mDNS, emulator or USB scan) and kills it on close, since it outlives its client.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from desktop.sim.stand_ins import free_port

__all__ = ["PrivateAdbError", "PrivateAdbServer"]


class PrivateAdbError(RuntimeError):
    """adb failed to start, connect or list the virtual phone; the message has its words."""


class PrivateAdbServer:
    """``adb -P PORT`` with a private HOME under ``root``; ``env`` points Honk at it."""

    def __init__(self, root: Path, base_env: Mapping[str, str]) -> None:
        import adbutils  # lazy: only the demo's phone needs the adb binary's path

        home = root / "adb-home"
        home.mkdir()
        port = free_port()
        self.base_env = dict(base_env)
        self.env = {"ANDROID_ADB_SERVER_PORT": str(port), "HONK_ADB": adbutils.adb_path(),
                    "HOME": str(home), "ADB_MDNS": "0", "ADB_EMU": "0",
                    "ADB_LIBUSB": "0", "TMPDIR": str(root)}
        self._argv = [adbutils.adb_path(), "-P", str(port)]
        self._started = False

    def connect(self, serial: str, timeout_s: float = 10.0) -> None:
        """Start the server and connect ``serial``; wait until adb lists it as a device."""
        self._started = True
        self.run("start-server")
        out = self.run("connect", serial)
        if "connected to" not in out:
            raise PrivateAdbError(f"adb connect {serial} failed: {out.strip()}")
        deadline = time.monotonic() + timeout_s
        while f"{serial}\tdevice" not in self.run("devices"):
            if time.monotonic() > deadline:
                raise PrivateAdbError(f"the virtual phone {serial} did not come online in adb")
            time.sleep(0.05)

    def run(self, *args: str) -> str:
        """``adb -P PORT ARGS``; its output, or PrivateAdbError with adb's own words."""
        done = subprocess.run([*self._argv, *args], env={**self.base_env, **self.env},
                              capture_output=True, text=True, timeout=30, check=False,
                              stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise PrivateAdbError(f"adb {' '.join(args)} failed ({done.returncode}): "
                                  f"{(done.stderr or done.stdout).strip()}")
        return done.stdout

    def close(self) -> None:
        """Kill the server (it daemonizes and would outlive the demo)."""
        if self._started:
            self._started = False
            self.run("kill-server")
