"""Light or dark, as the OS says: Qt's ``styleHints().colorScheme()``, followed live on
``colorSchemeChanged``. Where the platform reports a scheme but does not hand Qt a matching
palette (Fusion on many Linux desktops, Xvfb), the palette is made here.

``HONK_COLOR_SCHEME=light|dark`` overrides the OS (screenshots, or a desktop that does not
say). Widgets that draw fixed colours (the diff, the transcript, the file tree, the
approval panel) read them from :func:`accents` and redraw on ``QEvent.PaletteChange``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

__all__ = ["Accents", "SchemeFollower", "accents", "contrast", "dark_palette", "is_dark",
           "light_palette", "wanted_scheme"]

SCHEME_ENV = "HONK_COLOR_SCHEME"


@dataclass(frozen=True)
class Accents:
    """Fixed hues for text that must read on the window's own background (AA, 4.5:1)."""

    ok: str
    error: str
    muted: str
    warning: str
    added: str
    removed: str


_LIGHT = Accents(ok="#166534", error="#b91c1c", muted="#57606a", warning="#92400e",
                 added="#116329", removed="#a40e26")
_DARK = Accents(ok="#4ade80", error="#f87171", muted="#9ca3af", warning="#fbbf24",
                added="#56d364", removed="#ff7b72")


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (else the application's) has a dark base."""
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def accents(palette: QPalette | None = None) -> Accents:
    """The accent hues for ``palette`` (else the application's)."""
    return _DARK if is_dark(palette) else _LIGHT


def _palette(colours: dict[QPalette.ColorRole, str], disabled_text: str) -> QPalette:
    palette = QPalette()
    for role, colour in colours.items():
        palette.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled_text))
    return palette


def dark_palette() -> QPalette:
    """A dark palette for Fusion (what GNOME's and KDE's dark themes look like)."""
    R = QPalette.ColorRole
    return _palette({
        R.Window: "#1f1f23", R.WindowText: "#e6e6e6", R.Base: "#17171a",
        R.AlternateBase: "#26262b", R.Text: "#e6e6e6", R.Button: "#2a2a30",
        R.ButtonText: "#e6e6e6", R.BrightText: "#ffffff", R.Highlight: "#2f6feb",
        R.HighlightedText: "#ffffff", R.ToolTipBase: "#2a2a30", R.ToolTipText: "#e6e6e6",
        R.PlaceholderText: "#9ca3af", R.Link: "#58a6ff", R.Mid: "#3f3f46",
        R.Dark: "#0f0f12", R.Light: "#3a3a40", R.Midlight: "#303036", R.Shadow: "#000000",
    }, "#6b7280")


def light_palette() -> QPalette:
    """A light palette for Fusion, for when the OS asks for light over a dark default."""
    R = QPalette.ColorRole
    return _palette({
        R.Window: "#efefef", R.WindowText: "#1f2328", R.Base: "#ffffff",
        R.AlternateBase: "#f6f8fa", R.Text: "#1f2328", R.Button: "#f3f4f6",
        R.ButtonText: "#1f2328", R.BrightText: "#ffffff", R.Highlight: "#0969da",
        R.HighlightedText: "#ffffff", R.ToolTipBase: "#ffffdc", R.ToolTipText: "#1f2328",
        R.PlaceholderText: "#6e7781", R.Link: "#0969da", R.Mid: "#c8ccd1",
        R.Dark: "#a0a4a8", R.Light: "#ffffff", R.Midlight: "#e5e7eb", R.Shadow: "#6e7781",
    }, "#8c959f")


def wanted_scheme(env: dict[str, str] | None = None) -> Qt.ColorScheme:
    """The scheme to show: the override in the environment, else what the OS reports."""
    forced = (env if env is not None else os.environ).get(SCHEME_ENV, "").strip().lower()
    if forced == "dark":
        return Qt.ColorScheme.Dark
    if forced == "light":
        return Qt.ColorScheme.Light
    return QGuiApplication.styleHints().colorScheme()


class SchemeFollower(QObject):
    """Keeps the application's palette on the OS scheme, now and whenever it changes."""

    def __init__(self, app: QApplication, env: dict[str, str] | None = None) -> None:
        super().__init__(app)
        self.app = app
        self.env = dict(os.environ if env is None else env)
        self.platform_palette = QPalette(app.palette())  # what the platform gave us
        self.scheme = Qt.ColorScheme.Unknown
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.apply)
        self.apply(wanted_scheme(self.env))

    def apply(self, scheme: Qt.ColorScheme) -> None:
        """Show ``scheme`` (the override in the environment wins over the OS)."""
        if self.env.get(SCHEME_ENV, "").strip():
            scheme = wanted_scheme(self.env)
        if scheme == Qt.ColorScheme.Unknown:
            scheme = Qt.ColorScheme.Dark if is_dark(self.platform_palette) else Qt.ColorScheme.Light
        if scheme == self.scheme:
            return
        first, self.scheme = self.scheme == Qt.ColorScheme.Unknown, scheme
        want_dark = scheme == Qt.ColorScheme.Dark
        if is_dark(self.platform_palette) == want_dark:
            if first:
                return  # at start-up, as the platform made it: nothing to redo before paint
            palette = self.platform_palette  # the platform's own, when it matches
        else:
            palette = dark_palette() if want_dark else light_palette()
        self.app.setPalette(palette)
        # Stylesheet rules that name palette() roles are resolved when a widget is polished:
        # set it again so every widget is polished with the new palette.
        self.app.setStyleSheet(self.app.styleSheet())


def _luminance(colour: QColor) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast(a: QColor | str, b: QColor | str) -> float:
    """The WCAG 2 contrast ratio of two colours (1 to 21; AA text needs 4.5)."""
    la, lb = _luminance(QColor(a)), _luminance(QColor(b))
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
