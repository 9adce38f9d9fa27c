"""Run every benchmark, each in its own subprocess, and print one table of figures.

    python -m bench [--quick] [--only NAME[,NAME]] [--verbose] [--out FILE]

Each benchmark module writes its figures as JSON (``--json FILE``); this collects them,
prints value, floor (the bare stack doing the same work in the same run), ratio and goal
per row, and writes everything to ``bench/results/latest.json``. Figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# In the order a person meets them: streaming, scaling, start-up, install, memory, a run.
BENCHMARKS = ("stream_edit", "ui_stream", "diff_scaling", "startup", "gc_pause", "install_path",
              "memory", "load", "pipeline_overhead", "remote_build", "engines")
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
TIMEOUT_S = 900


def _run_one(name: str, quick: bool, verbose: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="honk-bench-run-") as tmp:
        out = Path(tmp) / f"{name}.json"
        cmd = [sys.executable, "-m", f"bench.{name}", "--json", str(out)]
        if quick:
            cmd.append("--quick")
        env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "QT_QPA_PLATFORM": "offscreen"}
        started = time.perf_counter()
        try:
            done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=TIMEOUT_S, stdin=subprocess.DEVNULL, check=False)
            code, stdout, stderr = done.returncode, done.stdout, done.stderr
        except subprocess.TimeoutExpired as exc:
            code, stdout, stderr = -1, str(exc.stdout or ""), f"timed out after {TIMEOUT_S} s"
        seconds = time.perf_counter() - started
        if verbose:
            sys.stderr.write(stdout)
        result: dict[str, Any] = {"bench": name, "seconds": seconds, "returncode": code,
                                  "figures": [], "extra": {}, "output": stdout}
        if out.exists():
            result.update(json.loads(out.read_text()))
        if code != 0 or not out.exists():
            tail = (stderr or stdout).strip().splitlines()[-12:]
            result["error"] = "\n".join(tail) or f"exit code {code}, no figures written"
        return result


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return ""
    size = abs(value)
    text = f"{value:,.0f}" if size >= 100 else f"{value:.2f}" if size >= 1 else f"{value:.3f}"
    return f"{text} {unit}".strip()


def format_table(results: list[dict[str, Any]], cores: int) -> str:
    """The table: one row per figure, grouped by benchmark."""
    head = ("bench", "figure", "value", "floor", "ratio", "goal", "ok")
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    for res in results:
        for fig in res["figures"]:
            ok = {True: "yes", False: "NO", None: ""}[fig.get("ok")]
            ratio = fig.get("ratio")
            rows.append((fig["bench"], fig["name"], _fmt(fig["value"], fig["unit"]),
                         _fmt(fig.get("floor"), fig["unit"]),
                         f"{ratio:.2f}x" if ratio is not None else "", fig.get("goal", ""), ok))
            if fig.get("note"):
                notes.append(f"  {fig['bench']} / {fig['name']}: {fig['note']}")
        if res.get("error"):
            rows.append((res["bench"], "FAILED (see below)", "", "", "", "", "NO"))
            notes.append(f"  {res['bench']} FAILED:\n    " + res["error"].replace("\n", "\n    "))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [f"Honk benchmarks: {cores} cores, Python {platform.python_version()}, "
           f"{platform.system()} {platform.machine()}; medians; ratio = value / floor",
           line.format(*head), line.format(*("-" * w for w in widths))]
    last = ""
    for r in rows:
        out.append(line.format("" if r[0] == last else r[0], *r[1:]))
        last = r[0]
    if notes:
        out += ["", "notes:", *notes]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions: a smoke run")
    parser.add_argument("--only", default="", help="comma-separated benchmark names: "
                        + ", ".join(BENCHMARKS))
    parser.add_argument("--verbose", action="store_true", help="show each benchmark's output")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"--only: unknown benchmark {', '.join(unknown)}; "
                     f"expected one of {', '.join(BENCHMARKS)}")
    cores = os.cpu_count() or 1
    results = []
    for name in names:
        sys.stderr.write(f"bench: running {name}{' (quick)' if args.quick else ''}...\n")
        res = _run_one(name, args.quick, args.verbose)
        sys.stderr.write(f"bench: {name} took {res['seconds']:.1f} s"
                         f"{'' if not res.get('error') else ' and FAILED'}\n")
        results.append(res)
    print(format_table(results, cores))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "cores": cores, "python": platform.python_version(), "platform": platform.platform(),
        "quick": args.quick, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "results": results,
    }, indent=2, default=str))
    print(f"\nwrote {args.out}")
    return 1 if any(r.get("error") for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
