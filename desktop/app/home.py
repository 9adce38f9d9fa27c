"""Where Honk keeps its journal, audit log and window state (no heavy imports: the window
reads it before anything else loads)."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

__all__ = ["default_home"]


def default_home(env: Mapping[str, str]) -> Path:
    """HONK_HOME, else the platform's per-user data directory."""
    if env.get("HONK_HOME"):
        return Path(env["HONK_HOME"]).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Honk"
    if sys.platform == "win32":
        return Path(env.get("APPDATA", str(Path.home()))) / "Honk"
    return Path(env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "honk"
