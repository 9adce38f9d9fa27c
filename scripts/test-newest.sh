#!/usr/bin/env bash
# Run the suite against the newest releases of everything, outside the lock, in a
# throw-away venv: an upstream change (a new anthropic, PySide6, slack_sdk ...) shows up
# here before it reaches a user. Not part of .ci/run, which tests the locked set.
#
#   scripts/test-newest.sh                # the whole suite
#   scripts/test-newest.sh tests/sim -x   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d "${TMPDIR:-/tmp}/honk-newest.XXXXXX")
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --upgrade --upgrade-strategy eager -e '.[dev,claude-code]'
echo "newest: what differs from requirements.lock"
"$venv/bin/python" scripts/lock_drift.py requirements.lock || true
# The one test that proves the running set is the lock is skipped here, on purpose.
HONK_UNLOCKED=1 "$venv/bin/python" -m pytest "$@"
