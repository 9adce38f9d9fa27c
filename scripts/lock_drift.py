"""Compare this environment with requirements.lock.

    python scripts/lock_drift.py requirements.lock

Prints each locked package (whose markers apply here) that is missing or at another
version, and exits 1 if there is any. `scripts/test-newest.sh` uses it to show what is
newer than the lock; the suite uses it to prove that CI tests the locked set.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)\s*(?:;(?P<marker>[^\\]+))?")


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies_here(self) -> bool:
        return self.marker is None or self.marker.evaluate()


def read_lock(path: Path) -> dict[str, Pin]:
    """The pins of a `uv pip compile --generate-hashes` file, by canonical name."""
    pins: dict[str, Pin] = {}
    current: dict[str, object] | None = None
    hashes: list[str] = []

    def close() -> None:
        if current is not None:
            name = str(current["name"])
            pins[name] = Pin(name, str(current["version"]), current["marker"],  # type: ignore[arg-type]
                             tuple(hashes))

    for number, line in enumerate(path.read_text().splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            hashes.append(stripped.removeprefix("--hash=").rstrip(" \\"))
            continue
        match = _PIN.match(stripped)
        if match is None:
            raise SystemExit(f"{path}:{number}: expected NAME==VERSION or --hash=..., got {stripped!r}")
        close()
        hashes = []
        marker = match["marker"]
        current = {"name": canonicalize_name(match["name"]), "version": match["version"],
                   "marker": Marker(marker.strip()) if marker else None}
    close()
    return pins


def drift(pins: dict[str, Pin]) -> list[str]:
    """What in this environment differs from the pins that apply here."""
    problems = []
    for pin in pins.values():
        if not pin.applies_here():
            continue
        try:
            installed = metadata.version(pin.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{pin.name}: locked {pin.version}, not installed")
            continue
        if installed != pin.version:
            problems.append(f"{pin.name}: locked {pin.version}, installed {installed}")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: lock_drift.py requirements.lock", file=sys.stderr)
        return 2
    problems = drift(read_lock(Path(argv[0])))
    for problem in problems:
        print(f"  {problem}")
    if not problems:
        print("  (none: this environment is the locked set)")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
