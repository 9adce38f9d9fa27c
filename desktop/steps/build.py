"""The build stage: run ``[build] command`` in the change's worktree and find its artifact.

The log streams as ephemeral events, with a progress indicator (elapsed time, lines, and a
percent where the tool prints one). Exactly one file must match ``[build] artifact``; its
path, size and sha256 are journalled and put in the context, so the install stage can
check that the same bytes reach the device. A failing build goes back to the agent with the
relevant lines of its log, not all of it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import re
import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.android.sdk import with_android_sdk
from desktop.adapters.process.commands import CommandResult, run_command, scrubbed_env
from desktop.adapters.process.ledger import ProcessLedger
from desktop.adapters.process.sandbox import exec_failure, sandbox_command
from desktop.core.build_events import ArtifactBuilt, BuildLog
from desktop.core.config import BuildConfig
from desktop.core.errors import HonkError
from desktop.core.events import Notice, StageProgress
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.stages import Stage
from desktop.core.text import failure_excerpt, redact

__all__ = ["Artifact", "ArtifactError", "BuildStep", "find_artifact", "parse_percent", "sha256_of"]

# Gradle's rich console: "<===========--> 85% EXECUTING [12s]" (possibly wrapped in ANSI codes).
_GRADLE = re.compile(r"<[=\-]*>\s*(\d{1,3})%\s+(?:INITIALIZING|CONFIGURING|EXECUTING|WAITING)")
_GENERIC = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d+)?)\s?%")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_GLOB_CHARS = re.compile(r"[*?\[]")
_SHOWN = 10  # how many file names a "what was there" message lists


class ArtifactError(HonkError):
    """No artifact, or more than one; ``str()`` names the glob and what was there."""


@dataclass(frozen=True)
class Artifact:
    path: Path
    size: int
    sha256: str


def parse_percent(line: str) -> float | None:
    """The progress a build tool printed on ``line`` (0-100), or None when it printed none."""
    text = _ANSI.sub("", line)
    found = _GRADLE.search(text)
    if found is None:
        found = _GENERIC.search(text)
    if found is None:
        return None
    value = float(found.group(1))
    return value if 0.0 <= value <= 100.0 else None


def sha256_of(path: Path) -> str:
    """The file's sha256 as 64 lowercase hex digits (read in chunks: artifacts are large)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def find_artifact(worktree: Path, pattern: str) -> Path:
    """The one file matching ``pattern`` under ``worktree``; ArtifactError otherwise."""
    matches = sorted(p for p in worktree.glob(pattern) if p.is_file())
    if len(matches) == 1:
        return matches[0]
    if matches:
        names = [str(p.relative_to(worktree)) for p in matches]
        raise ArtifactError(
            f"[build] artifact = {pattern!r} matched {len(matches)} files, expected exactly one: "
            f"{_listing(names)}. Narrow the glob (e.g. the build variant's directory)."
        )
    base, missing = _glob_base(worktree, pattern)
    entries = sorted(
        str(p.relative_to(worktree)) + ("/" if p.is_dir() else "") for p in base.iterdir()
    )
    where = "the worktree root" if base == worktree else str(base.relative_to(worktree))
    there = f"{where} holds {_listing(entries)}" if entries else f"{where} is empty"
    if missing:
        there = f"{missing} does not exist; {there}"
    raise ArtifactError(
        f"the build succeeded but no file matches [build] artifact = {pattern!r} in the "
        f"worktree ({there})."
    )


def _glob_base(worktree: Path, pattern: str) -> tuple[Path, str]:
    """The deepest existing directory of the pattern's glob-free prefix, and what is missing."""
    base = worktree
    for part in Path(pattern).parts[:-1]:
        if _GLOB_CHARS.search(part):
            break
        if not (base / part).is_dir():
            return base, str((base / part).relative_to(worktree))
        base = base / part
    return base, ""


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f" and {len(names) - _SHOWN} more" if len(names) > _SHOWN else "")


