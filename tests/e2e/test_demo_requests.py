"""`honk demo` with a request in the person's own words, and without ever touching the
person's keyring (a recording keyring backend proves it, in a child process as a newcomer
runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.recording_keyring import BACKEND, LOG_ENV, calls

ROOT = Path(__file__).resolve().parents[2]
OWN = "Make the play button larger on small screens"


def _honk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=90,
                          check=False, stdin=subprocess.DEVNULL)


def test_the_recording_keyring_records_when_chosen_by_name(tmp_path: Path) -> None:
    log = tmp_path / "keyring.log"
    subprocess.run([sys.executable, "-c", "import keyring; keyring.get_password('s', 'u')"],
                   cwd=ROOT, env={**os.environ, "PYTHON_KEYRING_BACKEND": BACKEND,
                                  LOG_ENV: str(log)}, check=True, timeout=30)
    assert ["get_password", "s", "u"] in calls(log)  # so an empty log below means something


def test_a_request_in_your_own_words_reaches_merged_and_never_touches_the_keyring(
    tmp_path: Path,
) -> None:
    log = tmp_path / "keyring.log"
    done = _honk("demo", "--headless", "--request", OWN,
                 env={"PYTHON_KEYRING_BACKEND": BACKEND, LOG_ENV: str(log)})
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    for line in (f"DEMO  request: {OWN}",
                 "DEMO  edit streaming live: str_replace player/layout.py",
                 "DEMO  verifier 'unit tests' FAILED",
                 "DEMO  judge: approve",
                 "DEMO  installed on Honk Demo Phone",
                 "DEMO  merged into origin/main",
                 "DEMO  OK: edits streamed, verified, judged, built, installed, approved, merged"):
        assert line in out, f"missing {line!r} in:\n{out}"
    assert "no route" not in out + done.stderr
    # Loading the backend (the warm-up preloads the keyring's plugins) asks it nothing; no
    # secret was read, stored or deleted through it.
    reached = [c for c in calls(log) if c[0] != "init"]
    assert reached == [], reached


def test_the_suggested_demo_never_touches_the_keyring_either(tmp_path: Path) -> None:
    log = tmp_path / "keyring.log"
    done = _honk("demo", "--headless", "--json",
                 env={"PYTHON_KEYRING_BACKEND": BACKEND, LOG_ENV: str(log)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert [c for c in calls(log) if c[0] != "init"] == []
