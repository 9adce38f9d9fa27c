"""The agent stage run by Claude Code: the same promises as ``agent.py``, another engine.

The Claude Code CLI runs the tool loop (through ``desktop.adapters.claude_code``); this step
turns what it says into Honk's events. Its raw stream events feed the same incremental
previews as the built-in engine (``model_stream``), so an ``Edit`` forms in place while its
``input_json_delta`` fragments arrive; an applied edit is journalled with its diff; text,
tool calls and refusals reach the transcript; every model turn is priced with Honk's price
table as it ends and the cost cap is held between turns. A permission check for a tool call
waits until the turn that made it is priced, so no tool of a turn that passed the cap runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.adapters.claude_code.environment import CliPlaces, cli_environment
from desktop.adapters.claude_code.messages import (
    CliEvent,
    Finished,
    RawEvent,
    Retrying,
    ToolResult,
    ToolUse,
)
from desktop.adapters.claude_code.sdk import ClaudeCodeMissing
from desktop.adapters.claude_code.session import (
    VERIFY_TOOL,
    ClaudeCodeFailed,
    ClaudeCodeRequest,
    ClaudeCodeSession,
)
from desktop.adapters.process.ledger import ProcessLedger
from desktop.adapters.process.loop_priority import Offload
from desktop.core.events import (
    AgentText,
    AgentTextDelta,
    CostCapReached,
    EditApplied,
    EditRejected,
    Notice,
    ToolCall,
)
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.pricing import PriceTable
from desktop.core.stages import Stage
from desktop.steps.claude_code_policy import WorktreeGate
from desktop.steps.model_stream import (
    EditVocabulary,
    StreamedToolInput,
    merge_usage,
    turn_usage,
    usage_event,
)

__all__ = ["ClaudeCodeAgentStep", "ClaudeCodeSettings", "ClaudeCodeTools", "edit_previews"]

# Claude Code's editing tools, in the previews' language (see model_stream).
_COMMANDS = {"Edit": "str_replace", "Write": "create"}
_FIELDS = {"Edit": {"old_string": "old_str", "new_string": "new_str"},
           "Write": {"content": "file_text"}}
_PRICED_WAIT_S = 5.0  # how long a permission check waits for its turn to be priced
_FINISHED_TURNS = {"end_turn", "stop_sequence"}  # the model's last word: nothing follows


@dataclass
class ClaudeCodeTools:
    """Honk's side of the change: diffs for the journal, the boxed verifiers."""

    file_diff: Callable[[str], Awaitable[tuple[str, int, int]]]  # diff, added, removed
    run_verifiers: Callable[[], Awaitable[str]]
    offload: Offload = asyncio.to_thread  # where a path is checked: never on the loop


@dataclass(frozen=True)
class ClaudeCodeSettings:
    model: str
    max_turns: int
    max_cost_usd: float
    max_tokens: int
    system: str  # Honk's rules and the repo's instructions (claude_code_prompt)
    api_key: str
    base_url: str
    places: CliPlaces  # Claude Code's state under HONK_HOME
    attempts: int = 4  # per API request, counting the first (the CLI retries)
    silence_s: float = 600.0  # the CLI is hung when it says nothing this long
    prices: PriceTable = field(default_factory=PriceTable)


