"""Which test device a change is installed on: builds the install step for honk.toml's
``[device]`` and the device the person chose (``--device`` or the GUI's picker)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.adapters.android.devices import AndroidDevices
    from desktop.core.config import DeviceConfig
    from desktop.core.pipeline import ChangeContext, Step

# The device adapters (adb, iOS tools, local commands) are imported when a change needs an
# install step or the device list, never when the services are built.

__all__ = ["InstallSteps", "list_devices"]


class InstallSteps:
    """``installer_for`` for :class:`desktop.app.context.AppContext`.

    Android and iOS install only when a device was chosen: a change made with no phone at
    hand stops at approval instead of failing. A local device is this computer: always.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self._android: AndroidDevices | None = None

    def android(self) -> AndroidDevices:
        if self._android is None:
            from desktop.adapters.android.devices import AndroidDevices

            self._android = AndroidDevices(adb_path=self.env.get("HONK_ADB") or None,
                                           env=self.env)
        return self._android

    def __call__(self, device: DeviceConfig, serial: str | None) -> Step | None:
        from desktop.adapters.ios.devices import IosDevices, IosInstaller
        from desktop.adapters.local.device import LocalDevice
        from desktop.steps.install import AndroidInstaller, Installer, InstallStep

        if device.kind == "local":
            def local(ctx: ChangeContext) -> Installer:
                return LocalDevice(device.install, device.launch, cwd=Path(ctx.worktree),
                                   package=device.package)
            return InstallStep(local)
        if serial is None:
            return None
        if device.kind == "ios":
            ios = IosDevices()
            return InstallStep(lambda ctx: IosInstaller(ios, serial, device.package))
        android = self.android()
        return InstallStep(
            lambda ctx: AndroidInstaller(android, serial, device.package, device.activity,
                                         sha256=ctx.artifact_sha256))


async def list_devices(installers: InstallSteps) -> tuple[list[dict[str, object]], list[str]]:
    """Every test device adb and the iOS tools see, as rows for `honk devices`, and the
    problems met on the way (adb missing, no iOS tools), each naming its kind."""
    from dataclasses import asdict

    from desktop.adapters.android.errors import DeviceError
    from desktop.adapters.ios.devices import IosDevices, IosError

    rows: list[dict[str, object]] = []
    problems: list[str] = []
    try:
        for d in await installers.android().list():
            rows.append({"kind": "android", **asdict(d)})
    except DeviceError as exc:
        problems.append(f"android: {exc}")
    try:
        for i in await IosDevices().list():
            rows.append({"kind": "ios", **asdict(i)})
    except IosError as exc:
        problems.append(f"ios: {exc}")
    return rows, problems
