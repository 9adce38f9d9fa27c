#!/usr/bin/env bash
# Re-resolve requirements.lock: every package the README's install command puts into
# .venv (the runtime dependencies, the `dev` extra and the `claude-code` extra), pinned with hashes for every
# platform (Linux, macOS, Windows).
#
#   scripts/lock.sh                       # after editing pyproject.toml: keeps every pin that still fits
#   scripts/lock.sh --upgrade             # move everything to the newest releases
#   scripts/lock.sh --upgrade-package anthropic   # move one package (and what it needs)
#
# Then run the suite (`.venv/bin/python -m pytest` after the README's install command)
# and commit the lock with a message that says what moved and why.
set -euo pipefail
cd "$(dirname "$0")/.."
uv_version=0.13.8  # the resolver itself is pinned, so the same inputs give the same lock
tools=${HONK_LOCK_TOOLS:-"${XDG_CACHE_HOME:-$HOME/.cache}/honk-lock-tools"}
if [ ! -x "$tools/bin/uv" ] || [ "$("$tools/bin/uv" --version | cut -d' ' -f2)" != "$uv_version" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "uv==$uv_version"
fi
# --universal: one file with environment markers for every platform the desktop app runs on.
"$tools/bin/uv" pip compile pyproject.toml --extra dev --extra claude-code --universal --python-version 3.11 \
  --generate-hashes --no-header --quiet -o requirements.lock "$@"
{
  echo "# The locked set: what the README's install command puts into .venv. Do not edit;"
  echo "# regenerate with scripts/lock.sh (README, \"Development\")."
  cat requirements.lock
} > requirements.lock.tmp && mv requirements.lock.tmp requirements.lock
echo "lock: $(grep -c '^[a-z0-9].*==' requirements.lock) packages pinned in requirements.lock"
git --no-pager diff --stat -- requirements.lock 2>/dev/null || true
