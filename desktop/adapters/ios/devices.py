"""iOS test devices: list, install and launch through the platform's own tools.

On macOS, Xcode 15+'s ``xcrun devicectl`` (results read from its ``--json-output``
file). Elsewhere, libimobiledevice: ``idevice_id`` to list, ``ideviceinstaller`` to install
(its status lines give the progress), ``idevicedebug --detach run`` to launch. Every
failure says what happened and what to do, including when the tools are not installed.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.adapters.process.commands import CommandResult, run_command
from desktop.core.errors import HonkError
from desktop.core.text import failure_excerpt

__all__ = ["IosDevice", "IosDevices", "IosError", "IosInstaller"]

Progress = Callable[[float, str], None]

DEVICECTL = "devicectl"
LIBIMOBILEDEVICE = "libimobiledevice"

_STATUS = re.compile(r"^(Install|Upgrade): (\w+)(?: \((\d{1,3})%\))?")
_ERROR_NAME = re.compile(r'Got error "(\w+)"')

# installd's error names people meet, in plain words.
_INSTALL_ERRORS = {
    "ApplicationVerificationFailed": "the app's signature or provisioning profile does not "
    "allow it on this device (add the device to the profile, or sign for development)",
    "DeviceOSVersionTooLow": "the device's iOS is older than the app's deployment target",
    "MismatchedApplicationIdentifierEntitlement": "a copy of the app signed by another team "
    "is installed; delete it from the device first",
    "PackageInspectionFailed": "the device could not read the package (is it a valid .ipa?)",
    "IncorrectArchitecture": "the app was not built for this device's CPU",
    "DeveloperModeDisabled": "Developer Mode is off: Settings > Privacy & Security > "
    "Developer Mode",
}


class IosError(HonkError):
    """An iOS tool failed; ``str()`` says what happened and what to do. ``code`` is short."""

    def __init__(self, message: str, code: str = "IOS_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class IosDevice:
    identifier: str  # what the tool takes as --device / -u
    udid: str
    name: str
    model: str
    os_version: str
    state: str  # ready | unpaired | unavailable | developer mode off
    hint: str = ""

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class IosDevices:
    """The iOS devices attached to this computer, through whichever tools it has."""

    def __init__(
        self,
        *,
        platform: str = sys.platform,
        path: str | None = None,
        timeout: float = 300.0,
        list_timeout: float = 30.0,
    ) -> None:
        self.platform = platform
        self.path = path if path is not None else os.environ.get("PATH", os.defpath)
        self.timeout = timeout
        self.list_timeout = list_timeout

    # -- which tools -------------------------------------------------------------------------
    def backend(self) -> str:
        """``devicectl`` or ``libimobiledevice``; IosError when neither is installed."""
        if self.platform == "darwin" and self._which("xcrun"):
            return DEVICECTL
        if self._which("ideviceinstaller") and self._which("idevice_id"):
            return LIBIMOBILEDEVICE
        raise IosError(
            "No iOS device tools found on PATH. On macOS install Xcode 15 or newer "
            "(for `xcrun devicectl`); elsewhere install libimobiledevice "
            "(e.g. `apt install libimobiledevice-utils ideviceinstaller`).",
            "TOOL_MISSING",
        )

    def _which(self, name: str) -> str | None:
        return shutil.which(name, path=self.path)

    def _tool(self, name: str) -> str:
        found = self._which(name)
        if found is None:
            raise IosError(f"`{name}` is not installed (not found on PATH); it comes with "
                           "libimobiledevice.", "TOOL_MISSING")
        return found

    # -- listing -----------------------------------------------------------------------------
    async def list(self) -> list[IosDevice]:
        """Every iOS device the tools see, ready or not (with a hint when not)."""
        if self.backend() == DEVICECTL:
            data, _ = await self._devicectl(["list", "devices", "--timeout", "5"],
                                            self.list_timeout)
            return parse_devicectl_devices(data)
        outcome = await self._run([self._tool("idevice_id"), "-l"], self.list_timeout)
        if not outcome.ok:
            raise IosError(f"idevice_id -l failed: {_last_line(outcome)}")
        devices = []
        for udid in parse_idevice_id(outcome.output):
            named = await self._run([self._tool("idevice_id"), udid], self.list_timeout)
            name = named.output.strip() if named.ok else ""
            devices.append(IosDevice(udid, udid, name, "", "", "ready"))
        return devices

    async def choose(self, device: str | None) -> IosDevice:
        """``device`` (identifier, UDID or name), or the only one attached; clear errors."""
        devices = await self.list()
        if device is not None:
            match = [d for d in devices if device in (d.identifier, d.udid, d.name)]
            if not match:
                known = ", ".join(f"{d.name or '?'} ({d.udid})" for d in devices) or "none"
                raise IosError(f"No iOS device {device!r} is attached (attached: {known}).",
                               "NO_DEVICE")
            chosen = match[0]
        elif not devices:
            raise IosError("No iOS device is attached: connect one by cable, unlock it and "
                           "trust this computer, then retry.", "NO_DEVICE")
        elif len(devices) > 1:
            names = ", ".join(f"{d.name or '?'} ({d.udid})" for d in devices)
            raise IosError(f"{len(devices)} iOS devices are attached: {names}. Choose one "
                           "(--device UDID or the device picker).", "SEVERAL_DEVICES")
        else:
            chosen = devices[0]
        if not chosen.ready:
            raise IosError(f"{chosen.name or chosen.udid} is {chosen.state}. {chosen.hint}",
                           chosen.state.upper().replace(" ", "_"))
        return chosen

    # -- install and launch ------------------------------------------------------------------
    async def install(self, device: str, app: Path, progress: Progress) -> str:
        """Install ``app`` (.ipa or .app) on ``device``; the installed bundle id if known."""
        progress(0.0, f"Installing {app.name} on {device}")
        if self.backend() == DEVICECTL:
            data, _ = await self._devicectl(
                ["device", "install", "app", "--device", device, str(app)], self.timeout)
            apps = _dig(data, "result", "installedApplications") or [{}]
            bundle = str(apps[0].get("bundleID", "")) if isinstance(apps[0], dict) else ""
            progress(1.0, f"Installed on {device}")
            return bundle
        argv = [self._tool("ideviceinstaller"), "-u", device, "-i", str(app)]
        outcome = await self._run(argv, self.timeout, on_line=_install_progress(progress))
        check_ideviceinstaller(outcome, device)
        progress(1.0, f"Installed on {device}")
        return ""

    async def launch(self, device: str, bundle_id: str) -> None:
        """Start ``bundle_id`` on ``device`` (replacing a running copy) and return."""
        if self.backend() == DEVICECTL:
            await self._devicectl(
                ["device", "process", "launch", "--device", device, "--terminate-existing"],
                self.list_timeout, tail=[bundle_id])
            return
        argv = [self._tool("idevicedebug"), "-u", device, "--detach", "run", bundle_id]
        outcome = await self._run(argv, self.list_timeout)
        if not outcome.ok:
            text = outcome.output
            hint = ""
            if "Invalid bundle identifier" in text:
                hint = " Is the app installed, and is [device] package its bundle id?"
            elif "debugserver" in text:
                hint = " Mount the developer disk image (ideviceimagemounter) and retry."
            elif "No device found" in text:
                hint = " The device is no longer attached."
            raise IosError(f"Could not start {bundle_id} on {device}: {_last_line(outcome)}."
                           + hint, "LAUNCH_FAILED")

    # -- running the tools -------------------------------------------------------------------
    async def _devicectl(
        self, args: builtins.list[str], timeout: float, tail: builtins.list[str] | None = None
    ) -> tuple[dict[str, Any], CommandResult]:
        """Run ``xcrun devicectl ARGS --json-output FILE [TAIL]``; the parsed JSON file."""
        with tempfile.TemporaryDirectory(prefix="honk-devicectl-") as tmp:
            out = Path(tmp) / "result.json"
            argv = [self._tool("xcrun"), "devicectl", *args, "--json-output", str(out),
                    *(tail or [])]
            outcome = await self._run(argv, timeout, cwd=Path(tmp))
            text = out.read_text(encoding="utf-8") if out.is_file() else ""
        if 'unable to find utility "devicectl"' in outcome.output:
            raise IosError("This Xcode has no devicectl: install Xcode 15 or newer "
                           "(and select it with `xcode-select`).", "TOOL_MISSING")
        try:
            data = json.loads(text) if text else {}
        except json.JSONDecodeError:
            data = {}
        if not isinstance(data, dict):
            data = {}
        outcome_word = _dig(data, "info", "outcome")
        if outcome.ok and outcome_word in (None, "success") and data:
            return data, outcome
        raise IosError(_devicectl_failure(args, data, outcome), _devicectl_code(data))

    async def _run(self, argv: builtins.list[str], timeout: float, *, cwd: Path | None = None,
                   on_line: Callable[[str], None] | None = None) -> CommandResult:
        outcome = await run_command(argv, cwd=cwd or Path(tempfile.gettempdir()),
                                    timeout=timeout, on_line=on_line)
        if outcome.error:
            raise IosError(outcome.error, "TOOL_MISSING")
        if outcome.timed_out:
            raise IosError(f"{Path(argv[0]).name} did not finish within {timeout:g} s and was "
                           "stopped; is the device unlocked and still attached?", "TIMEOUT")
        return outcome


class IosInstaller:
    """One iOS device as the install stage's :class:`Installer`."""

    kind = "ios"

    def __init__(self, devices: IosDevices, device: str | None, bundle_id: str) -> None:
        self.devices = devices
        self.device = device
        self.bundle_id = bundle_id
        self._label = device or "the attached iOS device"

    def describe(self) -> str:
        return self._label

    async def install(self, artifact: Path, progress: Progress) -> str:
        chosen = await self.devices.choose(self.device)
        self.device = chosen.identifier
        self._label = f"{chosen.name} ({chosen.udid})" if chosen.name else chosen.udid
        return await self.devices.install(chosen.identifier, artifact, progress)

    async def launch(self) -> str | None:
        if self.device is None:
            raise IosError("launch before install: no device chosen yet", "NO_DEVICE")
        await self.devices.launch(self.device, self.bundle_id)
        return self.bundle_id


