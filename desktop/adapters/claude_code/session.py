"""One run of the Claude Code CLI through the SDK: boxed, watched, and stopped for sure.

The box, as the SDK's options say it:

- the tools are Read, Edit, Write, Glob and Grep, plus Honk's ``run_verifiers`` served
  in-process as an SDK MCP tool; every other tool (Bash, web, sub-agents...) is disallowed;
- no tool is pre-allowed, and ``ask`` rules cover every offered tool, so the CLI consults
  ``can_use_tool`` (Honk's ``permit``) before each call; a refusal goes back to the model as
  the tool's error. (An ``allowed_tools`` entry would let calls skip the callback.)
- ``setting_sources=[]`` and ``strict_mcp_config``: the person's ``~/.claude`` and the repo's
  ``.claude/settings.json`` (its hooks run shell commands) and ``.mcp.json`` are never read;
- the CLI runs in its own session with an environment of Honk's choosing (``launch``,
  ``environment``).

The SDK is read on a task of its own that fills a queue. Whoever reads the session can then
stop it at any point (a cancel, the cost cap, a silent CLI): the CLI's process group is
killed first, so the SDK's own shutdown (which would wait seconds for a graceful exit) has
nothing left to wait for.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType
from typing import Any

from desktop.adapters.claude_code.environment import CliPlaces, keep_list, write_wrapper
from desktop.adapters.claude_code.launch import KEEP, PID_FILE, REAL_CLI
from desktop.adapters.claude_code.messages import CliEvent, Finished, translate
from desktop.adapters.claude_code.sdk import load_sdk, real_cli
from desktop.adapters.process.ledger import ProcessLedger
from desktop.core.errors import HonkError
from desktop.core.text import redact

__all__ = [
    "DISALLOWED_TOOLS",
    "TOOLS",
    "VERIFY_TOOL",
    "ClaudeCodeFailed",
    "ClaudeCodeRequest",
    "ClaudeCodeSession",
]

SERVER = "honk"
TOOLS = ("Read", "Edit", "Write", "Glob", "Grep")
VERIFY_TOOL = f"mcp__{SERVER}__run_verifiers"  # the name the CLI gives the model
# Everything else the CLI (2.1.x) offers; `tools` already leaves them out, this says it twice.
DISALLOWED_TOOLS = (
    "Agent", "Task", "Bash", "BashOutput", "KillShell", "CronCreate", "CronDelete", "CronList",
    "EnterWorktree", "ExitWorktree", "ExitPlanMode", "ListAgents", "Monitor", "NotebookEdit",
    "ReportFindings", "ScheduleWakeup", "SendMessage", "Skill", "SlashCommand", "TaskStop",
    "TodoWrite", "ToolSearch", "WebFetch", "WebSearch", "Workflow",
)
_VERIFY_DESCRIPTION = (
    "Run the repository's configured checks (tests, linters) on the current state of the "
    "files. Returns only the failing checks' output, trimmed, or a line saying all passed. "
    "Takes no input.")
_STDERR_LINES = 20

# (tool, input, tool_use_id) -> a refusal the model reads, or None to let the call run
Permit = Callable[[str, dict[str, Any], str | None], Awaitable[str | None]]


class ClaudeCodeFailed(HonkError, RuntimeError):
    """The CLI could not run the change: it crashed, hung, or could not start."""


@dataclass(frozen=True)
class ClaudeCodeRequest:
    """One run: what to ask, where, within which limits, and Honk's side of the tools."""

    prompt: str
    cwd: Path
    model: str
    system_prompt: str  # appended to Claude Code's own
    max_turns: int
    max_budget_usd: float
    env: dict[str, str]  # the CLI's whole environment (environment.cli_environment)
    places: CliPlaces
    permit: Permit
    run_verifiers: Callable[[], Awaitable[str]]
    resume: str | None = None  # a session id to continue (a later round of the change)
    silence_s: float = 600.0  # a CLI that says nothing this long (our tools aside) is hung
    secrets: tuple[str, ...] = ()  # never shown in a reason (stderr is quoted in some)
    ledger: ProcessLedger | None = None  # so a killed Honk's CLI is reaped on resume


@dataclass(frozen=True)
class _End:
    error: BaseException | None = None


