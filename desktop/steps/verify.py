"""The repo's verifiers: the pipeline's verify stage and the agent's `run_verifiers` tool."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.android.sdk import with_android_sdk
from desktop.adapters.process.commands import CommandResult, run_command, scrubbed_env
from desktop.adapters.process.ledger import ProcessLedger
from desktop.adapters.process.sandbox import exec_failure, sandbox_command
from desktop.core.config import VerifierConfig
from desktop.core.events import Event, Notice, VerifierResult
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.stages import Stage
from desktop.core.text import failure_excerpt, redact

__all__ = ["VerifierRunner", "VerifyReport", "VerifyStep"]


@dataclass(frozen=True)
class VerifyReport:
    results: tuple[VerifierResult, ...]
    error: str = ""  # the verifiers could not run at all (not the change's fault)

    @property
    def passed(self) -> bool:
        return not self.error and all(r.passed for r in self.results)

    def failures_text(self) -> str:
        """Only the failing verifiers' trimmed output: what the model needs to fix them."""
        if self.error:
            return f"The verifiers could not run: {self.error}"
        if not self.results:
            return "No verifiers are configured for this repository."
        if self.passed:
            names = ", ".join(r.name for r in self.results)
            return f"All verifiers passed ({names})."
        parts = []
        for r in self.results:
            if not r.passed:
                status = "timed out" if r.exit_code is None else f"exit code {r.exit_code}"
                parts.append(f"## {r.name} failed ({status})\n{r.output}")
        return "\n\n".join(parts)


class VerifierRunner:
    """Runs every configured verifier in a worktree and reports each as an event."""

    def __init__(
        self, verifiers: Iterable[VerifierConfig], *, secrets: Callable[[], Iterable[str]],
        ledger: ProcessLedger | None = None, tool_cache: Path | None = None,
    ):
        self.verifiers = tuple(verifiers)
        self._secrets = secrets
        self._ledger = ledger  # running commands, so a killed Honk's orphans can be reaped
        self._tool_cache = tool_cache  # boxed commands' Gradle and Android homes
        self._warned = False  # "no sandbox" is said once per runner, not per verifier

    async def run(
        self, change_id: str, worktree: Path, emit: Callable[[Event], None]
    ) -> VerifyReport:
        results: list[VerifierResult] = []
        secrets = list(self._secrets())
        for verifier in self.verifiers:
            # The child never sees a secret, under its usual name or any other; and, boxed,
            # never reaches the files, sockets or network that hold one.
            env = with_android_sdk(scrubbed_env(os.environ, secrets), worktree)
            box = await sandbox_command(
                verifier.command, worktree, verifier.sandbox, env,
                what="verifiers", tool_cache=self._tool_cache,
            )
            if box.error:
                return VerifyReport(tuple(results), error=box.error)
            if not box.boxed and box.note and not self._warned:
                self._warned = True
                emit(Notice(change=change_id, level="warning", message=box.note))
            outcome = await run_command(
                box.argv, cwd=worktree, timeout=verifier.timeout, env=box.env, secrets=secrets,
                ledger=self._ledger,
            )
            if failed := exec_failure(box, outcome.exit_code, outcome.output):
                outcome = dataclasses.replace(outcome, exit_code=None, error=failed)
            result = self._result(change_id, verifier, outcome, secrets)
            emit(result)
            results.append(result)
        return VerifyReport(tuple(results))

    def _result(
        self, change_id: str, verifier: VerifierConfig, outcome: CommandResult, secrets: list[str]
    ) -> VerifierResult:
        # Redact the whole log before trimming, so a cut can never leave half a secret.
        output = redact(outcome.output, secrets)
        if outcome.error:
            text = outcome.error
        elif outcome.timed_out:
            text = f"timed out after {verifier.timeout:g} s\n" + failure_excerpt(output)
        elif outcome.ok:
            text = ""
        else:
            text = failure_excerpt(output)
        return VerifierResult(
            change=change_id,
            name=verifier.name,
            passed=outcome.ok,
            seconds=round(outcome.seconds, 3),
            output=redact(text, secrets),
            exit_code=outcome.exit_code,
        )


class VerifyStep:
    """Pipeline step: verifiers must pass; failures go back to the agent (bounded)."""

    stage = Stage.VERIFY

    def __init__(self, runner: VerifierRunner, max_returns: int) -> None:
        self.runner = runner
        self.max_returns = max_returns

    async def run(self, ctx: ChangeContext) -> StepResult:
        report = await self.runner.run(ctx.change_id, Path(ctx.worktree), ctx.emit)
        if report.passed:
            return StepResult(ok=True)
        if report.error:
            return StepResult(ok=False, reason=report.error)  # the agent cannot fix this
        failed = ", ".join(r.name for r in report.results if not r.passed)
        feedback = (
            "The repository's verifiers failed after your change. Fix the cause (do not "
            "disable or weaken the checks), then finish.\n\n" + report.failures_text()
        )
        return StepResult(ok=False, reason=f"verifiers failed: {failed}", back_to_agent=feedback)
