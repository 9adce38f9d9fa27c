"""Claude Code's side of the scripted Messages API: scripts in its tool vocabulary, and the
calls the CLI makes besides its agent loop.

What the bundled CLI (2.1.x, with ``CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1``) sends, as
logged by this server: every model turn is ``POST /v1/messages?beta=true`` with
``"stream": true``, ``x-api-key``, ``anthropic-version: 2023-06-01``, ``anthropic-beta:
claude-code-20250219,...``, ``x-app: cli`` and ``user-agent: claude-cli/<version> (external,
sdk-py, ...)``; the body offers the tools it was given (``Read``, ``Edit``... and MCP tools as
``mcp__<server>__<tool>``), ``max_tokens`` 32000 unless capped, and the first user message
starts with ``<system-reminder>`` blocks before the prompt. Tool paths are absolute.
A failed stream is retried as the same request. Nothing else was seen; the CLI can also
count tokens (``/v1/messages/count_tokens``) and make small tool-less calls (a title, a
summary), so those get a plausible answer without taking a turn of the script.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from desktop.sim.messages_script import Turn, text_turn, tool_turn

__all__ = [
    "COUNT_TOKENS_PATH",
    "VERIFY_TOOL",
    "bash_turn",
    "claude_edit_turn",
    "count_tokens",
    "is_claude_code",
    "is_side_call",
    "read_turn",
    "side_answer",
    "verify_turn",
    "write_turn",
]

COUNT_TOKENS_PATH = "/v1/messages/count_tokens"
VERIFY_TOOL = "mcp__honk__run_verifiers"  # Honk's verifier tool, as the CLI names it


def read_turn(path: str, text: str | None = None, **knobs: Any) -> Turn:
    """A ``Read`` of ``path`` (an ``Edit`` needs its file read first)."""
    return tool_turn("Read", {"file_path": path}, text, **knobs)


def claude_edit_turn(path: str, old: str, new: str, *, replace_all: bool = False,
                     text: str | None = None, **knobs: Any) -> Turn:
    """An ``Edit`` replacing ``old`` with ``new`` in ``path``, fields in the CLI's order."""
    edit = {"file_path": path, "old_string": old, "new_string": new, "replace_all": replace_all}
    return tool_turn("Edit", edit, text, **knobs)


def write_turn(path: str, content: str, text: str | None = None, **knobs: Any) -> Turn:
    """A ``Write`` of ``content`` to ``path``."""
    return tool_turn("Write", {"file_path": path, "content": content}, text, **knobs)


def bash_turn(command: str, text: str | None = None, **knobs: Any) -> Turn:
    """A ``Bash`` call (which a boxed run must refuse)."""
    return tool_turn("Bash", {"command": command}, text, **knobs)


def verify_turn(text: str | None = None, **knobs: Any) -> Turn:
    """A call of Honk's ``run_verifiers`` MCP tool."""
    return tool_turn(VERIFY_TOOL, {}, text, **knobs)


def is_claude_code(headers: Mapping[str, str]) -> bool:
    """Whether a request comes from the Claude Code CLI (by its own headers; lower-case
    names)."""
    agent = headers.get("user-agent", "")
    app = headers.get("x-app", "")
    return agent.startswith("claude-cli/") or app == "cli"


def is_side_call(headers: Mapping[str, str], body: Mapping[str, Any]) -> bool:
    """A Claude Code request that is not a turn of its agent loop: not streamed and offering
    no tools. (Its agent loop streams; should it fall back to a plain request, that request
    still offers the session's tools, and a session without tools still streams.)"""
    return is_claude_code(headers) and body.get("stream") is not True and not body.get("tools")


def side_answer(body: Mapping[str, Any]) -> Turn:
    """A short plausible answer to a side call (a title, a summary, a quota probe)."""
    return text_turn("OK")


def count_tokens(body: Any) -> dict[str, int]:
    """``count_tokens``' answer: about four characters a token, as a rough real count."""
    return {"input_tokens": max(1, len(json.dumps(body)) // 4)}
