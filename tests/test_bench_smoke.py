"""`python -m bench` runs and prints its table (no timed assertions: figures live in bench/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bench(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "bench", *args, "--out", str(tmp / "r.json")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          check=False, stdin=subprocess.DEVNULL)


def test_quick_stream_edit_prints_a_table_and_writes_json(tmp_path: Path) -> None:
    done = _bench("--quick", "--only", "stream_edit", tmp=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "cores" in done.stdout
    assert "stream_edit" in done.stdout and "partial-JSON growth exponent" in done.stdout
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["cores"] == os.cpu_count()
    [result] = data["results"]
    assert result["bench"] == "stream_edit" and result["figures"]
    assert all({"value", "floor", "ratio", "unit"} <= set(f) for f in result["figures"])


def test_unknown_benchmark_is_named(tmp_path: Path) -> None:
    done = _bench("--only", "nope", tmp=tmp_path)
    assert done.returncode == 2
    assert "unknown benchmark nope" in done.stderr and "stream_edit" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_first_paint_hook_prints_a_mark_and_quits(tmp_path: Path) -> None:
    env = {**os.environ, "HONK_EXIT_AFTER_FIRST_PAINT": "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    done = subprocess.run([sys.executable, "-m", "desktop"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr
    marks = [ln for ln in done.stdout.splitlines() if ln.startswith("HONK_FIRST_PAINT ")]
    assert len(marks) == 1 and float(marks[0].split()[1]) > 0
    # The frame paints first; the complete window (history, actions) follows, then it quits.
    ready = [ln for ln in done.stdout.splitlines() if ln.startswith("HONK_READY ")]
    assert len(ready) == 1 and float(ready[0].split()[1]) >= float(marks[0].split()[1])
    # Each mark carries the process's CPU seconds too (the bench's load-proof figure).
    assert 0 < float(marks[0].split()[2]) <= float(ready[0].split()[2])
    # The stages between them, in the order the app reaches them, CPU never going back.
    lines = done.stdout.splitlines()
    stages = [ln.split() for ln in lines if ln.startswith("HONK_STAGE ")]
    assert [s[1] for s in stages] == ["qt", "loop", "services", "window"]
    cpu = [float(s[3]) for s in stages]
    assert cpu == sorted(cpu) and cpu[0] <= float(marks[0].split()[2]) <= cpu[1]
