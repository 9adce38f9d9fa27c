"""Icons and the stylesheet from ``resources/`` (next to the package, or in a bundle)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

__all__ = ["icon", "resources_dir", "stylesheet"]


def resources_dir() -> Path:
    """``resources/`` of the source tree, or of a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def icon(name: str) -> QIcon:
    """An SVG icon by name (scales on HiDPI); an empty icon if the file is missing."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def stylesheet() -> str:
    """The one stylesheet; it refers to palette() roles so it follows light and dark."""
    path = resources_dir() / "style.qss"
    return path.read_text("utf-8") if path.is_file() else ""
