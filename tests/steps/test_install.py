"""The install stage: the built sha256 follows the artifact to the device, for any device kind."""

# Fixtures are imported by name until tests/conftest.py lists tests.helpers.adb as a plugin;
# their parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from desktop.adapters.android.devices import AndroidDevices
from desktop.adapters.local.device import LocalDevice
from desktop.core.build_events import Installed, Launched
from desktop.core.config import HonkConfig
from desktop.core.events import Event, StageProgress
from desktop.core.pipeline import ChangeContext
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.stand_ins import write_apk
from desktop.steps.install import AndroidInstaller, Installer, InstallStep
from tests.helpers.adb import (  # noqa: F401
    AdbServer,
    adb_server,
    device_factory,
    virtual_device,
)

RECORD = (  # the install command: copy the artifact to where the test can read it back
    "import sys, pathlib; "
    "pathlib.Path(sys.argv[1]).write_bytes(pathlib.Path(sys.argv[2]).read_bytes())"
)


def make_ctx(artifact: Path | None, events: list[Event], sha: str | None = None) -> ChangeContext:
    if artifact is not None and sha is None and artifact.exists():
        sha = hashlib.sha256(artifact.read_bytes()).hexdigest()
    return ChangeContext(
        change_id="c1", request="r", worktree=str(artifact.parent if artifact else "."),
        branch="b", base_commit="0" * 40, config=HonkConfig(), emit=events.append, model="m",
        artifact_path=str(artifact) if artifact else None, artifact_sha256=sha,
    )


def local(tmp_path: Path, *, launch: bool = True) -> tuple[LocalDevice, Path]:
    """A local device whose install copies the artifact to ``installed.bin``."""
    target = tmp_path / "installed.bin"
    device = LocalDevice(
        [sys.executable, "-c", RECORD, str(target), "{artifact}"],
        [sys.executable, "-c", "print('started')"] if launch else (),
        cwd=tmp_path, package="com.example.desktop", settle=5,
    )
    return device, target


def artifact(tmp_path: Path, data: bytes = b"\x7fELF honk build") -> Path:
    path = tmp_path / "out" / "honk.bin"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


async def test_local_install_and_launch_carry_the_sha256(tmp_path: Path) -> None:
    device, target = local(tmp_path)
    built = artifact(tmp_path)
    events: list[Event] = []
    ctx = make_ctx(built, events)
    result = await InstallStep(lambda _ctx: device).run(ctx)
    assert result.ok, result.reason
    assert target.read_bytes() == built.read_bytes()
    [installed] = [e for e in events if isinstance(e, Installed)]
    assert (installed.device, installed.kind, installed.artifact_sha256) == (
        "this computer", "local", ctx.artifact_sha256)
    [launched] = [e for e in events if isinstance(e, Launched)]
    assert launched.device == "this computer" and launched.package.startswith(sys.executable)
    progress = [e for e in events if isinstance(e, StageProgress)]
    assert progress[0].percent == 0.0 and progress[-1].percent == 100.0


async def test_a_changed_artifact_is_never_installed(tmp_path: Path) -> None:
    device, target = local(tmp_path)
    built = artifact(tmp_path)
    events: list[Event] = []
    ctx = make_ctx(built, events)
    built.write_bytes(b"tampered after the build")
    result = await InstallStep(lambda _ctx: device).run(ctx)
    assert not result.ok
    assert "changed since it was built" in result.reason and "build again" in result.reason
    assert not target.exists()
    assert not [e for e in events if isinstance(e, Installed)]


async def test_nothing_built_or_artifact_gone(tmp_path: Path) -> None:
    device, _ = local(tmp_path)
    result = await InstallStep(lambda _ctx: device).run(make_ctx(None, []))
    assert not result.ok and "no artifact" in result.reason
    gone = tmp_path / "gone.apk"
    result = await InstallStep(lambda _ctx: device).run(make_ctx(gone, [], sha="a" * 64))
    assert not result.ok and f"{gone} is gone" in result.reason


async def test_a_failing_install_is_a_clear_failure(tmp_path: Path) -> None:
    device = LocalDevice([sys.executable, "-c", "print('disk full'); exit(2)"], cwd=tmp_path)
    events: list[Event] = []
    result = await InstallStep(lambda _ctx: device).run(make_ctx(artifact(tmp_path), events))
    assert not result.ok and result.back_to_agent is None
    assert result.reason.startswith("install on this computer failed:")
    assert "exit code 2" in result.reason and "disk full" in result.reason
    assert not [e for e in events if isinstance(e, Installed)]


async def test_no_launch_configured_means_no_launched_event(tmp_path: Path) -> None:
    device, _ = local(tmp_path, launch=False)
    events: list[Event] = []
    result = await InstallStep(lambda _ctx: device).run(make_ctx(artifact(tmp_path), events))
    assert result.ok
    assert [type(e) for e in events if isinstance(e, Installed | Launched)] == [Installed]


async def test_android_through_the_real_adb(adb_server: AdbServer,
                                            virtual_device: VirtualAdbDevice,
                                            tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app" / "app-debug.apk")
    devices = AndroidDevices(server_port=adb_server.port, env=adb_server.env)
    installer: Installer = AndroidInstaller(devices, None, "com.example.honk", ".MainActivity")
    events: list[Event] = []
    ctx = make_ctx(apk, events)
    result = await InstallStep(lambda _ctx: installer).run(ctx)
    assert result.ok, result.reason
    # The device received exactly the bytes that were built.
    assert virtual_device.packages["com.example.honk"].sha256 == ctx.artifact_sha256
    [installed] = [e for e in events if isinstance(e, Installed)]
    assert installed.kind == "android" and virtual_device.address in installed.device
    assert installed.artifact_sha256 == ctx.artifact_sha256
    [launched] = [e for e in events if isinstance(e, Launched)]
    assert launched.package == "com.example.honk/.MainActivity"


async def test_android_launch_failure_is_reported(adb_server: AdbServer,
                                                  virtual_device: VirtualAdbDevice,
                                                  tmp_path: Path) -> None:
    apk = write_apk(tmp_path / "app-debug.apk")
    devices = AndroidDevices(server_port=adb_server.port, env=adb_server.env)
    installer = AndroidInstaller(devices, virtual_device.address, "com.example.other", ".Main")
    result = await InstallStep(lambda _ctx: installer).run(make_ctx(apk, []))
    assert not result.ok
    assert result.reason.startswith("installed on")
    assert "launch failed" in result.reason and "com.example.other" in result.reason


def test_installed_events_journal_round_trip() -> None:
    from desktop.core.events import event_from_dict, event_to_dict

    event = Installed(change="c1", device="Pixel (s)", kind="android",
                      artifact_sha256="f" * 64, seconds=1.5)
    assert event_from_dict(json.loads(json.dumps(event_to_dict(event)))) == event
