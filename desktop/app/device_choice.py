"""One entry of the test-device picker. Its own module: the composer shows the entries at
start-up, while the watch that finds them (``device_watch``, the adb and iOS adapters)
loads only once the window is complete."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DeviceChoice"]


@dataclass(frozen=True)
class DeviceChoice:
    """One picker entry. ``serial`` is what the install takes; empty for a problem line."""

    serial: str
    label: str
    ready: bool
    hint: str = ""
    kind: str = "android"  # android | ios | problem
