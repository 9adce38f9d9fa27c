"""What the player's main screen shows."""

from __future__ import annotations

APP_TITLE = "Honk Player"


def title_text(track: str | None) -> str:
    """The title bar text: the track playing, else the app's name."""
    return f"{APP_TITLE} - {track}" if track else APP_TITLE
