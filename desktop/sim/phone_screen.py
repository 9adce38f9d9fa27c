"""What the virtual phone's screen shows, drawn as a real PNG (zlib and struct only).

With the demo's sample app (Honk Player) in the foreground the screen shows the app's own
layout: the title bar and the play button where the installed build's ``player/layout.py``
puts them, so a change that moves the button moves it in the screenshot too. Another app
shows a title bar in its own colour; no app, a home screen.

The layout function runs in a child Python (isolated, with a timeout), as a phone runs the
installed app: the same code the sample app's unit tests import and run.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import math
import re
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass

__all__ = ["SCREEN_DP", "SCREEN_PX", "AppScreen", "app_screen", "draw_screen", "encode_png"]

DP = 2  # pixels per dp: an xhdpi phone
STATUS_DP = 24
APP_DP = (360, 640)  # the app's area, below the status bar
SCREEN_DP = (APP_DP[0], APP_DP[1] + STATUS_DP)
SCREEN_PX = (SCREEN_DP[0] * DP, SCREEN_DP[1] * DP)
_LAYOUT_ASSET = "assets/player/layout.py"
_SCREEN_ASSET = "assets/player/screen.py"
_LAYOUT_TIMEOUT_S = 5.0
# Runs the app's layout function for one screen size; prints its rectangles as JSON.
_PROBE = ("import json, sys\nns = {'__name__': 'player.layout'}\n"
          "exec(compile(sys.stdin.read(), 'player/layout.py', 'exec'), ns)\n"
          "print(json.dumps(ns['layout'](int(sys.argv[1]), int(sys.argv[2]))))\n")

Colour = tuple[int, int, int]
Rect = tuple[int, int, int, int]  # x, y, w, h in dp
_BACKGROUND: Colour = (250, 250, 250)
_STATUS: Colour = (24, 24, 27)
_TITLE: Colour = (234, 88, 12)
_BUTTON: Colour = (31, 41, 55)
_WHITE: Colour = (255, 255, 255)
_HOME: Colour = (70, 90, 120)


@dataclass(frozen=True)
class AppScreen:
    """What the sample app draws: its title and where its rectangles are (dp)."""

    title: str
    rects: dict[str, Rect]


def _asset(apk: bytes, name: str) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(apk)) as z:
            return z.read(name).decode("utf-8")
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, ValueError):
        return None


async def app_screen(apk: bytes) -> AppScreen | None:
    """The sample app's screen from its APK's sources; None when it is not that app or its
    layout cannot be run (the screen then shows a plain app)."""
    source = _asset(apk, _LAYOUT_ASSET)
    if source is None:
        return None
    screen = _asset(apk, _SCREEN_ASSET) or ""
    found = re.search(r'^APP_TITLE\s*=\s*"([^"\n]*)"', screen, re.M)
    title = found.group(1) if found else "Honk Player"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-S", "-c", _PROBE, str(APP_DP[0]), str(APP_DP[1]),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(source.encode()), _LAYOUT_TIMEOUT_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return None
    if proc.returncode != 0:
        return None
    try:
        raw = json.loads(out)
        rects = {str(k): (int(v[0]), int(v[1]), int(v[2]), int(v[3])) for k, v in raw.items()}
    except (ValueError, TypeError, IndexError, AttributeError):
        return None
    return AppScreen(title, rects)


class _Canvas:
    """An RGB image as rows of bytes; shapes are filled a row span at a time."""

    def __init__(self, width: int, height: int, fill: Colour) -> None:
        self.width, self.height = width, height
        self.rows = [bytearray(bytes(fill) * width) for _ in range(height)]

    def span(self, y: int, x0: int, x1: int, colour: Colour) -> None:
        x0, x1 = max(0, x0), min(self.width, x1)
        if 0 <= y < self.height and x0 < x1:
            self.rows[y][3 * x0 : 3 * x1] = bytes(colour) * (x1 - x0)

    def rect(self, x: int, y: int, w: int, h: int, colour: Colour) -> None:
        for row in range(max(0, y), min(self.height, y + h)):
            self.span(row, x, x + w, colour)

    def circle(self, cx: float, cy: float, r: float, colour: Colour) -> None:
        for row in range(max(0, int(cy - r)), min(self.height, int(cy + r) + 1)):
            dy = row + 0.5 - cy
            if abs(dy) <= r:
                dx = math.sqrt(r * r - dy * dy)
                self.span(row, round(cx - dx), round(cx + dx), colour)

    def play_mark(self, cx: float, cy: float, size: float, colour: Colour) -> None:
        """A right-pointing triangle centred on (cx, cy)."""
        half = size / 2
        left = cx - half * 0.8
        for row in range(int(cy - half), int(cy + half) + 1):
            reach = (1 - abs(row + 0.5 - cy) / half) * size * 1.1
            if reach > 0:
                self.span(row, round(left), round(left + reach), colour)

    def text(self, x: float, y: float, text: str, scale: int, colour: Colour) -> None:
        for i, char in enumerate(text.upper()):
            glyph = _FONT.get(char, _FONT["?"])
            for gy, bits in enumerate(glyph):
                for gx in range(5):
                    if bits & (1 << (4 - gx)):
                        self.rect(round(x) + (i * 6 + gx) * scale, round(y) + gy * scale,
                                  scale, scale, colour)

    def png(self) -> bytes:
        return encode_png(self.width, self.height, self.rows)


def encode_png(width: int, height: int, rows: list[bytearray]) -> bytes:
    """Rows of RGB bytes as a real PNG (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + bytes(row) for row in rows)  # filter type none per row
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def _colour_of(name: str) -> Colour:
    digest = hashlib.sha256(name.encode()).digest()
    return digest[0], digest[1], digest[2]


