"""`python -m desktop` as a separate process, the way a person (or a crash) meets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from desktop.adapters.store.journal import ChangeJournal
from desktop.core.events import event_to_dict

KEY = "sk-ant-test-reliability-0123456789"


def honk(*args: str, env: Mapping[str, str], timeout: float = 60
         ) -> subprocess.CompletedProcess[str]:
    """Run one honk command to the end."""
    return subprocess.run([sys.executable, "-m", "desktop", *args], env=dict(env),
                          capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def history(env: Mapping[str, str]) -> list[dict[str, object]]:
    proc = honk("history", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def start(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """Start a honk command with its JSON lines readable as they come."""
    return subprocess.Popen([sys.executable, "-m", "desktop", *args], env=dict(env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def read_until(proc: subprocess.Popen[str], stop: Callable[[dict[str, object]], bool]
               ) -> list[dict[str, object]]:
    """JSON lines up to and including the first that ``stop`` accepts (or the end)."""
    assert proc.stdout is not None
    seen: list[dict[str, object]] = []
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        seen.append(json.loads(line))
        if stop(seen[-1]):
            break
    return seen


def finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """Wait for the process and return the rest of its output."""
    out, err = proc.communicate(timeout=60)
    return out, err


def base_env(home: Path, api_url: str = "") -> dict[str, str]:
    env = {**os.environ, "HONK_HOME": str(home), "ANTHROPIC_API_KEY": KEY,
           "HONK_RETRY_BACKOFF_S": "0.01"}
    if api_url:
        env["ANTHROPIC_BASE_URL"] = api_url
    return env


def journal_events(home: Path, change: str) -> list[dict[str, object]]:
    """The change's journalled events, read with the app's own journal class."""
    journal = ChangeJournal(home / "journal.sqlite3")
    try:
        return [event_to_dict(e) for e in journal.events(change)]
    finally:
        journal.close()
