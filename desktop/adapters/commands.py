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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CommandResult", "run_command", "scrubbed_env"]

# Variables whose names look like credentials never reach a verifier or build.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH", re.IGNORECASE)
_ALWAYS_DROP = {"ANTHROPIC_BASE_URL", "HONK_HOME"}


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


def scrubbed_env(base: Mapping[str, str]) -> dict[str, str]:
    """``base`` without anything that looks like a credential or points at Honk's data."""
    return {k: v for k, v in base.items() if not _SECRET_NAME.search(k) and k not in _ALWAYS_DROP}


async def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    on_line: Callable[[str], None] | None = None,
    max_output: int = 2_000_000,
) -> CommandResult:
    """Run ``argv`` to completion or ``timeout``; cancelling the task kills the process group."""
    started = time.monotonic()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=cwd,
            env=dict(env if env is not None else scrubbed_env(os.environ)),
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

    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(pump(), proc.wait()), timeout)
    except TimeoutError:
        timed_out = True
        await _kill_group(proc)
    except asyncio.CancelledError:
        await _kill_group(proc)
        raise
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