def draw_screen(foreground: str | None, app: AppScreen | None) -> bytes:
    """The whole screen as a PNG: the status bar, then the app in the foreground (the sample
    app's layout when ``app`` says it), else a home screen."""
    width, height = SCREEN_PX
    canvas = _Canvas(width, height, _BACKGROUND if foreground else _HOME)
    top = STATUS_DP * DP
    canvas.rect(0, 0, width, top, _STATUS)
    canvas.text(8 * DP, 7 * DP, "12:00", DP, _WHITE)
    if foreground is None:
        canvas.text(24 * DP, top + 300 * DP, "NO APP RUNNING", 2 * DP, _WHITE)
        return canvas.png()
    if app is None or "title" not in app.rects or "play" not in app.rects:
        canvas.rect(0, top, width, 56 * DP, _colour_of(foreground))
        canvas.text(16 * DP, top + 22 * DP, foreground[-28:], DP, _WHITE)
        return canvas.png()
    x, y, w, h = app.rects["title"]
    canvas.rect(x * DP, top + y * DP, w * DP, h * DP, _TITLE)
    dot = 2 * DP if len(app.title) * 6 * 2 * DP <= (w - 32) * DP else DP  # px per font dot
    canvas.text((x + 16) * DP, top + (y + h / 2) * DP - 7 * dot // 2, app.title, dot, _WHITE)
    x, y, w, h = app.rects["play"]
    r = min(w, h) / 2 * DP
    cx, cy = (x + w / 2) * DP, top + (y + h / 2) * DP
    canvas.circle(cx, cy, r, _BUTTON)
    canvas.play_mark(cx, cy, r * 0.9, _WHITE)
    return canvas.png()


def _glyphs(rows: str) -> dict[str, tuple[int, ...]]:
    """A 5x7 font: each glyph is seven rows of five bits ('#' set)."""
    out: dict[str, tuple[int, ...]] = {}
    for block in rows.strip("\n").split("\n\n"):
        char, *lines = block.split("\n")
        out[char.strip("'")] = tuple(int(ln.replace("#", "1").replace(".", "0"), 2)
                                     for ln in lines)
    return out


_FONT = _glyphs("""
'A'\n.###.\n#...#\n#...#\n#####\n#...#\n#...#\n#...#

'B'\n####.\n#...#\n#...#\n####.\n#...#\n#...#\n####.

'C'\n.###.\n#...#\n#....\n#....\n#....\n#...#\n.###.

'D'\n####.\n#...#\n#...#\n#...#\n#...#\n#...#\n####.

'E'\n#####\n#....\n#....\n####.\n#....\n#....\n#####

'F'\n#####\n#....\n#....\n####.\n#....\n#....\n#....

'G'\n.###.\n#...#\n#....\n#.###\n#...#\n#...#\n.####

'H'\n#...#\n#...#\n#...#\n#####\n#...#\n#...#\n#...#

'I'\n.###.\n..#..\n..#..\n..#..\n..#..\n..#..\n.###.

'J'\n..###\n...#.\n...#.\n...#.\n...#.\n#..#.\n.##..

'K'\n#...#\n#..#.\n#.#..\n##...\n#.#..\n#..#.\n#...#

'L'\n#....\n#....\n#....\n#....\n#....\n#....\n#####

'M'\n#...#\n##.##\n#.#.#\n#.#.#\n#...#\n#...#\n#...#

'N'\n#...#\n#...#\n##..#\n#.#.#\n#..##\n#...#\n#...#

'O'\n.###.\n#...#\n#...#\n#...#\n#...#\n#...#\n.###.

'P'\n####.\n#...#\n#...#\n####.\n#....\n#....\n#....

'Q'\n.###.\n#...#\n#...#\n#...#\n#.#.#\n#..#.\n.##.#

'R'\n####.\n#...#\n#...#\n####.\n#.#..\n#..#.\n#...#

'S'\n.####\n#....\n#....\n.###.\n....#\n....#\n####.

'T'\n#####\n..#..\n..#..\n..#..\n..#..\n..#..\n..#..

'U'\n#...#\n#...#\n#...#\n#...#\n#...#\n#...#\n.###.

'V'\n#...#\n#...#\n#...#\n#...#\n#...#\n.#.#.\n..#..

'W'\n#...#\n#...#\n#...#\n#.#.#\n#.#.#\n#.#.#\n.#.#.

'X'\n#...#\n#...#\n.#.#.\n..#..\n.#.#.\n#...#\n#...#

'Y'\n#...#\n#...#\n.#.#.\n..#..\n..#..\n..#..\n..#..

'Z'\n#####\n....#\n...#.\n..#..\n.#...\n#....\n#####

'0'\n.###.\n#...#\n#..##\n#.#.#\n##..#\n#...#\n.###.

'1'\n..#..\n.##..\n..#..\n..#..\n..#..\n..#..\n.###.

'2'\n.###.\n#...#\n....#\n...#.\n..#..\n.#...\n#####

'3'\n####.\n....#\n....#\n.###.\n....#\n....#\n####.

'4'\n...#.\n..##.\n.#.#.\n#..#.\n#####\n...#.\n...#.

'5'\n#####\n#....\n####.\n....#\n....#\n#...#\n.###.

'6'\n.###.\n#....\n#....\n####.\n#...#\n#...#\n.###.

'7'\n#####\n....#\n...#.\n..#..\n.#...\n.#...\n.#...

'8'\n.###.\n#...#\n#...#\n.###.\n#...#\n#...#\n.###.

'9'\n.###.\n#...#\n#...#\n.####\n....#\n....#\n.###.

' '\n.....\n.....\n.....\n.....\n.....\n.....\n.....

'-'\n.....\n.....\n.....\n.###.\n.....\n.....\n.....

'.'\n.....\n.....\n.....\n.....\n.....\n.##..\n.##..

':'\n.....\n.##..\n.##..\n.....\n.##..\n.##..\n.....

'?'\n.###.\n#...#\n....#\n...#.\n..#..\n.....\n..#..
""")
