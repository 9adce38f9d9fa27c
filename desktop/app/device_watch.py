"""Live test-device list for the picker: adb's track-devices, iOS polled rarely.

Pure asyncio (no Qt): :func:`watch_devices` calls ``emit`` with the full list of
:class:`DeviceChoice` each time something changes. adb missing or its server not starting
becomes one entry saying why (never an exception), and the watch retries with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from typing import cast

from desktop.adapters.android.devices import AndroidDevice, AndroidDevices
from desktop.adapters.ios.devices import IosDevice, IosDevices, IosError
from desktop.app.device_choice import DeviceChoice

__all__ = ["IosDevices", "android_choices", "ios_choices", "watch_devices"]


def _label(name: str, serial: str, os_name: str, version: str, state: str, ready: bool) -> str:
    head = f"{name} ({serial})" if name and name != serial else serial
    if not ready:
        return f"{head} · {state}"
    return f"{head} · {os_name} {version}" if version else head


def android_choices(devices: Sequence[AndroidDevice]) -> list[DeviceChoice]:
    """Picker entries for adb's devices, with what to do about the ones not ready."""
    return [DeviceChoice(d.serial, _label(d.model, d.serial, "Android", d.android_version,
                                          d.state, d.ready), d.ready, d.hint)
            for d in devices]


def ios_choices(devices: Sequence[IosDevice]) -> list[DeviceChoice]:
    """Picker entries for the iOS devices the platform tools see."""
    return [DeviceChoice(d.identifier, _label(d.name or d.model, d.identifier, "iOS",
                                              d.os_version, d.state, d.ready),
                         d.ready, d.hint, "ios")
            for d in devices]


@dataclass
class _Latest:
    android: list[DeviceChoice]
    ios: list[DeviceChoice]


async def watch_devices(
    android: Callable[[], AndroidDevices],
    emit: Callable[[list[DeviceChoice]], None],
    *,
    ios: IosDevices | None = None,
    backoff_s: tuple[float, float] = (0.5, 30.0),
    ios_every_s: float = 30.0,
) -> None:
    """Emit the device list on every change until cancelled.

    ``android`` builds the adb client (it may raise, e.g. a bad ANDROID_ADB_SERVER_PORT);
    iOS is listed every ``ios_every_s`` when its tools exist, else never.
    """
    latest = _Latest([], [])

    def publish() -> None:
        emit([*latest.android, *latest.ios])

    async def poll_ios() -> None:
        assert ios is not None
        try:
            ios.backend()
        except IosError:
            return  # no iOS tools on this machine: nothing to list, nothing to say
        while True:
            try:
                found = ios_choices(await ios.list())
            except IosError as exc:
                found = [DeviceChoice("", f"iOS: {exc}", False, str(exc), "problem")]
            if found != latest.ios:
                latest.ios = found
                publish()
            await asyncio.sleep(ios_every_s)

    ios_task = asyncio.ensure_future(poll_ios()) if ios is not None else None
    delay = backoff_s[0]
    try:
        while True:
            try:
                client = android()
                # An async generator: closing it at once closes adb's socket on cancel.
                tracked = cast(AsyncGenerator[list[AndroidDevice], None], client.track())
                async with contextlib.aclosing(tracked) as stream:
                    async for devices in stream:
                        delay = backoff_s[0]
                        latest.android = android_choices(devices)
                        publish()
                reason = "the adb server stopped"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # adb missing, the server not starting, it went away
                reason = str(exc) or type(exc).__name__
            latest.android = [DeviceChoice(
                "", f"Android: {reason} (retrying in {delay:g} s)", False, reason, "problem")]
            publish()
            await asyncio.sleep(delay)
            delay = min(delay * 2, backoff_s[1])
    finally:
        if ios_task is not None:
            ios_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ios_task
