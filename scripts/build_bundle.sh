#!/usr/bin/env bash
# Build the one-folder bundle (dist/honk) and prove it starts: `honk --help` and the
# headless demo from the bundle. Prints how long the build took and how big it is.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
"$py" -m pip install -q 'pyinstaller>=6.10'
start=$(date +%s)
"$py" -m PyInstaller --noconfirm --clean --log-level WARN build.spec
end=$(date +%s)
echo "bundle: built in $((end - start)) s, $(du -sh dist/honk | cut -f1) in dist/honk"
dist/honk/honk --help >/dev/null
QT_QPA_PLATFORM=offscreen dist/honk/honk demo --headless
