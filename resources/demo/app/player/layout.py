"""Where the title and the play button go on a phone screen (sizes in dp)."""

from __future__ import annotations

TITLE_HEIGHT = 56
PLAY_BUTTON_SIZE = 72
MIN_TOUCH_TARGET = 48  # Android's accessibility guideline
MARGIN = 16


def layout(width: int, height: int) -> dict[str, tuple[int, int, int, int]]:
    """The title bar and play button as (x, y, w, h) rectangles for a screen."""
    title = (0, 0, width, TITLE_HEIGHT)
    size = PLAY_BUTTON_SIZE
    # A third of the way down, measured from the button's own size.
    y = (height - 3 * size) // 8
    play = ((width - size) // 2, y, size, size)
    return {"title": title, "play": play}
