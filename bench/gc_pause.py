"""A full garbage collection in the window's process, before and after start-up's heap is
frozen (``MainThreadCollector.freeze``, called once the warm-up is done).

    python -m bench.gc_pause [--reps 5] [--quick] [--json FILE]

The window collects on its GUI thread (``desktop/ui/gc_guard.py``), so a full collection is
a pause of the window. In a child process that has loaded what a warmed-up window holds
(the window's modules, the run's modules, the anthropic SDK), time ``gc.collect()``; then
freeze and time it again. Floor: a full collection in a bare PySide6 process with a
QApplication. Goal: after the freeze, under one frame.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import FRAME_MS, Figure, median, write_figures

PROBE = """
import gc, importlib, json, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication([])
if sys.argv[1] == "honk":
    from desktop.ui.gc_guard import MainThreadCollector
    collector = MainThreadCollector(app)
    import desktop.app.services, desktop.ui.main_window, desktop.ui.bridge
    from desktop.app.warmup import RUN_MODULES
    for name in RUN_MODULES:
        importlib.import_module(name)
    from desktop.adapters.anthropic.client import preload_sdk
    preload_sdk()

def full_ms():
    out = []
    for _ in range(3):
        start = time.perf_counter()
        gc.collect()
        out.append((time.perf_counter() - start) * 1000)
    return sorted(out)[1]

before = full_ms()
after = None
if sys.argv[1] == "honk":
    collector.freeze()
    after = full_ms()
print(json.dumps({"before": before, "after": after, "objects": len(gc.get_objects())}))
"""


def _probe(which: str, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", PROBE, which], env=env, capture_output=True,
                          text=True, check=True, timeout=120, stdin=subprocess.DEVNULL)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(reps: int) -> tuple[list[Figure], dict[str, object]]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    bare, before, after = [], [], []
    for _ in range(reps):
        bare.append(_probe("bare", env)["before"])
        honk = _probe("honk", env)
        before.append(honk["before"])
        after.append(honk["after"])
    floor = median(bare)
    figures = [
        Figure("gc_pause", "full collection, start-up heap", median(before), "ms", floor,
               note="what the window paused for at each full collection before the freeze; "
                    "floor: a bare PySide6 process"),
        Figure("gc_pause", "full collection, heap frozen", median(after), "ms", floor,
               goal="< 1 frame", ok=median(after) < FRAME_MS,
               note="after MainThreadCollector.freeze() (the window does it after warm-up)"),
    ]
    return figures, {"bare_ms": bare, "before_ms": before, "after_ms": after}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gc_pause",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="child processes of each")
    parser.add_argument("--quick", action="store_true", help="2 of each")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    figures, extra = run(2 if args.quick else args.reps)
    for f in figures:
        print(f"{f.name:<34} {f.value:8.1f} ms  floor {f.floor or 0:6.1f} ms  {f.note}")
    write_figures(args.json, "gc_pause", figures, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
