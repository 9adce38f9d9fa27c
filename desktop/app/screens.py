"""The phone's screen, for the window's device panel: a PNG the device takes of itself
(`adb exec-out screencap -p` on Android), after a change's install and launch or whenever
the person asks; or, where the platform's tools cannot take one, why there is no image."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.app.inputs import read_config
from desktop.core.errors import HonkError

if TYPE_CHECKING:
    from desktop.app.context import AppContext
    from desktop.app.devices import InstallSteps

__all__ = ["IOS_REASON", "LOCAL_REASON", "PhoneScreen", "change_screen", "device_screen"]

IOS_REASON = ("No image from an iOS device: Apple's devicectl has no screenshot command, and "
              "libimobiledevice's idevicescreenshot needs the developer disk image mounted "
              "(Xcode does that). Look at the phone itself, or use Xcode's Devices window.")
LOCAL_REASON = "The app runs on this computer: look at its own window."


@dataclass(frozen=True)
class PhoneScreen:
    """One picture of a device's screen (``png``), or ``reason`` why there is none."""

    device: str  # the serial it came from, or "" when no device was chosen
    png: bytes = b""
    reason: str = ""
    taken_at: float = field(default_factory=time.time)


async def device_screen(installers: InstallSteps, serial: str | None,
                        kind: str = "android") -> PhoneScreen:
    """What ``serial`` shows now (``kind``: android, ios or local). Never raises for a device
    problem: the reason is the answer (adb missing, the device gone, a refusal)."""
    if kind == "ios":
        return PhoneScreen(serial or "", reason=IOS_REASON)
    if kind == "local":
        return PhoneScreen(serial or "", reason=LOCAL_REASON)
    if not serial:
        return PhoneScreen("", reason="No device chosen: pick one in the device list, then "
                                      "take a screenshot again.")
    from desktop.adapters.android.errors import DeviceError  # lazy: adb loads on first use

    try:
        png = await installers.android().screenshot(serial)
    except (DeviceError, OSError) as exc:
        return PhoneScreen(serial, reason=f"No screenshot from {serial}: {exc}")
    return PhoneScreen(serial, png=png)


async def change_screen(context: AppContext, installers: InstallSteps, change_id: str,
                        serial: str | None = None) -> PhoneScreen:
    """The screen of the device ``change_id`` was installed on (``serial`` overrides it),
    of the kind its repo's honk.toml names."""
    view = await context.offload(context.view, change_id)
    kind = "android"
    if view.repo:
        try:
            config = await context.offload(read_config, Path(view.repo))
            kind = config.device.kind if config.device is not None else "android"
        except HonkError:  # a broken honk.toml: the phone may still answer as Android
            kind = "android"
    return await device_screen(installers, serial or view.device, kind)
