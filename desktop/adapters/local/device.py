"""`[device] kind = "local"`: apps that run on this computer, installed by the repo's command.

``install`` and ``launch`` are argv templates. ``{artifact}`` (and ``{package}``) are replaced
inside single argv elements and nothing goes through a shell, so a file name full of quotes,
spaces or ``; rm -rf`` stays one harmless argument.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from desktop.adapters.process.commands import run_command, scrubbed_env
from desktop.core.errors import HonkError
from desktop.core.text import failure_excerpt

__all__ = ["LocalDevice", "LocalDeviceError", "fill_template"]

Progress = Callable[[float, str], None]


class LocalDeviceError(HonkError):
    """The local install or launch failed; ``str()`` says which command and why."""


def fill_template(template: Sequence[str], *, artifact: Path, package: str = "") -> list[str]:
    """``template`` with the placeholders filled in, one argv element per template element."""
    return [part.replace("{artifact}", str(artifact)).replace("{package}", package)
            for part in template]


class LocalDevice:
    """This computer as the test device."""

    kind = "local"

    def __init__(
        self,
        install: Sequence[str],
        launch: Sequence[str] = (),
        *,
        cwd: Path,
        package: str = "",
        timeout: float = 600.0,
        settle: float = 2.0,
    ) -> None:
        if not install:
            raise LocalDeviceError("[device] install: a command template is required for "
                                   "kind = 'local' (e.g. ['cp', '{artifact}', '/opt/app'])")
        self.install_template = tuple(install)
        self.launch_template = tuple(launch)
        self.cwd = cwd
        self.package = package
        self.timeout = timeout
        self.settle = settle  # how long a launched app must survive to count as started
        self.launched_pid: int | None = None
        self._artifact: Path | None = None

    def describe(self) -> str:
        return "this computer"

    async def install(self, artifact: Path, progress: Progress) -> str:
        """Run the install command with ``artifact``; its output goes to ``progress``."""
        argv = fill_template(self.install_template, artifact=artifact, package=self.package)
        progress(0.0, "running " + argv[0])
        outcome = await run_command(
            argv, cwd=self.cwd, timeout=self.timeout, on_line=lambda line: progress(0.5, line)
        )
        if outcome.error:
            raise LocalDeviceError(f"[device] install: {outcome.error}")
        if outcome.timed_out:
            raise LocalDeviceError(f"[device] install: {argv[0]} timed out after "
                                   f"{self.timeout:g} s and was stopped")
        if not outcome.ok:
            raise LocalDeviceError(
                f"[device] install: {argv[0]} failed with exit code {outcome.exit_code}:\n"
                + failure_excerpt(outcome.output, max_lines=20)
            )
        self._artifact = artifact
        progress(1.0, "installed")
        return outcome.output

    async def launch(self) -> str | None:
        """Start the app and leave it running; None when no launch command is configured.

        The app must outlive this call, so it is not run to completion: it is started in
        its own session, and counts as launched when it is still running (or exited 0)
        after ``settle`` seconds.
        """
        if not self.launch_template:
            return None
        if self._artifact is None:
            raise LocalDeviceError("launch before install: nothing was installed yet")
        argv = fill_template(self.launch_template, artifact=self._artifact, package=self.package)
        with tempfile.TemporaryFile() as log:
            try:
                proc = subprocess.Popen(
                    argv, cwd=self.cwd, env=scrubbed_env(os.environ), stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            except OSError as exc:
                raise LocalDeviceError(
                    f"[device] launch: could not start {argv[0]!r}: {exc.strerror or exc}"
                ) from None
            try:
                code = await _wait(proc, self.settle)
            except asyncio.CancelledError:
                _kill_group(proc)
                raise
            if code is None:
                self.launched_pid = proc.pid
                # Reap it whenever it exits, so a long session leaves no zombies behind.
                threading.Thread(target=proc.wait, daemon=True).start()
                return " ".join(argv)
            if code != 0:
                log.seek(0)
                output = log.read().decode("utf-8", "replace")
                raise LocalDeviceError(
                    f"[device] launch: {argv[0]} exited with code {code}:\n"
                    + failure_excerpt(output, max_lines=20)
                )
        return " ".join(argv)


async def _wait(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    """The exit code if ``proc`` ends within ``seconds``, else None (still running)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        code = proc.poll()
        if code is not None or loop.time() >= deadline:
            return code
        await asyncio.sleep(0.02)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
