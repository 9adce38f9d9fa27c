"""The agent stage: a streamed Messages API tool-use loop over the change's worktree.

Each model turn is read from the raw SSE events (``create(stream=True)``) so an edit can be
previewed while its tool input is still streaming, parsed incrementally. Tool calls are
executed only once the whole message has arrived: a stream cut mid-message is retried from
the same conversation and no edit is ever applied twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from desktop.adapters.anthropic.sse import json_events
from desktop.adapters.process.loop_priority import LoopShare, Offload
from desktop.core.events import (
    AgentText,
    AgentTextDelta,
    CostCapReached,
    EditApplied,
    EditPreview,
    EditRejected,
    Notice,
    ToolCall,
)
from desktop.core.pipeline import ChangeContext, StepResult
from desktop.core.pricing import PriceTable, TurnUsage
from desktop.core.stages import Stage
from desktop.steps.agent_prompt import EDITOR_TOOL_NAME, VERIFY_TOOL_NAME, tool_definitions
from desktop.steps.model_stream import (
    EditVocabulary,
    StreamedToolInput,
    merge_usage,
    turn_usage,
    usage_event,
)

__all__ = ["AgentSettings", "AgentStep", "ToolOutcomeLike", "Toolbox"]

_PREVIEW_FIELDS = ("old_str", "new_str", "file_text", "insert_text")
_WRITE_COMMANDS = ("create", "str_replace", "insert")
_RETRYABLE_STATUS = {408, 409, 429, 500, 502, 503, 504, 529}


def _editor_command(values: Mapping[str, Any]) -> str:
    command = str(values.get("command", ""))
    return command if command in _WRITE_COMMANDS else ""


# The text editor tool already speaks the previews' language: every field maps to itself.
_EDITOR_PREVIEWS = EditVocabulary(path_key="path", fields={f: f for f in _PREVIEW_FIELDS},
                                 command=_editor_command, line_key="insert_line")


class ToolOutcomeLike(Protocol):
    @property
    def content(self) -> str: ...
    @property
    def is_error(self) -> bool: ...
    @property
    def path(self) -> str | None: ...
    @property
    def changed(self) -> bool: ...


@dataclass
class Toolbox:
    """What the agent's tools do for one change (all confined to its worktree)."""

    edit: Callable[[Mapping[str, object]], ToolOutcomeLike]
    file_diff: Callable[[str], Awaitable[tuple[str, int, int]]]  # diff, added, removed
    run_verifiers: Callable[[], Awaitable[str]]
    offload: Offload = asyncio.to_thread  # where `edit` runs: never on the loop thread


@dataclass(frozen=True)
class AgentSettings:
    model: str
    max_turns: int
    max_cost_usd: float
    max_tokens: int
    system: str
    attempts: int = 4  # per turn, for cut streams and overload, on top of the SDK's own retries
    backoff_s: float = 1.0
    prices: PriceTable = field(default_factory=PriceTable)


class _StreamIncomplete(Exception):
    """The stream ended without message_stop."""


@dataclass
class _Block:
    kind: str  # "text" | "tool_use"
    id: str = ""
    name: str = ""
    text: list[str] = field(default_factory=list)
    tool_input: StreamedToolInput | None = None  # tool_use blocks: the input as it streams


@dataclass
class _Turn:
    blocks: list[_Block] = field(default_factory=list)
    stop_reason: str | None = None
    usage: TurnUsage = field(default_factory=TurnUsage)


