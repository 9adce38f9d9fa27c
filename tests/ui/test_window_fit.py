"""The window as a person lives in it, on a real X server (Xvfb) at 1280x800 and 1920x1080, in
light and dark: `honk demo` driven through running, awaiting approval, merged and failed
(tests/ui/window_flow.py), asserted by geometry and state, never by pixels.

Screenshots land in ``screenshots/window-<size>-<scheme>/`` at the repo root for anyone to
look at; docs/window.png and docs/window-dark.png are copies of the 1280x800 ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATES = ("running", "awaiting_approval", "merged", "failed")
FOLLOW_UP = {  # what the line under the diff says in each state
    "running": "is running; cancel it (Esc) to revise",
    "awaiting_approval": "awaits your approval",
    "merged": "is merged",
    "failed": "failed; a follow-up runs it again",
}


@pytest.fixture
def screen(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, int]]:
    """An Xvfb display of the parametrized size: (DISPLAY, width, height)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("the Xvfb binary is missing (apt-get install xvfb; .ci/run installs it)")
    width, height = request.param
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
         "-nolisten", "tcp"], pass_fds=(write,), stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as pipe:
        number = pipe.readline().strip()
    try:
        assert number, "Xvfb did not report a display number"
        yield f":{number}", width, height
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _flow(display: str, width: int, height: int, scheme: str, tmp: Path) -> list[dict[str, Any]]:
    out = ROOT / "screenshots" / f"window-{width}x{height}-{scheme}"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "HONK_HOME": str(tmp / "home"), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run([sys.executable, "-m", "tests.ui.window_flow", str(out),
                           f"{width}x{height}", scheme], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    reports: list[dict[str, Any]] = json.loads((out / "report.json").read_text("utf-8"))
    return reports


@pytest.mark.xvfb
@pytest.mark.slow
@pytest.mark.timeout(300)  # above the flow's own 110 s subprocess timeout plus Xvfb
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("screen", [(1280, 800), (1920, 1080)], indirect=True,
                         ids=["1280x800", "1920x1080"])
def test_the_window_fits_in_every_resting_state(screen: tuple[str, int, int], scheme: str,
                                                tmp_path: Path) -> None:
    display, width, height = screen
    reports = _flow(display, width, height, scheme, tmp_path)
    assert [r["state"] for r in reports] == list(STATES)
    for r in reports:
        where = f"{r['state']} at {width}x{height} {scheme}: {r}"
        running = r["view_state"] in ("queued", "agent_running", "verifying", "committing")
        assert running if r["state"] == "running" else r["view_state"] == r["state"], where
        assert r["scheme"] == scheme, where
        # The window never resizes itself as panels fill.
        assert r["window"] == [width, height], where
        # The diff is the main thing on screen; one file needs no file tree beside it.
        assert r["diff_width"] * 2 >= width, where
        assert r["files"] != 1 or not r["tree_visible"], where
        # The evidence is read without scrolling sideways, nothing cut.
        assert not r["approval_hscroll"] and r["approval_fits"], where
        # The line under the diff says what the change allows now.
        assert FOLLOW_UP[r["state"]] in r["follow_up"], where
        # The transcript shows its newest entry.
        assert r["transcript_at_end"], where
        # A change is selected: the composer is one line.
        assert r["composer_folded"], where
    awaiting = reports[1]
    assert awaiting["approval_visible"] and "Ready to approve" in awaiting["approval_status"]
    assert awaiting["device_visible"] and awaiting["device_png"]  # the phone after install
    assert min(awaiting["device_image"]) > 40
    assert "Merged into origin/main" in reports[2]["approval_status"]
