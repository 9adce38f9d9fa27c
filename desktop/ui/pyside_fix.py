"""Work around a reference-count bug in PySide6 6.12 on CPython < 3.12.

There, every call to a Qt method that returns void drops one reference to ``None``
(measured: 100 ``QLabel.setText`` calls lower ``sys.getrefcount(None)`` by 100), and
bool-returning calls do the same to ``True``/``False``. ``None``
starts with ~5,000 references, so after a few thousand calls CPython aborts with "Fatal
Python error: none_dealloc". From 3.12 ``None`` is immortal and the bug is harmless.

The fix gives ``None`` a huge reference count once, which makes it as good as immortal:
``None`` is a static object that is never freed, so extra references cost nothing.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["none_refs_lost_per_call", "protect_none"]

_HEADROOM = 1 << 40  # ~10^12 void calls before it could matter again


def none_refs_lost_per_call() -> float:
    """How many references to None one void Qt call loses (0 where the binding is right)."""
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(64):
        probe.setObjectName("probe")
    return (before - sys.getrefcount(None)) / 64


def protect_none() -> bool:
    """Apply the fix if this interpreter needs it; returns whether it did."""
    if sys.version_info >= (3, 12) or none_refs_lost_per_call() <= 0:
        return False
    # ob_refcnt is the first field of every PyObject in release builds of CPython. True and
    # False are hit the same way by methods returning bool.
    for singleton in (None, True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _HEADROOM
    return True