class ClaudeCodeAgentStep:
    """Pipeline step: let Claude Code make the change, until it ends its turn or a limit or a
    failure stops it."""

    stage = Stage.AGENT
    max_returns = 0

    def __init__(self, settings: ClaudeCodeSettings,
                 tools_for: Callable[[ChangeContext], ClaudeCodeTools], *,
                 secrets: Callable[[], Iterable[str]] = list,
                 ledger: ProcessLedger | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.tools_for = tools_for
        self.secrets = secrets
        self.ledger = ledger
        self.environ = environ  # None: this process's, read when the change runs
        self.session_id: str | None = None  # a later round continues the same session
        # What the CLI says that session has cost so far: a resumed session's result
        # counts the earlier rounds' turns too.
        self.session_cost = 0.0

    async def run(self, ctx: ChangeContext) -> StepResult:
        s = self.settings
        turns_left = s.max_turns - ctx.agent_turns
        if turns_left <= 0:
            return StepResult(ok=False, reason=f"the agent used all {s.max_turns} turns")
        budget = s.max_cost_usd - ctx.cost_usd
        if budget <= 0:
            return _cap_reached(ctx, s.max_cost_usd)
        fold = _Fold(ctx, s, self.tools_for(ctx), WorktreeGate(Path(ctx.worktree)),
                     already_reported=self.session_cost)
        request = self._request(ctx, fold, turns_left, budget)
        try:
            async with ClaudeCodeSession(request) as session:
                async for event in session:
                    stop = await fold.on(event)
                    if stop is not None:
                        return stop  # leaving the session kills the CLI
        except (ClaudeCodeFailed, ClaudeCodeMissing) as exc:
            return StepResult(ok=False, reason=str(exc))
        result = fold.result()
        if fold.finished is not None:
            self.session_id = fold.finished.session_id or self.session_id
            self.session_cost = fold.finished.total_cost_usd or self.session_cost
        return result

    def _request(self, ctx: ChangeContext, fold: _Fold, turns: int,
                 budget: float) -> ClaudeCodeRequest:
        s = self.settings
        secrets = tuple(self.secrets())
        price, _ = s.prices.price(s.model)
        # As the built-in engine does per turn: no answer longer than the budget can pay for.
        affordable = int(budget / price.output * 1_000_000)
        env = cli_environment(
            os.environ if self.environ is None else self.environ, api_key=s.api_key,
            base_url=s.base_url, places=s.places, secrets=secrets,
            max_retries=max(0, s.attempts - 1),
            max_output_tokens=max(1, min(s.max_tokens, affordable)))
        return ClaudeCodeRequest(
            prompt=ctx.prompt, cwd=Path(ctx.worktree), model=s.model, system_prompt=s.system,
            max_turns=turns, max_budget_usd=self.session_cost + budget, env=env, places=s.places,
            permit=fold.permit, run_verifiers=fold.tools.run_verifiers, resume=self.session_id,
            silence_s=s.silence_s, secrets=secrets, ledger=self.ledger)


def edit_previews(relative: Callable[[str], str | None]) -> dict[str, EditVocabulary]:
    """How Claude Code's ``Edit`` and ``Write`` inputs become edit previews; ``relative``
    names their absolute paths inside the worktree (None: outside, not previewed)."""
    return {name: EditVocabulary(path_key="file_path", fields=_FIELDS[name],
                                 command=_always(command), path=relative)
            for name, command in _COMMANDS.items()}


def _always(command: str) -> Callable[[Mapping[str, Any]], str]:
    """A vocabulary's command for a tool that always means the same one."""
    return lambda _values: command


def _cap_reached(ctx: ChangeContext, cap: float) -> StepResult:
    ctx.emit(CostCapReached(change=ctx.change_id, total_cost_usd=round(ctx.cost_usd, 6),
                            cap_usd=cap))
    return StepResult(ok=False, reason=f"cost cap of ${cap:.2f} reached")


@dataclass
class _Block:
    kind: str  # "text" | "tool_use"
    text: list[str] = field(default_factory=list)
    tool_input: StreamedToolInput | None = None
    tool_use_id: str = ""


class _Fold:
    """One session's stream folded into Honk's events and the step's result."""

    def __init__(self, ctx: ChangeContext, settings: ClaudeCodeSettings,
                 tools: ClaudeCodeTools, gate: WorktreeGate, *,
                 already_reported: float = 0.0) -> None:
        self.ctx, self.settings, self.tools, self.gate = ctx, settings, tools, gate
        self.already_reported = already_reported  # the session's cost before this run
        self.blocks: dict[int, _Block] = {}
        self.usage: dict[str, int] = {}
        self.calls: dict[str, ToolUse] = {}
        self.priced: dict[str, asyncio.Event] = {}  # set once a tool call's turn is priced
        self.cost = 0.0  # what this session's turns cost, by Honk's prices
        self.cap_passed = False
        self.stop_reason: str | None = None
        self.finished: Finished | None = None
        self.vocabularies = edit_previews(gate.relative)

    async def on(self, event: CliEvent) -> StepResult | None:
        """Fold one event; a result when the run must stop here."""
        if isinstance(event, RawEvent):
            return await self._on_raw(event.event)
        if isinstance(event, ToolUse):
            self.calls[event.id] = event
        elif isinstance(event, ToolResult):
            await self._on_result(event)
        elif isinstance(event, Retrying):
            if event.status is None and event.error == "unknown":
                what = "the stream broke off"  # how the CLI reports a cut connection
            else:
                status = f" ({event.status})" if event.status else ""
                what = f"the API request failed{status}: {event.error}"
            self.ctx.emit(Notice(
                change=self.ctx.change_id, level="warning",
                message=f"Claude Code: {what}; retrying "
                        f"(attempt {event.attempt} of {event.max_retries})"))
        elif isinstance(event, Finished):
            self.finished = event
        return None

    # -- the stream -------------------------------------------------------------------------

    async def _on_raw(self, event: dict[str, Any]) -> StepResult | None:
        ctx = self.ctx
        kind = event.get("type")
        if kind == "content_block_delta":  # nearly every event: first
            block = self.blocks.get(int(event.get("index", -1)))
            delta = event.get("delta") or {}
            if block is None:
                return None
            if delta.get("type") == "text_delta":
                block.text.append(str(delta.get("text", "")))
                ctx.emit(AgentTextDelta(change=ctx.change_id, text=str(delta.get("text", ""))))
            elif delta.get("type") == "input_json_delta" and block.tool_input is not None:
                for preview in block.tool_input.feed(str(delta.get("partial_json", ""))):
                    ctx.emit(preview)
        elif kind == "message_start":
            self.blocks, self.usage = {}, {}
            merge_usage(self.usage, (event.get("message") or {}).get("usage"))
        elif kind == "content_block_start":
            start = event.get("content_block") or {}
            index = int(event.get("index", len(self.blocks)))
            if start.get("type") == "tool_use":
                tool_use_id = str(start.get("id", ""))
                words = self.vocabularies.get(str(start.get("name", "")))
                self.blocks[index] = _Block(
                    "tool_use", tool_use_id=tool_use_id,
                    tool_input=StreamedToolInput(ctx.change_id, tool_use_id, words))
            else:
                self.blocks[index] = _Block(str(start.get("type", "text")))
        elif kind == "message_delta":
            # The message is whole. (A cut stream's blocks end too, with a message_stop the
            # CLI makes up, but without this: their partial text is dropped, not journalled;
            # the CLI asks again.)
            for block in self.blocks.values():
                if block.kind == "text" and block.text:
                    ctx.emit(AgentText(change=ctx.change_id, text="".join(block.text)))
            self.stop_reason = (event.get("delta") or {}).get("stop_reason")
            merge_usage(self.usage, event.get("usage"))
            return self._price_turn()
        return None

    def _price_turn(self) -> StepResult | None:
        """Price the turn that just ended; stop the run when it passed the cap with more to do."""
        ctx, s = self.ctx, self.settings
        ctx.agent_turns += 1  # a turn the model finished (a cut one is asked again)
        cost = s.prices.cost(s.model, turn_usage(self.usage))
        self.cost += cost
        ctx.cost_usd += cost
        self._emit_usage(self.usage, cost)
        if ctx.cost_usd >= s.max_cost_usd and self.stop_reason not in _FINISHED_TURNS:
            self.cap_passed = True  # refuses this turn's tool calls (see permit)
        for block in self.blocks.values():
            if block.tool_use_id:
                self.priced.setdefault(block.tool_use_id, asyncio.Event()).set()
        return _cap_reached(ctx, s.max_cost_usd) if self.cap_passed else None

    def _emit_usage(self, usage: Mapping[str, int], cost: float) -> None:
        self.ctx.emit(usage_event(self.ctx, self.settings.model, turn_usage(usage), cost))

    # -- tools ------------------------------------------------------------------------------

    async def permit(self, tool: str, tool_input: dict[str, Any],
                     tool_use_id: str | None) -> str | None:
        """The gate Claude Code asks before each tool call."""
        if tool_use_id:
            priced = self.priced.setdefault(tool_use_id, asyncio.Event())
            # The CLI asks right after the turn's last event; its price may still be queued.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(priced.wait(), _PRICED_WAIT_S)
        if self.cap_passed:
            return (f"Honk refused {tool}: the change reached its cost cap of "
                    f"${self.settings.max_cost_usd:.2f}")
        # Paths are resolved on disk, one component at a time: off the loop.
        return await self.tools.offload(self.gate.refusal, tool, tool_input)

    async def _on_result(self, result: ToolResult) -> None:
        ctx = self.ctx
        call = self.calls.get(result.tool_use_id)
        name = call.name if call is not None else "?"
        tool_input = call.input if call is not None else {}
        raw_path = tool_input.get("file_path") or tool_input.get("path") or ""
        rel = self.gate.relative(str(raw_path)) if raw_path else None
        shown = rel or str(raw_path)
        if name == VERIFY_TOOL:
            summary = "run_verifiers"
        elif name in ("Glob", "Grep"):
            summary = f"{name} {tool_input.get('pattern', '')} {shown}".strip()
        else:
            summary = f"{name} {shown}".strip()
        if name in _COMMANDS:
            command = _COMMANDS[name]
            if result.is_error:
                ctx.emit(EditRejected(change=ctx.change_id, tool_use_id=result.tool_use_id,
                                      command=command, path=shown, error=result.text))
            elif rel is not None:
                diff, added, removed = await self.tools.file_diff(rel)
                ctx.emit(EditApplied(change=ctx.change_id, tool_use_id=result.tool_use_id,
                                     command=command, path=rel, diff=diff, added=added,
                                     removed=removed))
        if result.is_error and result.text.startswith("Honk refused"):
            ctx.emit(Notice(change=ctx.change_id, level="warning", message=result.text))
        # Honk's own tool under the name the built-in engine gives it, for the transcript.
        shown_tool = "run_verifiers" if name == VERIFY_TOOL else name
        ctx.emit(ToolCall(change=ctx.change_id, tool=shown_tool, summary=summary,
                          is_error=result.is_error, result=result.text[:500]))

    # -- the end ----------------------------------------------------------------------------

    def result(self) -> StepResult:
        """The stage's result once the session has ended by itself."""
        ctx, s, done = self.ctx, self.settings, self.finished
        if done is None:
            return StepResult(ok=False, reason="Claude Code ended without a result")
        reported = (done.total_cost_usd or 0.0) - self.already_reported
        if reported > self.cost + 1e-9:
            # Calls the stream did not show (the CLI's own side requests): charged too.
            extra = reported - self.cost
            ctx.cost_usd += extra
            self.cost += extra
            self._emit_usage({}, extra)
        if done.subtype == "error_max_turns":
            return StepResult(ok=False, reason=f"the agent used all {s.max_turns} turns")
        if done.subtype == "error_max_budget_usd" and self.stop_reason not in _FINISHED_TURNS:
            return _cap_reached(ctx, s.max_cost_usd)
        if done.is_error and done.subtype != "error_max_budget_usd":
            detail = done.result or "; ".join(done.errors) or done.subtype
            if done.api_error_status is not None or detail.startswith("API Error"):
                return StepResult(ok=False, reason=f"the Messages API call failed: {detail}")
            return StepResult(ok=False, reason=f"Claude Code stopped with an error: {detail}")
        if self.stop_reason == "refusal":
            return StepResult(ok=False, reason="the model declined the request")
        return StepResult(ok=True)
