"""What every benchmark shares: a figure (value against a floor measured in the same run),
the JSON each one hands to ``python -m bench``, and small measuring helpers."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["FRAME_MS", "Figure", "fit_exponent", "median", "rss_mib", "write_figures"]

FRAME_MS = 1000 / 60  # one frame at 60 Hz: the floor for anything a person watches


@dataclass(frozen=True)
class Figure:
    """One row of the table. ``floor`` is the same work done by the bare stack, same run.

    ``goal`` is a short human rule ("ratio <= 1.5", "< 150 MiB over"); ``ok`` says whether it
    was met (None where there is no goal).
    """

    bench: str
    name: str
    value: float
    unit: str
    floor: float | None = None
    goal: str = ""
    ok: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.floor is None or self.floor <= 0:
            return None
        return self.value / self.floor

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "ratio": self.ratio}


def write_figures(path: Path | None, bench: str, figures: Sequence[Figure],
                  extra: dict[str, object] | None = None) -> None:
    """Write ``{"bench", "figures", "extra"}`` for the runner; nothing when ``path`` is None."""
    if path is None:
        return
    path.write_text(json.dumps({"bench": bench, "figures": [f.to_dict() for f in figures],
                                "extra": extra or {}}, indent=2, default=str))


def installed_bytecode_env(env: Mapping[str, str], pycache: Path) -> dict[str, str]:
    """``env`` for timing a `honk` subprocess as an install runs it: bytecode cached in a
    private ``pycache`` (warm it with one untimed run). This environment sets
    PYTHONDONTWRITEBYTECODE=1, which would recompile every edited module on every start."""
    out = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out["PYTHONPYCACHEPREFIX"] = str(pycache)
    return out


def median(values: Sequence[float]) -> float:
    """Median: machines here are shared and noisy, so means would mislead."""
    return statistics.median(values)


def fit_exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """Least-squares slope of log(time) on log(size): 1.0 is linear, 2.0 quadratic."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(max(t, 1e-9)) for t in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs)


def rss_mib(pid: int | str = "self") -> tuple[float, float]:
    """(current, peak) resident set size of a process in MiB, from /proc (Linux)."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(rest.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]
