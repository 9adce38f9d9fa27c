"""The test devices as the bridge sees them: the live list (``devices_changed``) and what a
phone shows now (a mixin of :class:`~desktop.ui.bridge.Bridge`).

Device watching and screenshots (the adb and iOS adapters) load when first used, after the
window is complete: none of them is needed to list the history."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

    from desktop.app.device_choice import DeviceChoice
    from desktop.app.screens import PhoneScreen
    from desktop.app.services import Services
    from desktop.core.state import ChangeView

__all__ = ["DeviceBridge", "DeviceWatching"]

T = TypeVar("T")


class DeviceBridge(Protocol):
    """The bridge the devices are mixed into: its services, views, signal and helpers."""

    services: Services
    views: dict[str, ChangeView]
    devices_changed: SignalInstance
    devices: list[DeviceChoice]
    _device_watch: asyncio.Task[None] | None

    def _spawn(self, coro: Awaitable[T]) -> asyncio.Task[T]: ...

    async def _watch_devices(self, ios: bool, backoff_s: float) -> None: ...

    def _on_devices(self, devices: list[DeviceChoice]) -> None: ...


class DeviceWatching:
    """Mixed into the bridge (see :class:`DeviceBridge` for what it needs)."""

    devices: list[DeviceChoice]  # the newest list, as ``devices_changed`` said it
    _device_watch: asyncio.Task[None] | None

    def _init_devices(self) -> None:
        self.devices = []
        self._device_watch = None

    def watch_devices(self: DeviceBridge, *, ios: bool = True) -> None:
        """Track test devices in the background (until shutdown); ``devices_changed`` says
        each new list. HONK_DEVICE_WATCH=0 in the environment turns it off (tests)."""
        if self._device_watch is not None or self.services.env.get(
                "HONK_DEVICE_WATCH", "1") == "0":
            return
        backoff = float(self.services.env.get("HONK_RETRY_BACKOFF_S", "0.5"))
        self._device_watch = self._spawn(self._watch_devices(ios, max(backoff, 0.05)))

    async def _watch_devices(self: DeviceBridge, ios: bool, backoff_s: float) -> None:
        from desktop.app.device_watch import IosDevices, watch_devices

        await watch_devices(self.services.installers.android, self._on_devices,
                            ios=IosDevices() if ios else None, backoff_s=(backoff_s, 30.0))

    def _on_devices(self: DeviceBridge, devices: list[DeviceChoice]) -> None:
        self.devices = list(devices)
        self.devices_changed.emit(self.devices)

    async def phone_screen(self: DeviceBridge, change_id: str | None,
                           serial: str | None) -> PhoneScreen:
        """What the phone shows now: the device ``change_id`` went to (``serial`` overrides
        it), else ``serial``. A device problem comes back as the screen's ``reason``."""
        from desktop.app.screens import change_screen, device_screen

        installers = self.services.installers
        if change_id and change_id in self.views:
            return await change_screen(self.services.context, installers, change_id, serial)
        kind = next((d.kind for d in self.devices if d.serial == serial), "android")
        return await device_screen(installers, serial, kind)