class AgentStep:
    """Pipeline step: run the model until it ends its turn, or a limit or failure stops it."""

    stage = Stage.AGENT
    max_returns = 0

    def __init__(
        self,
        client: Any,
        settings: AgentSettings,
        toolbox_for: Callable[[ChangeContext], Toolbox],
        share: LoopShare | None = None,
    ) -> None:
        self.client = client  # anthropic.AsyncAnthropic; typed loosely to keep its import lazy
        self.settings = settings
        self.toolbox_for = toolbox_for
        # A stream whose bytes are already buffered is read without ever suspending; the
        # share (the same for every run on the loop) says when to let the loop run.
        self.share = share or LoopShare()

    async def run(self, ctx: ChangeContext) -> StepResult:
        s = self.settings
        tools = self.toolbox_for(ctx)
        ctx.conversation.append({"role": "user", "content": ctx.prompt})
        while True:
            if ctx.agent_turns >= s.max_turns:
                return StepResult(ok=False, reason=f"the agent used all {s.max_turns} turns")
            budget = self._affordable_tokens(ctx)
            if budget <= 0:
                ctx.emit(
                    CostCapReached(
                        change=ctx.change_id, total_cost_usd=ctx.cost_usd, cap_usd=s.max_cost_usd
                    )
                )
                return StepResult(ok=False, reason=f"cost cap of ${s.max_cost_usd:.2f} reached")
            ctx.agent_turns += 1
            try:
                turn = await self._turn_with_retries(ctx, max_tokens=budget)
            except _AgentFailure as exc:
                return StepResult(ok=False, reason=str(exc))
            self._account(ctx, turn)
            ctx.conversation.append({"role": "assistant", "content": _content(turn)})
            tool_blocks = [b for b in turn.blocks if b.kind == "tool_use"]
            if tool_blocks:
                results = [await self._execute(ctx, tools, b) for b in tool_blocks]
                ctx.conversation.append({"role": "user", "content": results})
                continue
            if turn.stop_reason == "max_tokens":
                ctx.conversation.append({"role": "user", "content": "Continue."})
                continue
            if turn.stop_reason == "refusal":
                return StepResult(ok=False, reason="the model declined the request")
            return StepResult(ok=True)

    def _affordable_tokens(self, ctx: ChangeContext) -> int:
        """Output tokens the next turn may use without passing the cost cap."""
        s = self.settings
        remaining = s.max_cost_usd - ctx.cost_usd
        if remaining <= 0:
            return 0
        price, _ = s.prices.price(s.model)
        return max(0, min(s.max_tokens, int(remaining / price.output * 1_000_000)))

    def _account(self, ctx: ChangeContext, turn: _Turn) -> None:
        cost = self.settings.prices.cost(self.settings.model, turn.usage)
        ctx.cost_usd += cost
        ctx.emit(usage_event(ctx, self.settings.model, turn.usage, cost))

    async def _turn_with_retries(self, ctx: ChangeContext, *, max_tokens: int) -> _Turn:
        s = self.settings
        last_error = ""
        for attempt in range(1, s.attempts + 1):
            try:
                return await self._stream_turn(ctx, max_tokens=max_tokens)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                retryable, message = _classify(exc)
                last_error = message
                if not retryable or attempt == s.attempts:
                    break
                delay = s.backoff_s * 2 ** (attempt - 1)
                ctx.emit(
                    Notice(
                        change=ctx.change_id,
                        level="warning",
                        message=f"{message}; retrying in {delay:g} s "
                        f"(attempt {attempt + 1} of {s.attempts})",
                    )
                )
                await asyncio.sleep(delay)
        raise _AgentFailure(f"the Messages API call failed: {last_error}")

    async def _stream_turn(self, ctx: ChangeContext, *, max_tokens: int) -> _Turn:
        s = self.settings
        # Building and sending a request is a millisecond or two of the loop's time: not in
        # a pass whose reading slice is already used up.
        await self.share.pause_if_spent()
        stream = await self.client.messages.create(
            model=s.model,
            max_tokens=max_tokens,
            system=[{"type": "text", "text": s.system, "cache_control": {"type": "ephemeral"}}],
            tools=tool_definitions(),
            messages=ctx.conversation,
            stream=True,
        )
        turn = _Turn()
        usage: dict[str, int] = {}
        finished = False
        async with stream:
            # Plain JSON per event, not the SDK's models: see agent_stream.
            async for event in json_events(stream, self.client):
                await self.share.pause_if_spent()
                try:
                    finished = self._on_event(ctx, turn, usage, event)
                except (KeyError, IndexError, TypeError, AttributeError) as exc:
                    raise ValueError(f"a {event.get('type')!r} event lacks {exc}: "
                                     f"{str(event)[:120]}") from exc
        if not finished:
            raise _StreamIncomplete("the stream ended before message_stop")
        turn.usage = turn_usage(usage)
        return turn

    def _on_event(self, ctx: ChangeContext, turn: _Turn, usage: dict[str, int],
                  event: dict[str, Any]) -> bool:
        """Fold one stream event into ``turn``; True once the message is complete."""
        kind = event["type"]
        if kind == "content_block_delta":  # nearly every event: first
            self._on_delta(ctx, turn.blocks[-1], event["delta"])
        elif kind == "message_start":
            merge_usage(usage, event["message"].get("usage"))
        elif kind == "content_block_start":
            block = event["content_block"]
            if block["type"] == "tool_use":
                words = _EDITOR_PREVIEWS if block["name"] == EDITOR_TOOL_NAME else None
                streamed = StreamedToolInput(ctx.change_id, block["id"], words)
                turn.blocks.append(_Block("tool_use", id=block["id"], name=block["name"],
                                          tool_input=streamed))
            else:
                turn.blocks.append(_Block("text"))
        elif kind == "content_block_stop":
            current = turn.blocks[-1]
            if current.kind == "text" and current.text:
                ctx.emit(AgentText(change=ctx.change_id, text="".join(current.text)))
        elif kind == "message_delta":
            turn.stop_reason = event["delta"].get("stop_reason")
            merge_usage(usage, event.get("usage"))
        elif kind == "message_stop":
            return True
        return False

    def _on_delta(self, ctx: ChangeContext, block: _Block, delta: dict[str, Any]) -> None:
        kind = delta["type"]
        if kind == "text_delta":
            text = delta["text"]
            block.text.append(text)
            ctx.emit(AgentTextDelta(change=ctx.change_id, text=text))
        elif kind == "input_json_delta" and block.tool_input is not None:
            previews: list[EditPreview] = block.tool_input.feed(delta["partial_json"])
            for preview in previews:
                ctx.emit(preview)

    async def _execute(self, ctx: ChangeContext, tools: Toolbox, block: _Block) -> dict[str, Any]:
        tool_input = _tool_input(block)
        if block.name == EDITOR_TOOL_NAME:
            # Reading and writing files (a 20,000-line one, say) stays off the loop thread;
            # the change's edits still run one at a time, in order.
            outcome = await tools.offload(tools.edit, tool_input)
            content, is_error = outcome.content, outcome.is_error
            command = str(tool_input.get("command", "?"))
            path = outcome.path or str(tool_input.get("path", ""))
            if outcome.changed and outcome.path:
                diff, added, removed = await tools.file_diff(outcome.path)
                ctx.emit(
                    EditApplied(
                        change=ctx.change_id,
                        tool_use_id=block.id,
                        command=command,
                        path=outcome.path,
                        diff=diff,
                        added=added,
                        removed=removed,
                    )
                )
            elif is_error and command in _WRITE_COMMANDS:
                ctx.emit(
                    EditRejected(
                        change=ctx.change_id,
                        tool_use_id=block.id,
                        command=command,
                        path=path,
                        error=content,
                    )
                )
            summary = f"{command} {path}".strip()
        elif block.name == VERIFY_TOOL_NAME:
            content, is_error = await tools.run_verifiers(), False
            summary = "run_verifiers"
        else:
            content, is_error = f"Error: unknown tool {block.name!r}", True
            summary = block.name
        ctx.emit(
            ToolCall(
                change=ctx.change_id,
                tool=block.name,
                summary=summary,
                is_error=is_error,
                result=content[:500],
            )
        )
        return {
            "type": "tool_result",
            "tool_use_id": block.id,
            "content": content,
            "is_error": is_error,
        }


