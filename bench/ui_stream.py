"""Streaming into the real main window, offscreen: is the UI smooth at high delta rates?

    python -m bench.ui_stream [--seconds 2] [--quick] [--json FILE]

Edit-preview deltas go through the real EventBus and Bridge into the real MainWindow at
50, 200 and 1000 deltas/s, for 1 and 4 changes at once (the selected one is on screen; the
selected change already shows a 5,000-line diff). Reported: delta-to-view-updated latency
(event created -> every view has applied it) p50/p95/max, and the longest event-loop stall
(a 5 ms heartbeat's worst lateness). Also the time to render a 5,000-line applied diff.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def _diff(lines: int) -> str:
    body = "".join(f"+    val item{i} = compute({i}, \"row {i}\") // generated\n" for i in range(lines))
    return f"diff --git a/app/Big.kt b/app/Big.kt\n--- /dev/null\n+++ b/app/Big.kt\n@@ -0,0 +1,{lines} @@\n{body}"


async def _run(seconds: float, rows: list[dict[str, float]]) -> list[str]:
    from PySide6.QtCore import QSettings

    from desktop.app.services import build_services
    from desktop.core.events import ChangeCreated, EditApplied, EditPreview, Event
    from desktop.ui.main_window import MainWindow

    services = build_services()
    settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
    window = MainWindow(services, settings, use_dbus=False)
    window.start()
    window.show()
    bus = services.bus
    out: list[str] = []
    latencies: list[float] = []

    def probe(batch: list[Event]) -> None:
        now = time.time()
        latencies.extend(now - e.at for e in batch if e.ephemeral)

    window.bridge.after_delivery = probe
    ids = [f"bench{i:03d}" for i in range(4)]
    for cid in ids:
        bus.emit(ChangeCreated(change=cid, request=f"bench change {cid}", repo="/bench",
                               branch=f"honk/{cid}", worktree="/tmp/bench", base="main",
                               base_commit="0" * 40, model="claude-sonnet-4-6"))
    await asyncio.sleep(0.05)
    window.changes.select(ids[0])
    started = time.perf_counter()
    bus.emit(EditApplied(change=ids[0], tool_use_id="toolu_big", command="create",
                         path="app/Big.kt", diff=_diff(5000), added=5000, removed=0))
    await asyncio.sleep(0)
    render_ms = (time.perf_counter() - started) * 1000
    settle = time.perf_counter()
    worst = 0.0
    coloured_ms = 0.0
    pane = window.diff.unified
    # The first layout and paint come after, and the lines out of view are coloured in slices.
    while time.perf_counter() - settle < 0.5 or pane.colouring_pending():
        t = time.perf_counter()
        await asyncio.sleep(0.005)
        worst = max(worst, time.perf_counter() - t - 0.005)
        if not coloured_ms and not pane.colouring_pending():
            coloured_ms = (time.perf_counter() - started) * 1000
    rows.append({"render_ms": render_ms, "paint_stall_ms": worst * 1000,
                 "coloured_ms": coloured_ms})
    out.append(f"5,000-line applied diff: built in {render_ms:.0f} ms, then longest stall "
               f"{worst * 1000:.0f} ms, all coloured after {coloured_ms:.0f} ms "
               f"({pane.block_count()} lines)")
    out.append(f"{'rate/s':>7} {'changes':>7} {'deltas':>7} {'p50 ms':>7} {'p95 ms':>7} "
               f"{'max ms':>7} {'stall ms':>8}")
    seq = 0
    for rate in (50, 200, 1000):
        for changes in (1, 4):
            latencies.clear()
            stall = 0.0
            stop = asyncio.Event()

            async def heartbeat() -> None:
                nonlocal stall
                while not stop.is_set():  # noqa: B023 (awaited within the iteration)
                    t = time.perf_counter()
                    await asyncio.sleep(0.005)
                    stall = max(stall, time.perf_counter() - t - 0.005)

            async def produce(cid: str) -> int:
                nonlocal seq
                sent, tick, t0 = 0, 0.005, time.perf_counter()
                seq += 1
                tool = f"toolu_b{seq}"
                bus.emit(EditPreview(change=cid, tool_use_id=tool, command="str_replace",
                                     path="app/Big.kt", field="old_str", delta="val item1 = "))
                while (elapsed := time.perf_counter() - t0) < seconds:
                    due = int(elapsed * rate) - sent  # noqa: B023 (awaited within the iteration)
                    for _ in range(max(0, due)):
                        sent += 1
                        text = "x" if sent % 40 else "\n    "
                        bus.emit(EditPreview(change=cid, tool_use_id=tool, command="str_replace",
                                             path="app/Big.kt", field="new_str", delta=text))
                    await asyncio.sleep(tick)
                return sent

            beat = asyncio.ensure_future(heartbeat())
            counts = await asyncio.gather(*(produce(c) for c in ids[:changes]))
            await asyncio.sleep(0.05)
            stop.set()
            await beat
            lat = sorted(x * 1000 for x in latencies)
            p50 = statistics.median(lat)
            p95 = lat[int(len(lat) * 0.95) - 1]
            rows.append({"rate": rate, "changes": changes, "deltas": sum(counts), "p50": p50,
                         "p95": p95, "max": lat[-1], "stall": stall * 1000})
            out.append(f"{rate:>7} {changes:>7} {sum(counts):>7} {p50:>7.2f} {p95:>7.2f} "
                       f"{lat[-1]:>7.2f} {stall * 1000:>8.1f}")
    window.quitting = True
    await window.bridge.shutdown()
    window.close()
    services.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ui_stream", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="streaming time per row")
    parser.add_argument("--quick", action="store_true", help="0.5 s per row (a smoke run)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 0.5)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["HONK_HOME"] = tempfile.mkdtemp(prefix="honk-bench-")
    os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.pyside_fix import protect_none

    protect_none()  # PySide6 6.12 on 3.11 loses a ref to None per void call; see the module
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:  # 3.11: no asyncio.run(loop_factory)
        rows: list[dict[str, float]] = []
        lines = runner.run(_run(args.seconds, rows))
    print(f"honk UI streaming bench (Qt {os.environ['QT_QPA_PLATFORM']}, "
          f"Python {sys.version.split()[0]}, HONK_HOME {Path(os.environ['HONK_HOME']).name})")
    print("\n".join(lines))
    _write(args.json, rows)
    return 0


def _write(path: Path | None, rows: list[dict[str, float]]) -> None:
    from bench.common import FRAME_MS, Figure, write_figures

    name = "ui_stream"
    first, streams = rows[0], rows[1:]
    figures = [
        Figure(name, "5,000-line applied diff: build", first["render_ms"], "ms", FRAME_MS,
               note=f"all lines coloured after {first['coloured_ms']:.0f} ms"),
        Figure(name, "5,000-line applied diff: stall after", first["paint_stall_ms"], "ms",
               FRAME_MS, note="first layout and paint, then colouring in slices"),
    ]
    for r in streams:
        goal = r["rate"] == 200 and r["changes"] == 4
        figures.append(Figure(
            name, f"{r['rate']:.0f}/s x{r['changes']:.0f}: p95 delta->view", r["p95"], "ms",
            FRAME_MS, goal="p95 < 1 frame" if goal else "",
            ok=r["p95"] < FRAME_MS if goal else None,
            note=f"{r['deltas']:.0f} deltas; p50 {r['p50']:.2f} ms, max {r['max']:.2f} ms, "
                 f"longest loop stall {r['stall']:.1f} ms"))
    worst = max(streams, key=lambda r: r["stall"])
    figures.append(Figure(name, "longest event-loop stall while streaming", worst["stall"], "ms",
                          FRAME_MS, note=f"at {worst['rate']:.0f}/s x{worst['changes']:.0f}"))
    write_figures(path, name, figures, {"rows": rows})


if __name__ == "__main__":
    sys.exit(main())
