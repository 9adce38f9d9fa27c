"""The documented desktop-entry install command puts a valid entry and icon in place."""

from __future__ import annotations

import configparser
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_install_desktop_entry(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path)}
    subprocess.run(["bash", str(ROOT / "scripts" / "install_desktop_entry.sh")], env=env,
                   check=True, capture_output=True)
    entry = tmp_path / "applications" / "honk.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(entry)
    section = parser["Desktop Entry"]
    assert section["Exec"] == "honk" and section["Icon"] == "honk" and section["Type"] == "Application"
    icon = tmp_path / "icons" / "hicolor" / "scalable" / "apps" / "honk.svg"
    assert icon.read_text().lstrip().startswith(("<svg", "<?xml"))
