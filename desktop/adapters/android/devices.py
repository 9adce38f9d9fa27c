"""Android test devices through the adb server: discover, install, launch, screenshot.

Talks to the adb server's socket directly (:mod:`desktop.adapters.android.adb_host`) and speaks
the streamed install itself (:mod:`desktop.adapters.android.install`), so an install
costs what a plain `adb install` costs, less the adb client's start-up. The adb binary
bundled with adbutils is only run to start the server, and to install on devices too old
for the streamed install.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Unpack

from desktop.adapters.android.adb_host import AdbHost, AdbSettings, close_stream, read_block
from desktop.adapters.android.apk import check_apk
from desktop.adapters.android.errors import (
    DeviceError,
    failure_from_reply,
    failure_in_words,
    hint_for,
)
from desktop.adapters.android.install import (
    Progress,
    digest,
    process_install,
    stream_install,
)

__all__ = [
    "AndroidDevice",
    "AndroidDevices",
    "DeviceError",
    "InstallResult",
    "Progress",
    "failure_in_words",
    "hint_for",
]

_NAME_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_ACTIVITY_RE = re.compile(r"^\.?[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)*$")


@dataclass(frozen=True)
class AndroidDevice:
    """One device as adb sees it; ``hint`` says what to do when it is not ready."""

    serial: str
    state: str  # device | unauthorized | offline | authorizing | no permissions | ...
    model: str
    android_version: str
    hint: str

    @property
    def ready(self) -> bool:
        return self.state == "device"


@dataclass(frozen=True)
class InstallResult:
    """What went onto the device: the artifact's exact size and sha256."""

    serial: str
    package: str | None
    seconds: float
    bytes: int
    sha256: str