class _AgentFailure(Exception):
    pass


def _tool_input(block: _Block) -> dict[str, Any]:
    return block.tool_input.complete() if block.tool_input is not None else {}


def _content(turn: _Turn) -> list[dict[str, Any]]:
    """The assistant message as the API wants it echoed back."""
    out: list[dict[str, Any]] = []
    for block in turn.blocks:
        if block.kind == "text":
            text = "".join(block.text)
            if text:
                out.append({"type": "text", "text": text})
        else:
            out.append(
                {
                    "type": "tool_use",
                    "id": block.id,
                    "name": block.name,
                    "input": _tool_input(block),
                }
            )
    return out


def _classify(exc: Exception) -> tuple[bool, str]:
    """Whether a failed turn is worth retrying, and a sentence about it."""
    status = getattr(exc, "status_code", None)
    if status == 200:  # an SSE `error` event mid-stream (e.g. overloaded): worth another try
        return True, f"the stream reported an error: {getattr(exc, 'message', exc)}"
    if isinstance(status, int):
        detail = getattr(exc, "message", str(exc))
        names = {
            429: "rate limited (429)",
            529: "overloaded (529)",
            401: "API key rejected (401)",
            403: "forbidden (403)",
            404: "not found (404): check the model id",
        }
        label = names.get(status, f"HTTP {status}")
        return status in _RETRYABLE_STATUS, f"{label}: {detail}"
    if isinstance(exc, _StreamIncomplete):
        return True, str(exc)
    if isinstance(exc, ValueError):  # json.JSONDecodeError: a mangled SSE data line
        return True, f"the stream sent malformed data ({type(exc).__name__}: {exc})"
    return True, f"connection problem ({type(exc).__name__}: {exc})"
