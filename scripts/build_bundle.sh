#!/usr/bin/env bash
# Build the one-folder bundle (dist/honk) and prove it starts: `honk --help` and the
# headless demo from the bundle. Prints how long the build took and how big it is.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
# The bundle is built from the locked set (PyInstaller included): the same packages CI tested.
"$py" -m pip install -q -r requirements.lock
start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN build.spec
end=$(date +%s)
echo "bundle: built in $((end - start)) s, $(du -sh dist/honk | cut -f1) in dist/honk"
dist/honk/honk --help >/dev/null
QT_QPA_PLATFORM=offscreen dist/honk/honk demo --headless