class AndroidDevices:
    """The adb server on this machine and the devices attached to it."""

    def __init__(self, **settings: Unpack[AdbSettings]) -> None:
        self.host = AdbHost(**settings)

    @property
    def port(self) -> int:
        """The adb server's TCP port (ANDROID_ADB_SERVER_PORT, else 5037)."""
        return self.host.port

    @property
    def adb(self) -> str:
        """The adb binary: the explicit setting, else the one bundled with adbutils."""
        return self.host.adb

    async def shell(self, serial: str, *argv: str) -> tuple[str, int | None]:
        """Run a command on the device; exit code is None where the device cannot tell."""
        return await self.host.shell(serial, *argv)

    # -- discovery ---------------------------------------------------------------------------
    async def _describe(self, line: str) -> AndroidDevice | None:
        serial, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not serial or not rest:
            return None
        state = "no permissions" if rest.startswith("no permissions") else rest.split()[0]
        fields = dict(t.split(":", 1) for t in rest.split() if ":" in t)
        model, version = fields.get("model", "").replace("_", " "), ""
        if state == "device":
            with contextlib.suppress(DeviceError, OSError, asyncio.IncompleteReadError):
                props, _ = await self.shell(serial, "getprop")
                found = dict(re.findall(r"^\[([^\]]+)\]: \[([^\]]*)\]", props, re.M))
                model = found.get("ro.product.model", model)
                version = found.get("ro.build.version.release", "")
        return AndroidDevice(serial, state, model, version, hint_for(state))

    async def _parse(self, listing: str) -> list[AndroidDevice]:
        found = await asyncio.gather(*(self._describe(ln) for ln in listing.splitlines()))
        return [d for d in found if d is not None]

    async def list(self) -> list[AndroidDevice]:
        """Every device adb knows, with model and Android version for ready ones."""
        return await self._parse(await self.host.host("host:devices-l"))

    async def track(self) -> AsyncIterator[builtins.list[AndroidDevice]]:
        """The device list now, then again each time a device comes, goes or changes state."""
        stream = await self.host.open()
        try:
            await self.host.request(stream, "host:track-devices-l")
            while True:
                try:
                    listing = await read_block(stream[0])
                except asyncio.IncompleteReadError:
                    raise DeviceError(f"The adb server on port {self.port} stopped.") from None
                yield await self._parse(listing)
        finally:
            await close_stream(stream)

    async def connect(self, address: str) -> None:
        """`adb connect ADDRESS` (a device over TCP/IP; its serial is exactly ADDRESS)."""
        answer = await self.host.host(f"host:connect:{address}")
        if not answer.startswith(("connected to", "already connected")):
            raise DeviceError(f"Could not connect to {address}: {answer}", "CONNECT_FAILED")

    async def choose(self, serial: str | None) -> AndroidDevice:
        """The device to use: ``serial``, or the only one connected; clear errors otherwise."""
        devices = await self.list()
        if serial is not None:
            match = [d for d in devices if d.serial == serial]
            if not match:
                known = ", ".join(d.serial for d in devices) or "none"
                raise DeviceError(
                    f"No device {serial!r} is connected (connected: {known}).", "NO_DEVICE")
            device = match[0]
        elif not devices:
            raise DeviceError(
                "No Android device is connected: plug one in with USB debugging on "
                "(or `adb connect HOST:PORT`), then retry.", "NO_DEVICE")
        elif len(devices) > 1:
            names = ", ".join(f"{d.serial} ({d.model or d.state})" for d in devices)
            raise DeviceError(
                f"{len(devices)} devices are connected: {names}. Choose one "
                "(--device SERIAL or the device picker).", "SEVERAL_DEVICES")
        else:
            device = devices[0]
        if not device.ready:
            raise DeviceError(f"Device {device.serial} is {device.state}. {device.hint}",
                              device.state.upper().replace(" ", "_"))
        return device

    # -- install, launch, screenshot ---------------------------------------------------------
    async def install(self, serial: str, apk: Path, progress: Progress | None = None,
                      *, sha256: str | None = None) -> InstallResult:
        """Install ``apk`` on ``serial`` with a streamed install, reporting progress.

        The APK is checked (a zip with a manifest) before the device is touched. The
        device's state is only looked at when the install fails: a check up front would
        cost a round trip every time (see bench/install_path.py). Pass ``sha256`` when the
        caller already checked the file's hash (the install stage does): it is not read twice.
        """
        report = progress or (lambda _f, _s: None)
        report(0.0, f"Checking {apk.name}")
        package = await asyncio.to_thread(check_apk, apk)
        size = apk.stat().st_size
        started = time.monotonic()
        sha = digest(apk, sha256)
        report(0.02, f"Sending {size / 1e6:.1f} MB to {serial}")
        try:
            ok, reply = await self._install(serial, apk, size, report)
        finally:
            sha256 = await sha
        if ok:
            seconds = time.monotonic() - started
            report(1.0, f"Installed on {serial} in {seconds:.1f} s")
            return InstallResult(serial, package, seconds, size, sha256)
        raise failure_from_reply(serial, reply) or await self._explain(serial, reply)

    async def _install(self, serial: str, apk: Path, size: int, report: Progress
                       ) -> tuple[bool, str]:
        """(installed?, what the device or adb said)."""
        try:
            features = await self.host.features(serial)
            if "cmd" not in features:  # Android < 7: the adb client pushes, then pm installs
                code, text = await process_install(self.host, serial, apk, size, report)
                return code == 0 and "Success" in text, text
            reply = await stream_install(self.host, serial, apk, size, features, report)
        except DeviceError as exc:
            if exc.code != "ADB_ERROR":
                raise
            return False, str(exc)  # the server's FAIL: _explain says why, in words
        except asyncio.IncompleteReadError:
            return False, ""  # the server hung up mid-request: the device went away
        return reply.startswith("Success"), reply

    async def _explain(self, serial: str, adb_output: str) -> DeviceError:
        """Why the install failed: the device missing, not ready, or gone mid-way."""
        devices = await self.list()
        device = next((d for d in devices if d.serial == serial), None)
        if device is None and "not found" in adb_output:
            known = ", ".join(d.serial for d in devices) or "none"
            return DeviceError(f"No device {serial!r} is connected (connected: {known}).",
                               "NO_DEVICE")
        if device is None or (device.state == "offline" and "offline" not in adb_output):
            return _disconnected(serial)
        if not device.ready:
            return DeviceError(f"Device {device.serial} is {device.state}. {device.hint}",
                               device.state.upper().replace(" ", "_"))
        last = adb_output.strip().splitlines()[-1:]
        if not last:  # the stream closed with no answer: the link dropped mid-install
            return _disconnected(serial)
        return DeviceError(f"adb install on {serial} failed: {last[0]}", "INSTALL_FAILED")

    async def launch(self, serial: str, package: str, activity: str) -> None:
        """`am start -n package/activity`; a missing app or activity is a clear error."""
        if not _NAME_RE.match(package):
            raise DeviceError(f"Package {package!r} is not a valid Android package name "
                              "(expected e.g. com.example.app).", "BAD_SETTING")
        if not _ACTIVITY_RE.match(activity):
            raise DeviceError(f"Activity {activity!r} is not a valid activity name "
                              "(expected e.g. .MainActivity).", "BAD_SETTING")
        out, code = await self.shell(serial, "am", "start", "-n", f"{package}/{activity}")
        if "Error" in out or (code not in (0, None)):
            detail = next((ln for ln in out.splitlines() if ln.startswith("Error:")), out.strip())
            raise DeviceError(
                f"Could not start {package}/{activity} on {serial}: {detail} Is the app "
                "installed, and do [device] package/activity in honk.toml name it?",
                "LAUNCH_FAILED")

    async def screenshot(self, serial: str) -> bytes:
        """The device's screen as PNG bytes (`screencap -p`)."""
        data = await self.host.service(serial, "exec:screencap -p")
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise DeviceError(f"Device {serial} did not return a PNG screenshot.", "SCREENSHOT")
        return data


def _disconnected(serial: str) -> DeviceError:
    return DeviceError(
        f"Device {serial} disconnected during the install; nothing was installed. "
        "Reconnect it and retry.", "DEVICE_DISCONNECTED")
