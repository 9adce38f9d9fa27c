"""Start the app on a real X server (Xvfb) and save screenshots of its main states into
``screenshots/`` at the repo root, so anyone can look at them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ("01-compose", "02-streaming-edit", "03-applied-awaiting-approval", "04-side-by-side",
         "05-command-palette", "06-cheat-sheet", "07-approval-panel")


@pytest.fixture
def xvfb_display(tmp_path: Path) -> Iterator[str]:
    if shutil.which("Xvfb") is None:
        pytest.skip("the Xvfb binary is missing (apt-get install xvfb; .ci/run installs it)")
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, "Xvfb did not report a display number"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.xvfb
def test_screenshots_of_the_main_states(xvfb_display: str, tmp_path: Path) -> None:
    out = ROOT / "screenshots"
    for name in SHOTS:
        (out / f"{name}.png").unlink(missing_ok=True)
    env = {**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb",
           "HONK_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "tests.ui.screenshot_app", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in SHOTS:
        image = QImage(str(out / f"{name}.png"))
        assert not image.isNull(), f"{name}.png was not written"
        assert image.width() >= 1000 and image.height() >= 600, (name, image.size())
        colours = {image.pixel(x, y) for x in range(0, image.width(), 7)
                   for y in range(0, image.height(), 7)}
        assert len(colours) > 40, f"{name}.png looks blank ({len(colours)} colours)"
