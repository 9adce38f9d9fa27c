"""The install stage: put the built artifact on the test device and launch the app.

Device-neutral: each kind of device (Android, iOS, local) sits behind the small
:class:`Installer` protocol. Before anything is installed, the file's sha256 is checked
against the one the build recorded, so the bytes on the device are the bytes that were built.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from desktop.adapters.android.devices import AndroidDevices, DeviceError
from desktop.adapters.ios.devices import IosError
from desktop.adapters.local.device import LocalDeviceError
from desktop.core.build_events import Installed, Launched
from desktop.core.events import StageProgress
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.stages import Stage
from desktop.steps.build import sha256_of

__all__ = ["AndroidInstaller", "InstallStep", "Installer", "Progress"]

Progress = Callable[[float, str], None]  # fraction done (0..1), what is happening

# Failures a device reports in plain words; anything else is a bug and propagates.
_DEVICE_ERRORS = (DeviceError, IosError, LocalDeviceError)


class Installer(Protocol):
    kind: str  # android | ios | local

    async def install(self, artifact: Path, progress: Progress) -> object:
        """Install ``artifact``; raise a device error in plain words when it fails."""
        ...

    async def launch(self) -> str | None:
        """Start the app; what was started, or None when there is nothing to launch."""
        ...

    def describe(self) -> str:
        """The device, as a person reads it (e.g. 'Pixel 7 (serial 1A2B)')."""
        ...


class AndroidInstaller:
    """An Android device through the real adb (:class:`AndroidDevices`)."""

    kind = "android"

    def __init__(
        self, devices: AndroidDevices, serial: str | None, package: str, activity: str,
        *, sha256: str | None = None,
    ) -> None:
        self.sha256 = sha256  # the artifact's hash, already checked by the install stage
        self.devices = devices
        self.serial = serial
        self.package = package
        self.activity = activity
        self._label = serial or "the connected Android device"

    def describe(self) -> str:
        return self._label

    async def install(self, artifact: Path, progress: Progress) -> object:
        device = await self.devices.choose(self.serial)
        self.serial = device.serial  # launch on the device the app went to
        self._label = f"{device.model} ({device.serial})" if device.model else device.serial
        return await self.devices.install(device.serial, artifact, progress, sha256=self.sha256)

    async def launch(self) -> str | None:
        if not self.activity:
            return None  # no [device] activity: installed, nothing to start
        if self.serial is None:
            raise DeviceError("launch before install: no device chosen yet", "NO_DEVICE")
        await self.devices.launch(self.serial, self.package, self.activity)
        return f"{self.package}/{self.activity}"


class InstallStep:
    """The pipeline's install stage; ``installer_for`` picks the device for a change."""

    stage = Stage.INSTALL

    def __init__(
        self,
        installer_for: Callable[[ChangeContext], Installer],
        *,
        launch: bool = True,
        max_returns: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.installer_for = installer_for
        self.launch = launch
        self.max_returns = max_returns
        self._clock = clock

    async def run(self, ctx: ChangeContext) -> StepResult:
        """Check the artifact's sha256, install, launch; each as an event."""
        problem = await self._check_artifact(ctx)
        if problem:
            return StepResult(ok=False, reason=problem)
        assert ctx.artifact_path is not None and ctx.artifact_sha256 is not None
        artifact = Path(ctx.artifact_path)
        try:
            installer = self.installer_for(ctx)
        except _DEVICE_ERRORS as exc:
            return StepResult(ok=False, reason=f"no device to install on: {exc}")

        def progress(fraction: float, message: str) -> None:
            percent = round(min(max(fraction, 0.0), 1.0) * 100, 1)
            ctx.emit(StageProgress(
                change=ctx.change_id, stage=Stage.INSTALL, message=message, percent=percent))

        started = self._clock()
        try:
            await installer.install(artifact, progress)
        except _DEVICE_ERRORS as exc:
            return StepResult(ok=False, reason=f"install on {installer.describe()} failed: {exc}")
        device = installer.describe()
        ctx.emit(Installed(
            change=ctx.change_id, device=device, kind=installer.kind,
            artifact_sha256=ctx.artifact_sha256, seconds=round(self._clock() - started, 3),
        ))
        if not self.launch:
            return StepResult(ok=True, reason=f"installed on {device}")
        try:
            launched = await installer.launch()
        except _DEVICE_ERRORS as exc:
            return StepResult(ok=False, reason=f"installed on {device}, but launch failed: {exc}")
        if launched is not None:
            ctx.emit(Launched(change=ctx.change_id, device=device, package=launched))
        return StepResult(ok=True, reason=f"installed on {device}")

    @staticmethod
    async def _check_artifact(ctx: ChangeContext) -> str:
        """Why the artifact may not be installed ("" when it may)."""
        if ctx.artifact_path is None or ctx.artifact_sha256 is None:
            return "nothing to install: the build stage recorded no artifact (build first)"
        path = Path(ctx.artifact_path)
        if not path.is_file():
            return f"the built artifact {path} is gone; build again"
        actual = await asyncio.to_thread(sha256_of, path)
        if actual != ctx.artifact_sha256:
            return (
                f"the artifact {path} changed since it was built (sha256 {actual[:12]}..., "
                f"built {ctx.artifact_sha256[:12]}...); build again so the device gets "
                "what was verified"
            )
        return ""
