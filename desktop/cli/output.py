"""How `honk` prints: JSON lines for tools, a readable colored view for people."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from typing import Any, TextIO

from desktop.core.events import (
    AgentText,
    AgentTextDelta,
    ChangeCreated,
    ChangeFinished,
    Committed,
    EditApplied,
    EditPreview,
    EditRejected,
    Event,
    Notice,
    StageFailed,
    StageFinished,
    StageStarted,
    ToolCall,
    Usage,
    VerifierResult,
    event_to_dict,
)
from desktop.core.state import ChangeView

__all__ = ["HumanPrinter", "JsonPrinter", "view_to_dict"]


def view_to_dict(view: ChangeView) -> dict[str, Any]:
    data = asdict(view)
    data["state"] = view.state.value
    data["stages"] = [{**asdict(s), "stage": s.stage.value} for s in view.stages]
    data["verifiers"] = [event_to_dict(v) for v in view.verifiers]
    data["type"] = "change"
    data["change"] = view.id
    return data


class JsonPrinter:
    """One JSON object per line; every line has ``type`` and ``change``."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def on_event(self, event: Event) -> None:
        self.out.write(json.dumps(event_to_dict(event), ensure_ascii=False) + "\n")
        self.out.flush()

    def result(self, view: ChangeView) -> None:
        self.out.write(
            json.dumps(
                {
                    "type": "result",
                    "change": view.id,
                    "state": view.state.value,
                    "branch": view.branch,
                    "commit": view.commit,
                    "worktree": view.worktree,
                    "cost_usd": view.cost_usd,
                    "reason": view.reason,
                }
            )
            + "\n"
        )
        self.out.flush()


class _Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text


class HumanPrinter:
    """Stages, the model's text, the diff as each edit lands, and a token/cost meter."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        tty = hasattr(out, "isatty") and out.isatty()
        self.c = _Style(
            (tty or bool(os.environ.get("FORCE_COLOR"))) and not os.environ.get("NO_COLOR")
        )
        self._previewing: dict[str, int] = {}
        self._text_open = False

    def _line(self, text: str) -> None:
        if self._text_open:
            self.out.write("\n")
            self._text_open = False
        self.out.write(text + "\n")
        self.out.flush()

    def on_event(self, event: Event) -> None:
        c = self.c
        if isinstance(event, ChangeCreated):
            self._line(c("1", f"change {event.change}") + f"  {event.branch}  ({event.worktree})")
        elif isinstance(event, StageStarted):
            suffix = f" (round {event.round})" if event.round > 1 else ""
            self._line(c("1;36", f"▶ {event.stage.value}{suffix}"))
        elif isinstance(event, StageFinished):
            self._line(c("32", f"✔ {event.stage.value}") + f"  {event.seconds:.1f} s")
        elif isinstance(event, StageFailed):
            self._line(c("31", f"✘ {event.stage.value}: {event.reason}"))
        elif isinstance(event, AgentTextDelta):
            self.out.write(event.text)
            self.out.flush()
            self._text_open = True
        elif isinstance(event, AgentText):
            pass  # already shown as it streamed
        elif isinstance(event, EditPreview):
            seen = self._previewing.get(event.tool_use_id, 0) + len(event.delta)
            self._previewing[event.tool_use_id] = seen
            if self.c.enabled:
                self.out.write(f"\r  ✎ {event.command} {event.path}: {seen:,} chars streaming…")
                self.out.flush()
        elif isinstance(event, EditApplied):
            if self.c.enabled and event.tool_use_id in self._previewing:
                self.out.write("\r\x1b[K")
            self._line(
                c("1", f"  ✎ {event.path}")
                + c("32", f" +{event.added}")
                + c("31", f" -{event.removed}")
            )
            for line in event.diff.splitlines():
                color = (
                    "32"
                    if line.startswith("+")
                    else "31"
                    if line.startswith("-")
                    else ("36" if line.startswith("@@") else "2")
                )
                self._line("    " + c(color, line))
        elif isinstance(event, EditRejected):
            self._line(c("33", f"  ✎ {event.command} {event.path} refused: {event.error}"))
        elif isinstance(event, ToolCall) and event.tool != "str_replace_based_edit_tool":
            self._line(c("2", f"  ⚙ {event.summary}"))
        elif isinstance(event, VerifierResult):
            mark = c("32", "✔") if event.passed else c("31", "✘")
            self._line(f"  {mark} verifier {event.name} ({event.seconds:.1f} s)")
            if not event.passed and event.output:
                for line in event.output.splitlines()[-15:]:
                    self._line("      " + c("2", line))
        elif isinstance(event, Usage):
            self._line(
                c(
                    "2",
                    f"  ≈ {event.input_tokens + event.cache_read_input_tokens + event.cache_creation_input_tokens:,} in / "
                    f"{event.output_tokens:,} out tokens · ${event.total_cost_usd:.4f} so far",
                )
            )
        elif isinstance(event, Committed):
            self._line(c("32", f"● committed {event.commit[:12]} on {event.branch}"))
        elif isinstance(event, Notice):
            color = {"warning": "33", "error": "31"}.get(event.level, "2")
            self._line(c(color, f"  ! {event.message}"))
        elif isinstance(event, ChangeFinished):
            pass  # the result line says it

    def result(self, view: ChangeView) -> None:
        mark = self.c("1;32", "done") if view.state.succeeded else self.c("1;31", view.state.value)
        self._line(
            f"{mark}: change {view.id} is {view.state.value}"
            + (f" ({view.reason})" if view.reason else "")
        )
        if view.commit:
            self._line(f"  branch {view.branch} at {view.commit[:12]}; worktree {view.worktree}")

    def history(self, views: list[ChangeView]) -> None:
        if not views:
            self._line('no changes yet: start one with `honk run "..." --repo PATH`')
            return
        now = time.time()
        for v in views:
            age = _age(now - v.created_at)
            request = v.request.splitlines()[0] if v.request else ""
            self._line(
                f"{v.id}  {v.state.value:<18} {age:>5}  ${v.cost_usd:7.4f}  "
                f"{os.path.basename(v.repo)}  {request[:60]}"
            )

    def show(self, v: ChangeView) -> None:
        self._line(self.c("1", f"change {v.id}") + f": {v.state.value}")
        for label, value in (
            ("request", v.request),
            ("repo", v.repo),
            ("branch", v.branch),
            ("worktree", v.worktree),
            ("base", f"{v.base} @ {v.base_commit[:12]}"),
            ("commit", v.commit or "-"),
            ("model", v.model),
            ("cost", f"${v.cost_usd:.4f} ({v.input_tokens:,} in / {v.output_tokens:,} out)"),
        ):
            self._line(f"  {label:<9} {value}")
        for s in v.stages:
            self._line(f"  {s.stage.value:<9} {s.status:<8} {s.seconds:6.1f} s  {s.reason}")
        if v.reason:
            self._line(f"  reason    {v.reason}")


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
