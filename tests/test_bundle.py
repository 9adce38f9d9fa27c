"""The PyInstaller bundle builds from build.spec, starts, and runs the headless demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_bundle_builds_and_runs_the_demo() -> None:
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "build_bundle.sh")], cwd=ROOT,
                          capture_output=True, text=True, env={"PYTHON": sys.executable,
                                                               "PATH": "/usr/bin:/bin",
                                                               "HOME": str(Path.home())})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "bundle: built in" in proc.stdout
    assert "OK: edits streamed, verified, judged, built, installed, approved, merged" in proc.stdout
    assert (ROOT / "dist" / "honk" / "honk").is_file()
