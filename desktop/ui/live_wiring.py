"""Wiring of the live device picker and in-place edit previews (one call from the window)."""

from __future__ import annotations

from desktop.ui.bridge import Bridge
from desktop.ui.composer import Composer
from desktop.ui.diff_view import DiffView

__all__ = ["connect_devices", "connect_file_texts", "connect_live"]


def connect_devices(bridge: Bridge, composer: Composer) -> None:
    """Feed the bridge's live device list to the composer's picker.

    Call on the loop thread after ``bridge.start()``; the list moves once
    ``bridge.watch_devices()`` has started (``bridge.shutdown()`` stops it).
    """
    bridge.devices_changed.connect(composer.set_devices)
    composer.set_devices(bridge.devices)


def connect_file_texts(bridge: Bridge, diff: DiffView) -> None:
    """Let the diff view place a streaming edit where it lands (the bridge reads files)."""
    diff.text_source = bridge.file_text


def connect_live(bridge: Bridge, composer: Composer, diff: DiffView) -> None:
    """Both of the above: the one line ``MainWindow.start`` needs."""
    connect_devices(bridge, composer)
    connect_file_texts(bridge, diff)
