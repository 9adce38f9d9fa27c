"""`honk demo --headless` plays the phone path too: a request from Slack on the "phone",
the thread with the build in it, Approve tapped, Merged (a subprocess, as a newcomer runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_headless_demo_plays_the_phone_path_over_slack() -> None:
    done = subprocess.run([sys.executable, "-m", "desktop", "demo", "--headless"], cwd=ROOT,
                          env=dict(os.environ), capture_output=True, text=True, timeout=90,
                          check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in ("DEMO  phone: /honk The play button should say Pause while a track is playing",
                 "DEMO  phone: the thread in Slack:",
                 "in *honk-player*: awaiting approval",
                 "DEMO  phone: ├ *Ready for approval*",
                 "DEMO  phone: ├ *Installed on:* Honk Demo Phone",
                 "DEMO  phone: ├ [ Approve and merge ]  [ Reject ]",
                 "DEMO  phone: ├ 📎 app-debug.apk",
                 "DEMO  phone: tapped [ Approve and merge ]",
                 "DEMO  phone: ├ ✅ Merged:",
                 "DEMO  check phone: ok (",
                 "approved by slack:U0DEMOPHONE (demo), merged)",
                 "DEMO  OK (phone): asked from Slack, followed in its thread, build posted there, "
                 "approved from the phone, merged"):
        assert line in out, f"missing {line!r} in:\n{out}"
    assert out.rstrip().splitlines()[-1].startswith("DEMO  OK: edits streamed")
    assert "xoxb-" not in out + done.stderr and "xapp-" not in out + done.stderr
