"""Below the front ends nothing needs Qt: import every module of core, adapters, steps and
app with PySide6 (and the UI) blocked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import desktop

PACKAGE_ROOT = Path(desktop.__file__).parent

_PROBE = """
import importlib, pkgutil, sys
class _Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'qasync') or name.startswith('desktop.ui'):
            raise ImportError('blocked for the layering test: ' + name)
        return None
sys.meta_path.insert(0, _Block())
import desktop.core, desktop.adapters, desktop.steps, desktop.app
names = []
for pkg in (desktop.core, desktop.adapters, desktop.steps, desktop.app):
    for mod in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):
        importlib.import_module(mod.name)
        names.append(mod.name)
print(len(names))
"""


def test_everything_below_the_front_ends_imports_without_qt() -> None:
    proc = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) >= 3  # it really imported modules


def test_probe_catches_a_qt_import(tmp_path: Path) -> None:
    # The check must be able to fail: a module that imports PySide6 is caught.
    bad = tmp_path / "pkg"
    bad.mkdir()
    (bad / "__init__.py").write_text("import PySide6.QtCore\n")
    probe = _PROBE.replace("import desktop.core, desktop.adapters, desktop.steps, desktop.app", f"sys.path.insert(0, {str(tmp_path)!r}); import pkg")
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "blocked for the layering test: PySide6" in proc.stderr
