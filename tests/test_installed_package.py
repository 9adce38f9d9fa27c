"""`pip install .` (not editable) gives a working `honk` whose resources are found."""

from __future__ import annotations

import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pip_install_dot_gives_a_working_honk(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # The dependencies come from the test environment (no network needed); the package
    # itself is built and installed for real, as `pip install .` does.
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    Path(purelib, "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    build = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps",
                            str(ROOT)], capture_output=True, text=True, cwd=tmp_path)
    assert build.returncode == 0, build.stdout + build.stderr
    env = {**os.environ, "HONK_HOME": str(tmp_path / "home"), "QT_QPA_PLATFORM": "offscreen"}
    honk = venv / "bin" / "honk"
    assert "usage: honk" in subprocess.run([str(honk), "--help"], capture_output=True, text=True,
                                           env=env, check=True, cwd=tmp_path).stdout
    probe = subprocess.run([str(py), "-c", "import desktop, desktop.app.resources as r; "
                            "print(desktop.__file__); print(r.resources_dir())"],
                           capture_output=True, text=True, env=env, check=True, cwd=tmp_path)
    module_file, resources = probe.stdout.split()
    assert str(venv) in module_file, "imported the source tree, not the installed package"
    assert (Path(resources) / "icons" / "honk.svg").is_file()
    demo = subprocess.run([str(honk), "demo", "--headless"], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=240)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
