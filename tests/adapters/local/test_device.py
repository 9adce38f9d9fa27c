"""Local devices: command templates run for real, with hostile file names."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap
from pathlib import Path

import pytest

from desktop.adapters.local.device import LocalDevice, LocalDeviceError, fill_template

RECORDER = textwrap.dedent(
    """
    import json, sys
    with open(sys.argv[1], "w") as f:
        json.dump(sys.argv[2:], f)
    print("installing", sys.argv[-1], flush=True)
    """
)


def hostile_artifact(tmp_path: Path) -> Path:
    # Commands run in tmp_path, so a shell would leave tmp_path/INJECTED behind and remove
    # tmp_path/keep (only ever things inside tmp_path, should this test ever catch a shell).
    (tmp_path / "keep").mkdir()
    name = "my app 'v2\" ; rm -rf keep ; touch INJECTED $(touch INJECTED) `touch INJECTED`.apk"
    out = tmp_path / "build dir"
    out.mkdir()
    artifact = out / name
    artifact.write_bytes(b"binary")
    return artifact


def noop(_fraction: float, _message: str) -> None:
    pass


async def test_hostile_file_name_is_one_argument_and_no_shell_runs(tmp_path: Path) -> None:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    record = tmp_path / "argv.json"
    artifact = hostile_artifact(tmp_path)
    device = LocalDevice(
        [sys.executable, str(script), str(record), "--file={artifact}", "{artifact}"],
        cwd=tmp_path,
    )
    lines: list[str] = []
    await device.install(artifact, lambda _f, m: lines.append(m))
    argv = json.loads(record.read_text())
    assert argv == [f"--file={artifact}", str(artifact)]
    assert not (tmp_path / "INJECTED").exists()
    assert (tmp_path / "keep").is_dir()
    assert f"installing {artifact}" in lines


def test_fill_template_keeps_elements_and_other_braces() -> None:
    argv = fill_template(
        ["run", "{artifact}", "--id={package}", "{unknown}", "{{x}}"],
        artifact=Path("/a b/c;d.app"),
        package="com.example",
    )
    assert argv == ["run", "/a b/c;d.app", "--id=com.example", "{unknown}", "{{x}}"]


async def test_failing_install_names_the_command_and_its_output(tmp_path: Path) -> None:
    code = "print('cp: cannot create /opt/app: Permission denied'); raise SystemExit(3)"
    device = LocalDevice([sys.executable, "-c", code, "{artifact}"], cwd=tmp_path)
    with pytest.raises(LocalDeviceError) as err:
        await device.install(tmp_path / "a.bin", noop)
    assert "failed with exit code 3" in str(err.value)
    assert "Permission denied" in str(err.value)


async def test_missing_install_tool_is_clear(tmp_path: Path) -> None:
    device = LocalDevice(["no-such-installer-xyz", "{artifact}"], cwd=tmp_path)
    with pytest.raises(LocalDeviceError, match="could not start 'no-such-installer-xyz'"):
        await device.install(tmp_path / "a.bin", noop)


def test_install_template_is_required(tmp_path: Path) -> None:
    with pytest.raises(LocalDeviceError, match=r"\[device\] install: a command template"):
        LocalDevice([], cwd=tmp_path)


async def test_launch_leaves_a_long_running_app_running(tmp_path: Path) -> None:
    artifact = hostile_artifact(tmp_path)
    started = tmp_path / "started"
    app = f"import sys, time; open({str(started)!r}, 'w').write(sys.argv[1]); time.sleep(30)"
    device = LocalDevice(
        [sys.executable, "-c", "pass"],
        [sys.executable, "-c", app, "{artifact}"],
        cwd=tmp_path,
        settle=0.3,
    )
    await device.install(artifact, noop)
    launched = await device.launch()
    assert launched is not None and launched.startswith(sys.executable)
    pid = device.launched_pid
    assert pid is not None
    loop = asyncio.get_running_loop()
    try:
        # A deadline, not a count: a Python child can take seconds to start on a loaded box.
        # Wait for the content too: the file exists (empty) before the child's write lands.
        deadline = loop.time() + 10
        while not (started.exists() and started.read_text()) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        assert started.read_text() == str(artifact)
        os.kill(pid, 0)  # still running after the launch returned
    finally:
        os.killpg(pid, signal.SIGKILL)
    deadline = loop.time() + 10
    while True:  # the reaper thread collects it: no zombie stays behind
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if loop.time() > deadline:
            pytest.fail("launched app was not reaped")
        await asyncio.sleep(0.02)


async def test_launch_that_fails_quickly_is_an_error(tmp_path: Path) -> None:
    crash = "import sys; print('libfoo.so: cannot open shared object file'); sys.exit(127)"
    device = LocalDevice(
        [sys.executable, "-c", "pass"], [sys.executable, "-c", crash], cwd=tmp_path, settle=5
    )
    await device.install(tmp_path / "a.bin", noop)
    with pytest.raises(LocalDeviceError) as err:
        await device.launch()
    assert "exited with code 127" in str(err.value)
    assert "cannot open shared object file" in str(err.value)


async def test_no_launch_command_means_nothing_to_launch(tmp_path: Path) -> None:
    device = LocalDevice([sys.executable, "-c", "pass"], cwd=tmp_path)
    await device.install(tmp_path / "a.bin", noop)
    assert await device.launch() is None
