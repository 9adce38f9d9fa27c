"""The OS light/dark scheme: followed at start and live on ``colorSchemeChanged``, and the
diff's colours keep WCAG AA contrast (4.5:1 for text) in both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from desktop.core.events import EditApplied
from desktop.ui.diff_pane import KINDS, diff_colors
from desktop.ui.diff_view import DiffView
from desktop.ui.theme import (
    SchemeFollower,
    accents,
    contrast,
    dark_palette,
    is_dark,
    light_palette,
)
from desktop.ui.transcript import Transcript

AA = 4.5
FOREGROUNDS = ("kw", "str", "com", "num", "gutter", "hunk_fg")
BACKGROUNDS = tuple(k for k in KINDS if k not in ("ctx",))  # ctx lines sit on the base


@pytest.mark.parametrize("palette", [light_palette(), dark_palette()], ids=["light", "dark"])
def test_every_diff_colour_keeps_aa_contrast_on_every_diff_background(palette: QPalette) -> None:
    colours = diff_colors(palette)
    text = palette.color(QPalette.ColorRole.Text)
    base = palette.color(QPalette.ColorRole.Base)
    backgrounds = {"base": base, **{k: colours[k] for k in BACKGROUNDS if k in colours}}
    assert set(backgrounds) >= {"base", "add", "del", "hunk", "pre_old", "pre_new", "note"}
    poor = [(fg, bg, round(contrast(c, b), 2))
            for fg, c in (("text", text), *((f, colours[f]) for f in FOREGROUNDS))
            for bg, b in backgrounds.items() if contrast(c, b) < AA]
    assert poor == [], f"below WCAG AA ({AA}:1): {poor}"


@pytest.mark.parametrize("palette", [light_palette(), dark_palette()], ids=["light", "dark"])
def test_accent_text_reads_on_the_window_and_on_text_fields(palette: QPalette) -> None:
    hues = accents(palette)
    for role in (QPalette.ColorRole.Window, QPalette.ColorRole.Base):
        background = palette.color(role)
        for name in ("ok", "error", "muted", "added", "removed"):
            ratio = contrast(getattr(hues, name), background)
            assert ratio >= AA, (name, role, round(ratio, 2))


def test_contrast_is_the_wcag_ratio() -> None:
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert contrast("#777777", "#777777") == 1.0


@pytest.fixture
def follower(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> Iterator[SchemeFollower]:
    """A follower of the OS scheme on the test's application; the palette is put back."""
    monkeypatch.delenv("HONK_COLOR_SCHEME", raising=False)
    palette, sheet = QPalette(qapp.palette()), qapp.styleSheet()
    follower = SchemeFollower(qapp, env={})
    yield follower
    QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
    follower.deleteLater()
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)


def _applied(view: DiffView) -> None:
    diff = ("diff --git a/a.py b/a.py\n--- a/a.py\n+++ b/a.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n")
    view.on_events([EditApplied(change="c1", tool_use_id="t1", command="str_replace",
                                path="a.py", diff=diff, added=1, removed=1)])


def test_the_window_follows_the_os_scheme_live(follower: SchemeFollower, qtbot: Any) -> None:
    view = DiffView()
    transcript = Transcript()
    qtbot.addWidget(view)
    qtbot.addWidget(transcript)
    view.show_change("c1")
    _applied(view)
    hints = QGuiApplication.styleHints()

    hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)  # what the OS sends on a switch
    assert is_dark() and follower.scheme == Qt.ColorScheme.Dark
    qtbot.waitUntil(lambda: view.unified.colors == diff_colors(dark_palette()), timeout=2000)
    block = view.unified.document().findBlockByNumber(1)  # the removed line, drawn again
    qtbot.waitUntil(lambda: view.unified.document().findBlockByNumber(1).blockFormat()
                    .background().color() == diff_colors(dark_palette())["del"], timeout=2000)
    assert block.isValid()
    assert transcript._formats["error"].foreground().color().name() == accents().error

    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark() and follower.scheme == Qt.ColorScheme.Light
    qtbot.waitUntil(lambda: view.unified.document().findBlockByNumber(1).blockFormat()
                    .background().color() == diff_colors(light_palette())["del"], timeout=2000)


def test_the_environment_overrides_the_os(qapp: QApplication) -> None:
    palette, sheet = QPalette(qapp.palette()), qapp.styleSheet()
    follower = SchemeFollower(qapp, env={"HONK_COLOR_SCHEME": "dark"})
    try:
        assert is_dark()
        follower.apply(Qt.ColorScheme.Light)  # the OS says light; the override says dark
        assert is_dark()
    finally:
        QGuiApplication.styleHints().colorSchemeChanged.disconnect(follower.apply)
        follower.deleteLater()
        qapp.setPalette(palette)
        qapp.setStyleSheet(sheet)
