"""Where `resources/` (icons, stylesheet, demo assets) is: a PyInstaller bundle, a source
checkout, or an installed package (`pip install .` puts it under share/honk-desktop)."""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

__all__ = ["resource_candidates", "resources_dir"]


def resource_candidates() -> list[Path]:
    found: list[Path] = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        found.append(Path(bundle) / "resources")
    found.append(Path(__file__).resolve().parents[2] / "resources")
    for prefix in {sys.prefix, sysconfig.get_path("data")}:
        found.append(Path(prefix) / "share" / "honk-desktop" / "resources")
    return found


def resources_dir(marker: str = "style.qss") -> Path:
    """The first candidate holding ``marker``; the source tree's path if none does."""
    candidates = resource_candidates()
    for path in candidates:
        if (path / marker).exists():
            return path
    return candidates[-2] if len(candidates) > 1 else candidates[0]
