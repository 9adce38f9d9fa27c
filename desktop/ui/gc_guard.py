"""Cyclic garbage collection only on the GUI thread.

Python runs the cyclic collector in whichever thread happens to allocate when a threshold
is crossed. With asyncio.to_thread workers (git, keyring, sqlite) that is often a worker, and
a cycle holding a Qt object is then freed there: Qt warns "Timers cannot be stopped from
another thread" or crashes. So automatic collection is turned off and the GUI thread
collects on a timer, generation by generation, as the thresholds would have.

Once the window is complete and warmed up, :meth:`MainThreadCollector.freeze` moves the
~200,000 objects of start-up (modules, classes, the SDKs) out of every later collection: a
full collection then walks only what the session made since, instead of stalling the window
for ~50-110 ms each time.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = ["MainThreadCollector"]


class MainThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        """Collect the generations whose counters passed their thresholds."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] > thresholds[0]:
            generation = 0
            if counts[1] > thresholds[1]:
                generation = 2 if counts[2] > thresholds[2] else 1
            gc.collect(generation)

    def freeze(self) -> int:
        """Leave every object alive now out of later collections (the process's start-up
        heap lives as long as it does); the number frozen. Call once start-up is over."""
        gc.freeze()
        return gc.get_freeze_count()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