# -- parsing the tools' output ---------------------------------------------------------------
def parse_devicectl_devices(data: dict[str, Any]) -> list[IosDevice]:
    """Devices from ``devicectl list devices --json-output`` (iOS/iPadOS ones only)."""
    devices = []
    for item in _dig(data, "result", "devices") or []:
        if not isinstance(item, dict):
            continue
        hw = item.get("hardwareProperties") or {}
        props = item.get("deviceProperties") or {}
        conn = item.get("connectionProperties") or {}
        if hw.get("platform", "iOS") != "iOS":
            continue  # watches, TVs and Vision Pro do not take our builds
        identifier = str(item.get("identifier", ""))
        udid = str(hw.get("udid", "")) or identifier
        state, hint = "ready", ""
        if conn.get("pairingState", "paired") != "paired":
            state = "unpaired"
            hint = ("Unlock it and tap 'Trust' for this Mac (or pair it in Xcode > Devices "
                    "and Simulators), then retry.")
        elif conn.get("tunnelState") == "unavailable":
            state = "unavailable"
            hint = "Connect it by cable (or to the same network), unlock it, then retry."
        elif props.get("developerModeStatus") == "disabled":
            state = "developer mode off"
            hint = "Turn on Settings > Privacy & Security > Developer Mode, then retry."
        model = str(hw.get("marketingName") or hw.get("productType") or "")
        devices.append(IosDevice(identifier or udid, udid, str(props.get("name", "")), model,
                                 str(props.get("osVersionNumber", "")), state, hint))
    return devices


