"""Memory: resident set of the real window with history and changes streaming, vs a bare window.

    python -m bench.memory [--seconds 3] [--quick] [--json FILE]

Two child processes, offscreen, each reporting its own RSS (and peak, VmHWM) from /proc:
- floor: a bare PySide6 QMainWindow of the same size, shown and painted;
- honk: the real MainWindow over a HONK_HOME whose journal holds 50 finished changes (each
  with a 60-line diff), every one of them opened once (as a person scrolling the list
  would), then 4 changes streaming at once through the real EventBus and Bridge: edit
  previews at 200 deltas/s each, and a 2,000-line applied diff per change. The anthropic
  SDK is imported first, as it is in a window whose changes really stream.
Reported: MiB over the floor, after streaming (goal < 150 MiB) and at peak.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, rss_mib, write_figures

CHANGES_IN_HISTORY = 50
STREAMING = 4


def _bare() -> dict[str, float]:
    from PySide6.QtWidgets import QApplication, QMainWindow

    app = QApplication(sys.argv[:1])
    win = QMainWindow()
    win.resize(1280, 800)
    win.show()
    end = time.perf_counter() + 0.5
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.01)
    win.repaint()
    rss, peak = rss_mib()
    return {"rss": rss, "peak": peak}


async def _honk(seconds: float, out: dict[str, float]) -> None:
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.app.services import build_services
    from desktop.core.events import ChangeCreated, EditApplied, EditPreview
    from desktop.ui.main_window import MainWindow

    services = build_services()
    settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, settings, use_dbus=False)
    window.start()
    window.show()
    await asyncio.sleep(0.2)
    for view in window.bridge.ordered_views():  # open each past change once
        window.changes.select(view.id)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)
    out["after_history"] = rss_mib()[0]
    import anthropic  # noqa: F401  (a change that really streams has the SDK loaded)

    out["with_sdk"] = rss_mib()[0]
    bus = services.bus
    ids = [f"live{i}" for i in range(STREAMING)]
    for cid in ids:
        bus.emit(ChangeCreated(change=cid, request=f"streaming change {cid}", repo="/bench",
                               branch=f"honk/{cid}", worktree="/tmp/bench", base="main",
                               base_commit="0" * 40, model="claude-sonnet-4-6"))
    await asyncio.sleep(0.05)
    window.changes.select(ids[0])

    async def stream(cid: str) -> None:
        sent, rate, t0 = 0, 200, time.perf_counter()
        while (elapsed := time.perf_counter() - t0) < seconds:
            for _ in range(max(0, int(elapsed * rate) - sent)):
                sent += 1
                bus.emit(EditPreview(change=cid, tool_use_id=f"t-{cid}", command="create",
                                     path="app/Big.kt", field="file_text",
                                     delta="    val x = 1 // streamed\n" if sent % 3 == 0
                                     else "value(1, 2) "))
            await asyncio.sleep(0.005)
        body = "".join(f"+    val item{i} = compute({i})\n" for i in range(2000))
        bus.emit(EditApplied(change=cid, tool_use_id=f"t-{cid}", command="create",
                             path="app/Big.kt", added=2000, removed=0,
                             diff=f"--- /dev/null\n+++ b/app/Big.kt\n@@ -0,0 +1,2000 @@\n{body}"))

    await asyncio.gather(*(stream(c) for c in ids))
    await asyncio.sleep(0.3)
    QApplication.processEvents()
    window.repaint()
    out["rss"], out["peak"] = rss_mib()
    window.quitting = True
    await window.bridge.shutdown()
    window.close()
    services.close()


def _child(kind: str, seconds: float) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    if kind == "bare":
        print(json.dumps(_bare()))
        return
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.pyside_fix import protect_none

    protect_none()  # PySide6 6.12 on 3.11 loses a ref to None per void call; see the module
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    out: dict[str, float] = {}
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(_honk(seconds, out))
    print(json.dumps(out))


def _spawn(kind: str, seconds: float, env: dict[str, str]) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-m", "bench.memory", "--child", kind,
                           "--seconds", str(seconds)], env=env, capture_output=True,
                          text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="streaming time")
    parser.add_argument("--quick", action="store_true", help="1 s of streaming")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--child", choices=("bare", "honk"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    seconds = 1.0 if args.quick else args.seconds
    if args.child:
        _child(args.child, seconds)
        return 0
    from bench.history import write_history

    with tempfile.TemporaryDirectory(prefix="honk-bench-mem-") as tmp:
        home = Path(tmp) / "honk-home"
        write_history(home, CHANGES_IN_HISTORY)
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HONK_HOME": str(home),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
        bare = _spawn("bare", seconds, env)
        honk = _spawn("honk", seconds, env)
    over, peak_over = honk["rss"] - bare["rss"], honk["peak"] - bare["peak"]
    figures = [
        Figure("memory", "RSS, 50 in history + 4 streaming", honk["rss"], "MiB", bare["rss"],
               note=f"floor: bare QMainWindow; history alone {honk['after_history']:.0f} MiB, "
                    f"+ SDK import {honk['with_sdk']:.0f} MiB"),
        Figure("memory", "MiB over the bare window", over, "MiB", goal="< 150 MiB over",
               ok=over < 150, note=f"peak (VmHWM) {peak_over:.0f} MiB over the bare peak"),
    ]
    print(f"bare window {bare['rss']:.0f} MiB; honk {honk['rss']:.0f} MiB "
          f"(history loaded {honk['after_history']:.0f}); over the floor {over:.0f} MiB, "
          f"peak over {peak_over:.0f} MiB")
    write_figures(args.json, "memory", figures, {"bare": bare, "honk": honk})
    return 0


if __name__ == "__main__":
    sys.exit(main())
