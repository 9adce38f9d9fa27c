"""requirements.lock is the installed set: every declared dependency pinned with hashes,
and the environment running this suite is exactly the lock (so CI tests what users get)."""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


def lock_drift() -> ModuleType:
    """scripts/lock_drift.py, loaded once (scripts/ is not a package)."""
    if (loaded := sys.modules.get("honk_lock_drift")) is not None:
        return loaded
    path = ROOT / "scripts" / "lock_drift.py"
    spec = importlib.util.spec_from_file_location("honk_lock_drift", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    return [Requirement(r) for r in [*project["dependencies"], *extras["dev"],
                                     *extras["claude-code"]]]


def test_every_declared_dependency_is_pinned_within_its_bounds_with_hashes() -> None:
    pins = lock_drift().read_lock(LOCK)
    for requirement in declared():
        pin = pins.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is declared but not in requirements.lock"
        assert requirement.specifier.contains(pin.version, prereleases=True), (
            f"{requirement.name}=={pin.version} in the lock is outside {requirement}")
    assert all(pin.hashes for pin in pins.values()), "every pin carries its hashes"
    assert all(h.startswith("sha256:") for pin in pins.values() for h in pin.hashes)


@pytest.mark.skipif(os.environ.get("HONK_UNLOCKED") == "1",
                    reason="scripts/test-newest.sh runs outside the lock on purpose")
def test_this_environment_is_the_locked_set() -> None:
    assert lock_drift().drift(lock_drift().read_lock(LOCK)) == []


def test_a_broken_lock_line_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "requirements.lock"
    bad.write_text("# header\nanthropic>=2\n")
    with pytest.raises(SystemExit, match=r"requirements.lock:2: expected NAME==VERSION .*'anthropic>=2'"):
        lock_drift().read_lock(bad)


def test_a_version_off_the_lock_is_reported(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.lock"
    lock.write_text("pytest==0.0.1 \\\n    --hash=sha256:00\nno-such-dist-honk==1.0\n"
                    "only-on-windows==1.0 ; sys_platform == 'win32' and sys_platform == 'linux'\n")
    problems = lock_drift().drift(lock_drift().read_lock(lock))
    assert problems[0].startswith("pytest: locked 0.0.1, installed ")
    assert problems[1:] == ["no-such-dist-honk: locked 1.0, not installed"]
