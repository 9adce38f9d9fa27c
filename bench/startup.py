"""Start-up: `honk` to the first window painted, and `honk --help`, each against its floor.

    python -m bench.startup [--reps 7] [--quick] [--json FILE]

Both sides run with bytecode cached (a private PYTHONPYCACHEPREFIX, warmed first), as an
installed package or bundle has it.

1. window: ``python -m desktop`` (offscreen, a HONK_HOME whose journal holds 5 past changes,
   HONK_EXIT_AFTER_FIRST_PAINT=1 so the app prints a mark once its first paint is done,
   another once the complete window has painted, and quits) against a bare PySide6 script
   that opens a QMainWindow of the same size and prints the same mark after its first paint. Wall time
   from spawn to the mark; runs alternate. Goal: <= 1.5x the bare window. Honk's first
   paint is its frame at the saved geometry with a skeleton of the layout (the agent stack
   loads after it), so "window complete" is reported beside it, against the same floor.
   A second floor, ``bench/same_widgets.py``, rebuilds Honk's complete window (the same kinds
   and numbers of widgets, its stylesheet) with plain PySide6 and no Honk code: what it costs
   over the bare window no Honk code can remove, and Honk against it is Honk's own share.
2. CLI: ``python -m desktop --help`` against ``python -c pass``; and the modules the CLI
   imports for --help, which must include no PySide6, qasync or anthropic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Figure, installed_bytecode_env, median, write_figures
from bench.history import write_history
from desktop.app.resources import resources_dir

MARK = "HONK_FIRST_PAINT"
STAGE = "HONK_STAGE"  # HONK_STAGE <name> <unix time> <CPU s>, between the two marks
# Where the CPU to "window complete" goes, stage by stage, in the order the app reaches them.
STAGES = (("qt", "PySide6 imported, QApplication made"),
          ("frame", "the frame's first paint"),
          ("loop", "asyncio + qasync imported, loop running"),
          ("services", "services built (journal, events, config)"),
          ("window", "widgets built, history listed, actions live"),
          ("ready", "the complete window's first paint (READY)"))
READY = "HONK_READY"  # the complete window painted: history listed, actions live
BARE = f"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow

app = QApplication(sys.argv[:1])
win = QMainWindow()
win.setWindowTitle("bare")
win.resize(1280, 800)

class FirstPaint(QObject):
    seen = False
    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.Paint and not self.seen:
            self.seen = True
            QTimer.singleShot(0, self.report)
        return False
    def report(self):
        print("{MARK}", time.time(), time.process_time(), flush=True)
        app.quit()

win.installEventFilter(FirstPaint(win))
win.show()
app.exec()
"""
PROBE_HELP = """
import contextlib, io, json, sys
from desktop.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
    main(["--help"])
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"PySide6", "qasync", "anthropic",
                                                          "shiboken6", "httpx"})
print(json.dumps(heavy))
"""


def _until_mark(cmd: list[str], env: dict[str, str], ready: list[float] | None = None,
                cpu: list[float] | None = None, ready_cpu: list[float] | None = None,
                stages: list[dict[str, float]] | None = None) -> float:
    """Seconds from spawn until ``MARK`` is printed (and, into ``ready``, until ``READY``);
    the process must then exit cleanly. ``cpu``/``ready_cpu`` get the process's own CPU
    seconds at each mark (the third field), which a loaded machine disturbs far less."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    seen = None
    at: dict[str, float] = {}  # stage -> CPU seconds when reached
    for line in proc.stdout:
        if line.startswith(MARK):
            seen = time.perf_counter() - start
            _cpu_field(line, cpu)
            at["frame"] = float(line.split()[2]) if len(line.split()) >= 3 else 0.0
            if ready is None:
                break
        elif line.startswith(STAGE):
            name, _unix, cpu_s = line.split()[1:4]
            at[name] = float(cpu_s)
        elif line.startswith(READY) and ready is not None:
            ready.append(time.perf_counter() - start)
            _cpu_field(line, ready_cpu)
            at["ready"] = float(line.split()[2]) if len(line.split()) >= 3 else 0.0
            break
    if stages is not None and all(name in at for name, _ in STAGES):
        stages.append(at)
    try:
        _, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    if seen is None:
        raise RuntimeError(f"{' '.join(cmd)} never printed {MARK}; stderr:\n{err[-2000:]}")
    return seen


def _stage_figures(stages: list[dict[str, float]], floor_ms: float) -> list[Figure]:
    """The median CPU of each start-up stage (from the one before it), against the bare
    window's CPU to its first paint: what each stage costs of the 1.5x budget."""
    out, before = [], None
    for name, what in STAGES:
        spent = [(run[name] - (run[before] if before else 0.0)) * 1000 for run in stages]
        if spent:
            out.append(Figure("startup", f"CPU stage: {name}", median(spent), "ms", floor_ms,
                              note=what + (" (from process start)" if before is None else "")))
        before = name
    return out


def _cpu_field(line: str, into: list[float] | None) -> None:
    fields = line.split()
    if into is not None and len(fields) >= 3:
        into.append(float(fields[2]))