def parse_idevice_id(output: str) -> list[str]:
    """UDIDs from ``idevice_id -l`` (one a line, maybe followed by "(USB)"/"(Network)")."""
    return [line.split()[0] for line in output.splitlines() if line.strip()]


def check_ideviceinstaller(outcome: CommandResult, device: str) -> None:
    """Raise IosError unless ``ideviceinstaller -i`` reported ``Complete`` and no error."""
    segments = [s.strip() for s in re.split(r"[\r\n]", outcome.output) if s.strip()]
    errors = [s for s in segments if s.startswith("ERROR:")]
    if any(s.startswith("No device found") for s in segments):
        raise IosError(f"Device {device} is not attached (or went away during the install); "
                       "nothing was installed. Reconnect it and retry.", "DEVICE_DISCONNECTED")
    if errors:
        name = _ERROR_NAME.search(errors[0])
        words = _INSTALL_ERRORS.get(name.group(1), "") if name else ""
        detail = errors[0].removeprefix("ERROR:").strip()
        raise IosError(f"Install on {device} failed: {words + ' (' if words else ''}{detail}"
                       f"{')' if words else ''}.", name.group(1) if name else "INSTALL_FAILED")
    if not any(_status_complete(s) for s in segments):
        raise IosError(f"Install on {device} did not complete (ideviceinstaller exit code "
                       f"{outcome.exit_code}): {failure_excerpt(outcome.output, max_lines=5)}",
                       "INSTALL_FAILED")


def _status_complete(segment: str) -> bool:
    found = _STATUS.match(segment)
    return found is not None and found.group(2) == "Complete"


def _install_progress(progress: Progress) -> Callable[[str], None]:
    def on_line(line: str) -> None:
        for segment in line.split("\r"):
            found = _STATUS.match(segment.strip())
            if found and found.group(3) is not None:
                progress(int(found.group(3)) / 100, found.group(2))
            elif found:
                progress(1.0 if found.group(2) == "Complete" else 0.05, found.group(2))
    return on_line


def _devicectl_failure(args: list[str], data: dict[str, Any], outcome: CommandResult) -> str:
    what = "devicectl " + " ".join(args[:3])
    error = data.get("error") if isinstance(data.get("error"), dict) else None
    if error:
        desc = _dig(error, "userInfo", "NSLocalizedDescription", "string") or "unknown error"
        return f"{what} failed: {desc} ({error.get('domain', '?')} error {error.get('code', '?')})"
    lines = [ln.strip() for ln in outcome.output.splitlines() if ln.startswith("ERROR:")]
    if lines:
        return f"{what} failed: {lines[0].removeprefix('ERROR:').strip()}"
    if outcome.ok:
        return f"{what} gave no readable result (its --json-output file was missing or not JSON)"
    return f"{what} failed with exit code {outcome.exit_code}: {_last_line(outcome)}"


def _devicectl_code(data: dict[str, Any]) -> str:
    code = _dig(data, "error", "code")
    return f"DEVICECTL_{code}" if code is not None else "DEVICECTL_FAILED"


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _last_line(outcome: CommandResult) -> str:
    lines = [ln.strip() for ln in outcome.output.splitlines() if ln.strip()]
    return lines[-1] if lines else f"exit code {outcome.exit_code}, no output"
