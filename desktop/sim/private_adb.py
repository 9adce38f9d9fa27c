"""A private adb server for the demo and the tests: its own port and HOME, no device scans.

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
    """``adb -P PORT`` with a private HOME under ``root``.

    ``server_env``: what points adb at this server; ``env`` adds ``HONK_ADB``, the binary,
    and is what Honk is given.
    """

    def __init__(self, root: Path, base_env: Mapping[str, str]) -> None:
        import adbutils  # lazy: only the demo's phone and the adb tests need the binary's path

        home = root / "adb-home"
        home.mkdir()
        self.port = free_port()
        self.adb: str = adbutils.adb_path()
        self.base_env = dict(base_env)
        # No USB here: the libusb backend would spend 3 s looking for devices at start.
        # TMPDIR: where the server logs.
        self.server_env = {"ANDROID_ADB_SERVER_PORT": str(self.port), "HOME": str(home),
                           "ADB_MDNS": "0", "ADB_EMU": "0", "ADB_LIBUSB": "0",
                           "TMPDIR": str(root)}
        self.env = {**self.server_env, "HONK_ADB": self.adb}
        self._started = False

    def start(self) -> None:
        """Start the server (adb daemonizes it; ``close`` kills it)."""
        self._started = True
        self.run("start-server")

    def connect(self, serial: str, timeout_s: float = 10.0) -> None:
        """Start the server and connect ``serial``; wait until adb lists it as a device."""
        self.start()
        out = self.run("connect", serial)
        if "connected to" not in out:
            raise PrivateAdbError(f"adb connect {serial} failed: {out.strip()}")
        try:
            self.wait_state(serial, "device", timeout_s)
        except PrivateAdbError:
            raise PrivateAdbError(
                f"the virtual phone {serial} did not come online in adb") from None

    def call(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """``adb -P PORT ARGS`` as it went, whatever its exit status."""
        return subprocess.run([self.adb, "-P", str(self.port), *args],
                              env={**self.base_env, **self.server_env}, capture_output=True,
                              text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)

    def run(self, *args: str) -> str:
        """``adb -P PORT ARGS``; its output, or PrivateAdbError with adb's own words."""
        done = self.call(*args)
        if done.returncode != 0:
            raise PrivateAdbError(f"adb {' '.join(args)} failed ({done.returncode}): "
                                  f"{(done.stderr or done.stdout).strip()}")
        return done.stdout

    def state(self, serial: str) -> str | None:
        """How ``adb devices`` lists ``serial`` (``device``, ``offline``, ...), if at all."""
        for line in self.run("devices").splitlines()[1:]:
            name, _, state = line.partition("\t")
            if name == serial:
                return state
        return None

    def wait_state(self, serial: str, want: str | None, timeout_s: float = 10.0) -> None:
        """Poll until adb lists ``serial`` as ``want`` (None: not at all)."""
        deadline = time.monotonic() + timeout_s
        while (now := self.state(serial)) != want:
            if time.monotonic() > deadline:
                raise PrivateAdbError(f"{serial} is {now!r}, expected {want!r}")
            time.sleep(0.05)

    def close(self) -> None:
        """Kill the server (it daemonizes and would outlive the demo)."""
        if self._started:
            self._started = False
            self.run("kill-server")