def _wall(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, capture_output=True, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def run(reps: int, work: Path) -> tuple[list[Figure], dict[str, object]]:
    home = work / "honk-home"
    write_history(home, 5)
    py = sys.executable
    # Bytecode cached, as in an install or a bundle: a private pycache (warmed by the first
    # runs) instead of PYTHONDONTWRITEBYTECODE, which would recompile every module each start.
    env = {**installed_bytecode_env(os.environ, work / "pycache"),
           "QT_QPA_PLATFORM": "offscreen", "HONK_HOME": str(home),
           "HONK_EXIT_AFTER_FIRST_PAINT": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    bare_script = work / "bare_window.py"
    bare_script.write_text(BARE)
    honk_cmd, bare_cmd = [py, "-m", "desktop"], [py, str(bare_script)]
    same_cmd = [py, str(Path(__file__).with_name("same_widgets.py")),
                str(resources_dir() / "style.qss")]
    for cmd in (bare_cmd, same_cmd, honk_cmd, [py, "-m", "desktop", "--help"],
                [py, "-c", "pass"]):
        # Warm the page cache and the bytecode cache for both before timing.
        subprocess.run(cmd, env=env, capture_output=True, stdin=subprocess.DEVNULL, check=False)
    honk: list[float] = []
    bare: list[float] = []
    ready: list[float] = []
    bare_cpu: list[float] = []
    honk_cpu: list[float] = []
    ready_cpu: list[float] = []
    stages: list[dict[str, float]] = []
    same: list[float] = []
    same_cpu: list[float] = []
    for _ in range(reps):
        bare.append(_until_mark(bare_cmd, env, cpu=bare_cpu))
        same.append(_until_mark(same_cmd, env, cpu=same_cpu))
        honk.append(_until_mark(honk_cmd, env, ready, cpu=honk_cpu, ready_cpu=ready_cpu,
                                stages=stages))

    cli_env = {k: v for k, v in env.items() if k != "HONK_EXIT_AFTER_FIRST_PAINT"}
    helps, passes = [], []
    for _ in range(reps):
        passes.append(_wall([py, "-c", "pass"], cli_env))
        helps.append(_wall([py, "-m", "desktop", "--help"], cli_env))
    probe = subprocess.run([py, "-c", PROBE_HELP], env=cli_env, capture_output=True, text=True,
                           check=True, stdin=subprocess.DEVNULL)
    heavy: list[str] = json.loads(probe.stdout.strip().splitlines()[-1])

    h, b = median(honk), median(bare)
    fig = [
        Figure("startup", "honk to first window painted", h * 1000, "ms", b * 1000,
               goal="ratio <= 1.5", ok=h <= 1.5 * b,
               note=f"floor: bare PySide6 QMainWindow to first paint; journal with 5 changes; "
                    f"{reps} alternating runs"),
        Figure("startup", "honk to window complete", median(ready) * 1000, "ms", b * 1000,
               goal="ratio <= 1.5", ok=median(ready) <= 1.5 * b,
               note="history listed, actions live (the agent stack warms up after this); "
                    "floor: the bare window's first paint"),
        Figure("startup", "CPU to window complete", median(ready_cpu) * 1000, "ms",
               median(bare_cpu) * 1000,
               note="the process's own CPU time at each mark (less disturbed by a loaded "
                    f"machine); first paint {median(honk_cpu) * 1000:.0f} ms; floor: the "
                    "bare window's CPU at its first paint"),
        Figure("startup", "same widgets, no Honk code", median(same) * 1000, "ms", b * 1000,
               note="bench/same_widgets.py: Honk's complete window rebuilt with plain PySide6 "
                    f"and its stylesheet, to first paint (CPU {median(same_cpu) * 1000:.0f} ms, "
                    f"{median(same_cpu) / median(bare_cpu):.2f}x the bare window's): the part "
                    "of start-up no Honk code can remove; floor: the bare window"),
        Figure("startup", "window complete vs same widgets", median(ready) * 1000, "ms",
               median(same) * 1000,
               note="Honk's own share: its window complete against PySide6 drawing the same "
                    f"widgets (CPU {median(ready_cpu) / median(same_cpu):.2f}x)"),
        Figure("startup", "honk --help", median(helps) * 1000, "ms", median(passes) * 1000,
               goal="no Qt/SDK import", ok=not heavy,
               note="floor: python -c pass; heavy modules imported for --help: "
                    + (", ".join(heavy) or "none")),
    ]
    fig += _stage_figures(stages, median(bare_cpu) * 1000)
    return fig, {"stages_cpu_s": stages, "honk_s": honk, "bare_s": bare, "ready_s": ready,
                 "same_s": same, "same_cpu_s": same_cpu, "help_s": helps, "pass_s": passes,
                 "honk_cpu_s": honk_cpu, "bare_cpu_s": bare_cpu, "ready_cpu_s": ready_cpu,
                 "help_heavy_imports": heavy}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.startup",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=7, help="timed runs of each (median)")
    parser.add_argument("--quick", action="store_true", help="3 runs of each")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="honk-bench-startup-") as tmp:
        figures, extra = run(3 if args.quick else args.reps, Path(tmp))
    for f in figures:
        print(f"{f.name:<32} {f.value:8.0f} ms  floor {f.floor:6.0f} ms  "
              f"{f.ratio or 0:.2f}x  {f.note}")
    write_figures(args.json, "startup", figures, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