class BuildStep:
    """The pipeline's build stage."""

    stage = Stage.BUILD

    def __init__(
        self,
        config: BuildConfig,
        *,
        max_returns: int = 1,
        secrets: Callable[[], Iterable[str]] = tuple,
        progress_every: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        ledger: ProcessLedger | None = None,
        tool_cache: Path | None = None,
    ) -> None:
        self._ledger = ledger  # the running build, so a killed Honk's orphans can be reaped
        self._tool_cache = tool_cache  # boxed builds' Gradle and Android homes
        self.config = config
        self.max_returns = max_returns
        self._secrets = secrets
        self._progress_every = progress_every
        self._clock = clock

    async def run(self, ctx: ChangeContext) -> StepResult:
        """Build in ``ctx.worktree``; record the artifact in ``ctx`` and the journal."""
        worktree = Path(ctx.worktree)
        refusal = _refuse_worktree(worktree)
        if refusal:
            return StepResult(ok=False, reason=refusal)
        command = " ".join(shlex.quote(a) for a in self.config.command)
        outcome = await self._build(ctx, worktree)
        if isinstance(outcome, str):
            return StepResult(ok=False, reason=outcome)  # the sandbox policy refused to run it
        if outcome.error:
            return StepResult(
                ok=False, reason=f"[build] command could not start: {outcome.error}"
            )
        if outcome.timed_out:
            return StepResult(
                ok=False,
                reason=f"build timed out after {self.config.timeout:g} s ([build] timeout in "
                f"{ctx.config.file}); it was stopped, with everything it started",
            )
        if not outcome.ok:
            secrets = list(self._secrets())
            excerpt = redact(failure_excerpt(redact(outcome.output, secrets)), secrets)
            return StepResult(
                ok=False,
                reason=f"build failed (exit code {outcome.exit_code})",
                back_to_agent=(
                    f"The build (`{command}`) failed with exit code {outcome.exit_code}. "
                    "Fix the cause in the code. The relevant lines of its log:\n"
                    f"<build_log>\n{excerpt}\n</build_log>"
                ),
            )
        try:
            artifact = await asyncio.to_thread(self._artifact, worktree)
        except ArtifactError as exc:
            return StepResult(ok=False, reason=str(exc))
        ctx.artifact_path = str(artifact.path)
        ctx.artifact_sha256 = artifact.sha256
        ctx.emit(
            ArtifactBuilt(
                change=ctx.change_id,
                path=str(artifact.path),
                size=artifact.size,
                sha256=artifact.sha256,
                seconds=round(outcome.seconds, 3),
            )
        )
        return StepResult(ok=True, reason=f"built {artifact.path.name} ({artifact.size} bytes)")

    async def _build(self, ctx: ChangeContext, worktree: Path) -> CommandResult | str:
        """The build's outcome, or why the sandbox policy refuses to run it."""
        started = self._clock()
        state = _Progress()
        secrets = list(self._secrets())
        env = with_android_sdk(scrubbed_env(os.environ, secrets), worktree)
        box = await sandbox_command(
            self.config.command, worktree, self.config.sandbox, env, what="build",
            tool_cache=self._tool_cache,
        )
        if box.error:
            return box.error
        if box.note and not box.boxed:
            ctx.emit(Notice(change=ctx.change_id, level="warning", message=box.note))

        def on_line(raw: str) -> None:
            # A tool that redraws its status line sends "\r" between the redraws.
            line = next((s for s in reversed(raw.split("\r")) if s.strip()), "")
            line = redact(line, secrets)  # the log is journalled and shown: no secrets in it
            state.lines += 1
            ctx.emit(BuildLog(change=ctx.change_id, line=line))
            percent = parse_percent(line)
            changed = percent is not None and percent != state.percent
            if percent is not None:
                state.percent = percent
            now = self._clock()
            if changed or now - state.reported >= self._progress_every:
                state.reported = now
                self._report(ctx, now - started, state, _ANSI.sub("", line).strip())

        if box.note:
            self._report(ctx, 0.0, state, box.note)
        self._report(ctx, 0.0, state, "starting " + " ".join(self.config.command))
        outcome = await run_command(
            box.argv, cwd=worktree, timeout=self.config.timeout, on_line=on_line,
            env=box.env, secrets=secrets, ledger=self._ledger,
        )
        if failed := exec_failure(box, outcome.exit_code, outcome.output):
            outcome = dataclasses.replace(outcome, exit_code=None, error=failed)
        self._report(ctx, outcome.seconds, state, "finished")
        return outcome

    def _report(self, ctx: ChangeContext, elapsed: float, state: _Progress, last: str) -> None:
        message = f"{elapsed:.0f} s, {state.lines} log lines"
        if last:
            message += f": {last[:120]}"
        ctx.emit(
            StageProgress(
                change=ctx.change_id, stage=Stage.BUILD, message=message, percent=state.percent
            )
        )

    def _artifact(self, worktree: Path) -> Artifact:
        path = find_artifact(worktree, self.config.artifact)
        return Artifact(path=path, size=path.stat().st_size, sha256=sha256_of(path))


@dataclass
class _Progress:
    lines: int = 0
    percent: float | None = None
    reported: float = float("-inf")


def _refuse_worktree(worktree: Path) -> str:
    """Why the build may not run in ``worktree`` ("" when it may)."""
    if not worktree.is_dir():
        return f"the change's worktree {worktree} does not exist; nothing to build"
    if (worktree / ".git").is_dir():
        # A linked worktree has a .git *file*; a directory means someone's own checkout.
        return (
            f"refusing to build in {worktree}: it is a repository's own checkout, not the "
            "change's worktree"
        )
    return ""
