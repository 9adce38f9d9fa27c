"""The virtual phone's screen: `screencap -p` answers a real PNG that draws the installed
sample app's own layout, so the demo's fix visibly moves the play button between the build
before and the build after. Taken through the app's use case (adb server protocol)."""

# Fixtures are imported by name until tests/conftest.py lists tests.helpers.adb as a plugin;
# their parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from desktop.app.devices import InstallSteps
from desktop.app.screens import device_screen
from desktop.demo.environment import demo_resources
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.phone_screen import DP, SCREEN_PX, STATUS_DP
from tests.helpers.adb import (  # noqa: F401
    AdbServer,
    adb_server,
    device_factory,
    virtual_device,
)

PACKAGE = "com.example.honkplayer"
OLD = "    y = (height - 3 * size) // 8\n"
FIXED = "    y = max(TITLE_HEIGHT + MARGIN, (height - 3 * size) // 8)\n"


def _decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and RGB rows of a PNG as the virtual phone writes it (filter 0, RGB)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    assert (depth, colour) == (8, 2)
    data, at = b"", 8
    while at < len(png):
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        if kind == b"IDAT":
            data += png[at + 8:at + 8 + length]
        at += 12 + length
    raw = zlib.decompress(data)
    stride = 1 + 3 * width
    rows = [raw[y * stride + 1:(y + 1) * stride] for y in range(height)]
    assert all(raw[y * stride] == 0 for y in range(height))
    return width, height, rows


def _build(app: Path) -> Path:
    subprocess.run([sys.executable, "build_apk.py"], cwd=app, check=True, capture_output=True)
    return app / "build" / "outputs" / "app-debug.apk"


def _band(rows: list[bytes], top_dp: int, bottom_dp: int) -> list[bytes]:
    top = (STATUS_DP + top_dp) * DP
    return rows[top:(STATUS_DP + bottom_dp) * DP]


async def test_the_fix_moves_the_play_button_in_the_screenshot(
    adb_server: AdbServer, virtual_device: VirtualAdbDevice, tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    shutil.copytree(demo_resources() / "demo" / "app", app,
                    ignore=shutil.ignore_patterns("__pycache__", "build"))
    installers = InstallSteps(adb_server.env)
    devices, serial = installers.android(), virtual_device.address
    shots = []
    for source in (OLD, FIXED):
        layout = app / "player" / "layout.py"
        layout.write_text(layout.read_text().replace(OLD, source))
        await devices.install(serial, _build(app))
        await devices.launch(serial, PACKAGE, ".MainActivity")
        screen = await device_screen(installers, serial)
        assert screen.png and not screen.reason
        shots.append(_decode(screen.png))
    (w, h, before), (_, _, after) = shots
    assert (w, h) == SCREEN_PX
    # Before, the 72 dp button starts at y=53, over the 56 dp title bar; after, at y=72.
    assert _band(before, 53, 56) != _band(after, 53, 56)  # the overlap is gone
    assert _band(before, 125, 144) != _band(after, 125, 144)  # the button reaches lower
    assert _band(before, 0, 40) == _band(after, 0, 40)  # the title is where it was
    assert _band(before, 200, 640) == _band(after, 200, 640)  # the rest of the screen too
    middle = w // 2 * 3
    button = after[(STATUS_DP + 108) * DP]  # the button's centre row after the fix
    assert button[middle:middle + 3] != after[(STATUS_DP + 300) * DP][middle:middle + 3]


async def test_no_app_in_front_shows_the_home_screen(
    adb_server: AdbServer, virtual_device: VirtualAdbDevice,
) -> None:
    screen = await device_screen(InstallSteps(adb_server.env), virtual_device.address)
    width, height, rows = _decode(screen.png)
    assert (width, height) == SCREEN_PX
    assert rows[0][:3] == bytes((24, 24, 27))  # the status bar
    assert rows[(STATUS_DP + 100) * DP][:3] == bytes((70, 90, 120))  # the home screen