class ClaudeCodeSession:
    """``async with ClaudeCodeSession(request) as s: async for event in s: ...``"""

    def __init__(self, request: ClaudeCodeRequest) -> None:
        self.request = request
        self._queue: asyncio.Queue[CliEvent | _End] = asyncio.Queue()
        self._pump: asyncio.Task[None] | None = None
        self._busy = 0  # our own callbacks running: the CLI waits on us, not hung
        self._pid: int | None = None
        self._pid_file = request.places.run / f"{uuid.uuid4().hex}.pid"
        self._stderr: deque[str] = deque(maxlen=_STDERR_LINES)
        self._finished = False  # the CLI reported its result
        self._ended = False
        self._sdk: ModuleType | None = None

    async def __aenter__(self) -> ClaudeCodeSession:
        sdk = self._sdk = load_sdk()
        cli = real_cli(sdk)
        wrapper = await asyncio.to_thread(write_wrapper, self.request.places)
        options = self._options(sdk, wrapper, cli)
        self._pump = asyncio.create_task(self._read(sdk, options), name="claude-code")
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    def __aiter__(self) -> ClaudeCodeSession:
        return self

    async def __anext__(self) -> CliEvent:
        if self._ended:
            raise StopAsyncIteration
        while True:
            try:
                async with asyncio.timeout(self.request.silence_s):
                    item = await self._queue.get()
            except TimeoutError:
                if self._busy:
                    continue  # a verifier run or a permission check: Claude Code waits on us
                self.kill()
                self._ended = True
                raise ClaudeCodeFailed(
                    f"Claude Code sent nothing for {self.request.silence_s:g} s and was "
                    "stopped (a hung CLI?)") from None
            if isinstance(item, _End):
                self._ended = True
                if item.error is not None and not self._finished:
                    raise ClaudeCodeFailed(self._describe(item.error)) from item.error
                raise StopAsyncIteration
            if isinstance(item, Finished):
                self._finished = True
            return item

    @property
    def pid(self) -> int | None:
        """The CLI's pid (its process group's id), once it has started."""
        return self._pid or self._read_pid()

    def kill(self) -> None:
        """Kill the CLI and everything it started (its whole process group), at once."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    async def close(self) -> None:
        """Stop the CLI unless it ended by itself, and wait for the SDK to let go of it."""
        pump, self._pump = self._pump, None
        if pump is None:
            return
        if not (self._finished and pump.done()):
            self.kill()  # before the SDK's shutdown, which would wait on a live CLI
        if not pump.done():
            pump.cancel()
        await asyncio.wait({pump})
        pid = self.pid
        if pid is not None and self.request.ledger is not None:
            self.request.ledger.remove(pid)
        self._pid_file.unlink(missing_ok=True)

    # -- the SDK ---------------------------------------------------------------------------

    async def _read(self, sdk: ModuleType, options: Any) -> None:
        """The pump: the SDK's messages, translated, into the queue; then its end."""
        try:
            async for message in sdk.query(prompt=self.request.prompt, options=options):
                if self._pid is None:
                    self._note_pid()
                for event in translate(sdk, message):
                    self._queue.put_nowait(event)
        except Exception as exc:  # reported to the reader, which says what it means
            self._queue.put_nowait(_End(exc))
            return
        self._queue.put_nowait(_End())

    def _options(self, sdk: ModuleType, wrapper: Path, cli: Path) -> Any:
        r = self.request
        ask = [*TOOLS, VERIFY_TOOL]
        env = {**r.env, KEEP: keep_list(r.env), REAL_CLI: str(cli), PID_FILE: str(self._pid_file)}
        return sdk.ClaudeAgentOptions(
            cwd=str(r.cwd),
            model=r.model,
            system_prompt={"type": "preset", "preset": "claude_code", "append": r.system_prompt},
            tools=list(TOOLS),
            allowed_tools=[],  # deliberately none: see the module docstring
            disallowed_tools=list(DISALLOWED_TOOLS),
            permission_mode="default",
            settings=json.dumps({"permissions": {"ask": ask}}),
            can_use_tool=self._can_use_tool,
            mcp_servers={SERVER: self._verify_server(sdk)},
            strict_mcp_config=True,
            setting_sources=[],
            include_partial_messages=True,
            max_turns=r.max_turns,
            max_budget_usd=r.max_budget_usd,
            resume=r.resume,
            env=env,
            cli_path=str(wrapper),
            stderr=self._stderr.append,
        )

    def _verify_server(self, sdk: ModuleType) -> Any:
        async def run_verifiers(_: dict[str, Any]) -> dict[str, Any]:
            self._busy += 1
            try:
                text = await self.request.run_verifiers()
            finally:
                self._busy -= 1
            return {"content": [{"type": "text", "text": text}]}

        tool = sdk.tool("run_verifiers", _VERIFY_DESCRIPTION, {})(run_verifiers)
        return sdk.create_sdk_mcp_server(SERVER, tools=[tool])

    async def _can_use_tool(self, name: str, tool_input: dict[str, Any], context: Any) -> Any:
        sdk = self._sdk
        assert sdk is not None
        tool_use_id = getattr(context, "tool_use_id", None)
        self._busy += 1
        try:
            refusal = await self.request.permit(name, tool_input, tool_use_id)
        finally:
            self._busy -= 1
        if refusal is not None:
            return sdk.PermissionResultDeny(message=refusal)
        return sdk.PermissionResultAllow()

    # -- the process -----------------------------------------------------------------------

    def _read_pid(self) -> int | None:
        try:
            return int(self._pid_file.read_text())
        except (OSError, ValueError):
            return None  # not started yet (or never: the launcher could not run)

    def _note_pid(self) -> None:
        self._pid = self._read_pid()
        if self._pid is not None and self.request.ledger is not None:
            self.request.ledger.add(self._pid, ["claude", "(Claude Code, Honk's agent)"])

    def _describe(self, error: BaseException) -> str:
        """A sentence about why the CLI stopped, with the end of what it printed."""
        sdk = self._sdk
        assert sdk is not None
        if isinstance(error, sdk.CLINotFoundError):
            text = f"Claude Code could not be started: {error}"
        elif isinstance(error, sdk.ProcessError):
            code = error.exit_code
            if isinstance(code, int) and code < 0:
                text = f"Claude Code was killed (signal {-code})"
            else:
                text = f"Claude Code exited unexpectedly (exit code {code})"
        elif isinstance(error, sdk.ClaudeSDKError):
            text = f"lost the connection to Claude Code: {error}"
        else:
            text = f"Claude Code failed: {type(error).__name__}: {error}"
        tail = [line for line in self._stderr if line.strip()][-5:]
        if tail:
            text += "; it said: " + " | ".join(tail)
        secrets = [*self.request.secrets, self.request.env.get("ANTHROPIC_API_KEY", "")]
        return redact(text, [s for s in secrets if s])
