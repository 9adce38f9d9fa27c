"""The window's collector: collection only on the GUI thread, and start-up's heap frozen out
of later collections (in a child process: freezing is for the whole process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = """
import gc, json, weakref
from PySide6.QtWidgets import QApplication
app = QApplication([])
from desktop.ui.gc_guard import MainThreadCollector
collector = MainThreadCollector(app)
import desktop.app.services, desktop.ui.main_window  # a start-up's worth of objects
assert not gc.isenabled()  # the GUI thread collects, on its timer
tracked_before = len(gc.get_objects())
frozen = collector.freeze()
tracked_after = len(gc.get_objects())

class Node:
    pass

a, b = Node(), Node()
a.other, b.other = b, a  # a cycle made after start-up: still collected
alive = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({"frozen": frozen, "before": tracked_before, "after": tracked_after,
                  "cycle_collected": alive() is None}))
collector.stop()
"""


def test_freeze_leaves_start_up_out_and_still_collects_new_cycles() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    child = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert child.returncode == 0, child.stderr
    seen = json.loads(child.stdout.strip().splitlines()[-1])
    assert seen["frozen"] >= seen["before"] > 10_000  # start-up's objects: frozen
    assert seen["after"] < seen["before"] // 100  # a full collection walks almost nothing
    assert seen["cycle_collected"]
