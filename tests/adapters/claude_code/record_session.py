"""Re-record data/edit_session.jsonl (test_messages.py replays it) from the bundled CLI:

    .venv/bin/python -m tests.adapters.claude_code.record_session

The CLI reads the Swedish-greeting session, in its own tool vocabulary, from the scripted
Messages API on loopback; its stream-json (control frames left out) is written as it came.
Re-record when the SDK or its CLI moves and test_messages.py disagrees with the real thing.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, ClassVar

from claude_agent_sdk import (
    ClaudeAgentOptions,
    PermissionResultAllow,
    create_sdk_mcp_server,
    query,
    tool,
)

# Internal, and only here: a transport that keeps what the real one reads.
from claude_agent_sdk._internal.transport.subprocess_cli import SubprocessCLITransport
from claude_agent_sdk.types import _configure_can_use_tool

from desktop.adapters.claude_code.session import TOOLS, VERIFY_TOOL
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_claude_code import claude_edit_turn, read_turn, verify_turn
from desktop.sim.messages_script import text_turn

OUT = Path(__file__).parent / "data" / "edit_session.jsonl"
_CONTROL = {"control_request", "control_response", "control_cancel_request"}


class _Tee(SubprocessCLITransport):
    kept: ClassVar[list[dict[str, Any]]] = []

    async def _read_messages_impl(self) -> AsyncIterator[dict[str, Any]]:
        async for data in super()._read_messages_impl():
            if data.get("type") not in _CONTROL:
                _Tee.kept.append(data)
            yield data


async def _record() -> None:
    tmp = Path(tempfile.mkdtemp())
    wt = tmp / "wt"
    (wt / "app").mkdir(parents=True)
    greeting = wt / "app" / "greeting.py"
    greeting.write_text('GREETING = "Hello"\n')
    script = [read_turn(str(greeting), "Let me look."),
              claude_edit_turn(str(greeting), '"Hello"', '"Hej"', chunk_chars=4),
              verify_turn(), text_turn("Done.")]

    async def verifiers(_: dict[str, Any]) -> dict[str, Any]:
        return {"content": [{"type": "text", "text": "All verifiers passed (greeting)."}]}

    async def allow(*_: Any) -> PermissionResultAllow:
        return PermissionResultAllow()

    server = create_sdk_mcp_server("honk", tools=[tool("run_verifiers", "checks", {})(verifiers)])
    with ScriptedMessagesAPI(script) as api:
        env = {"ANTHROPIC_API_KEY": "sk-ant-recording-0000000000",
               "ANTHROPIC_BASE_URL": api.base_url, "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
               "CLAUDE_CONFIG_DIR": str(tmp / "config"), "HOME": str(tmp / "home")}
        options = ClaudeAgentOptions(
            cwd=str(wt), setting_sources=[], env=env, tools=list(TOOLS),
            mcp_servers={"honk": server}, model="claude-sonnet-4-6",
            include_partial_messages=True, can_use_tool=allow, permission_mode="default",
            settings=json.dumps({"permissions": {"ask": [*TOOLS, VERIFY_TOOL]}}))
        transport = _Tee(prompt="", options=_configure_can_use_tool(options))
        async for _ in query(prompt="Make the greeting Swedish", options=options,
                             transport=transport):
            pass
    text = "".join(json.dumps(line) + "\n" for line in _Tee.kept)
    assert "sk-ant" not in text
    OUT.write_text(text)
    print(f"{len(_Tee.kept)} lines -> {OUT}")


if __name__ == "__main__":
    asyncio.run(_record())
