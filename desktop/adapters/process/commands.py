"""Running the repo's own commands (verifiers, builds): the one process module.

Commands run without a shell, in the worktree, in their own process group (so a timeout or
cancel kills everything they started), with an environment that holds no secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.process.ledger import ProcessLedger

__all__ = ["CommandResult", "run_command", "scrubbed_env"]

# Variables whose names look like credentials never reach a verifier or build.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
# Values shaped like well-known credentials, whatever the variable is called (FOO=sk-ant-...).
_SECRET_VALUE = re.compile(
    r"sk-ant-[A-Za-z0-9_-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
)
# Honk's own data and the session bus (the way to the keyring) stay out of reach too.
_ALWAYS_DROP = {"ANTHROPIC_BASE_URL", "DBUS_SESSION_BUS_ADDRESS"}
_DROP_PREFIX = ("HONK_",)
_MIN_SECRET = 8  # shorter "secrets" would match innocent values everywhere


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int | None  # None when it timed out or could not start
    output: str  # stdout and stderr interleaved as the process wrote them
    seconds: float
    timed_out: bool = False
    error: str = ""  # why it could not start

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def scrubbed_env(base: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """``base`` without credentials or pointers at Honk's data.

    A variable goes when its name looks like a credential, its value looks like a known
    token format, or its value contains any of ``secrets`` (so a key exported under an
    innocent name, or embedded in a URL, is dropped too).
    """
    known = [s for s in secrets if len(s) >= _MIN_SECRET]
    return {
        k: v
        for k, v in base.items()
        if not _SECRET_NAME.search(k)
        and k not in _ALWAYS_DROP
        and not k.startswith(_DROP_PREFIX)
        and not _SECRET_VALUE.search(v)
        and not any(s in v or s in k for s in known)
    }


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    max_output: int = 2_000_000,
    secrets: Iterable[str] = (),
    ledger: ProcessLedger | None = None,
) -> CommandResult:
    """Run ``argv`` to completion or ``timeout``; cancelling the task kills the process group.

    Without an explicit ``env`` the child gets :func:`scrubbed_env` of ours, minus every
    variable holding one of ``secrets``.
    """
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env if env is not None else scrubbed_env(os.environ, secrets)),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
    except OSError as exc:
        return CommandResult(
            tuple(argv),
            None,
            "",
            time.monotonic() - started,
            error=f"could not start {argv[0]!r}: {exc.strerror or exc}",
        )
    if ledger is not None:
        ledger.add(proc.pid, argv)
    chunks: list[str] = []
    size = 0

    async def pump() -> None:
        nonlocal size
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace")
            if size < max_output:
                chunks.append(line)
                size += len(line)
            if on_line is not None:
                on_line(line.rstrip("\n"))

    async def to_the_end() -> None:
        # In a row, not gathered: a cancelled gather leaves its children's errors unread
        # ("_GatheringFuture exception was never retrieved" on every cancelled command).
        await pump()
        await proc.wait()

    timed_out = False
    try:
        await asyncio.wait_for(to_the_end(), timeout)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
    except asyncio.CancelledError:
        await _kill_group(proc)
        raise
    finally:
        if ledger is not None:
            ledger.remove(proc.pid)
    # Whatever the command left running in its group (a daemon, a stray server) goes too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return CommandResult(
        tuple(argv),
        None if timed_out else proc.returncode,
        "".join(chunks),
        time.monotonic() - started,
        timed_out=timed_out,
    )


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """Kill the process and everything it spawned (it leads its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), 5)
