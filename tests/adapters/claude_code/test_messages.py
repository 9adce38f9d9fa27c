"""The fast layer: a recorded session of the bundled CLI (its stream-json: Read, a streamed
Edit, run_verifiers, the end) replayed through the SDK's own ``Transport``, translated into
Honk's vocabulary and folded into edit previews, without starting a CLI. The recording came
from the scripted API, in a temporary worktree whose path it keeps. It does not replace the
end-to-end tests (tests/e2e/test_claude_code.py), which run the real CLI.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import claude_agent_sdk as sdk

from desktop.adapters.claude_code.messages import (
    CliEvent,
    Finished,
    RawEvent,
    Started,
    ToolResult,
    ToolUse,
    translate,
)
from desktop.core.events import EditPreview
from desktop.steps.claude_code_agent import edit_previews
from desktop.steps.model_stream import StreamedToolInput

RECORDING = Path(__file__).parent / "data" / "edit_session.jsonl"


def recorded_lines() -> list[dict[str, Any]]:
    return [json.loads(line) for line in RECORDING.read_text().splitlines() if line]


# The worktree the session ran in, as its init message says.
WORKTREE = next(line["cwd"] for line in recorded_lines() if line.get("subtype") == "init")


class ReplayTransport(sdk.Transport):
    """Plays recorded CLI output; answers the SDK's control requests (its initialize) as
    the CLI would, and ignores what else the SDK writes."""

    def __init__(self, lines: list[dict[str, Any]]) -> None:
        self.lines = lines
        self.answers: list[dict[str, Any]] = []
        self.ready = False

    async def connect(self) -> None:
        self.ready = True

    async def write(self, data: str) -> None:
        message = json.loads(data)
        if message.get("type") == "control_request":
            self.answers.append({"type": "control_response", "response": {
                "subtype": "success", "request_id": message["request_id"], "response": {}}})

    async def read_messages(self) -> AsyncIterator[dict[str, Any]]:  # type: ignore[override]
        for line in self.lines:
            while self.answers:
                yield self.answers.pop(0)
            yield line

    async def close(self) -> None:
        self.ready = False

    def is_ready(self) -> bool:
        return self.ready

    async def end_input(self) -> None:
        pass


async def replayed() -> list[CliEvent]:
    lines = recorded_lines()
    events: list[CliEvent] = []
    async for message in sdk.query(prompt="Make the greeting Swedish",
                                   options=sdk.ClaudeAgentOptions(),
                                   transport=ReplayTransport(lines)):
        events.extend(translate(sdk, message))
    return events


def relative(raw: str) -> str | None:
    return raw[len(WORKTREE) + 1:] if raw.startswith(WORKTREE + "/") else None


async def test_a_recorded_session_translates_into_honks_vocabulary() -> None:
    events = await replayed()
    assert isinstance(events[0], Started)
    assert events[0].tools == ("Edit", "Glob", "Grep", "Read", "Write",
                               "mcp__honk__run_verifiers")
    calls = [e for e in events if isinstance(e, ToolUse)]
    assert [c.name for c in calls] == ["Read", "Edit", "mcp__honk__run_verifiers"]
    assert calls[1].input == {"file_path": f"{WORKTREE}/app/greeting.py",
                              "old_string": '"Hello"', "new_string": '"Hej"',
                              "replace_all": False}
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(r.tool_use_id, r.is_error) for r in results] == [(c.id, False) for c in calls]
    assert results[2].text == "All verifiers passed (greeting)."
    [done] = [e for e in events if isinstance(e, Finished)]
    assert (done.subtype, done.is_error, done.num_turns) == ("success", False, 4)
    assert done.total_cost_usd == 4 * 0.00126
    starts = [e for e in events if isinstance(e, RawEvent)
              and e.event["type"] == "message_start"]
    assert len(starts) == 4


async def test_the_edits_streamed_fragments_form_the_same_previews_as_the_builtin_engine(
        ) -> None:
    events = await replayed()
    words = edit_previews(relative)
    inputs: dict[int, StreamedToolInput] = {}
    previews: list[EditPreview] = []
    for event in events:
        if not isinstance(event, RawEvent):
            continue
        raw = event.event
        if raw["type"] == "content_block_start" and raw["content_block"]["type"] == "tool_use":
            block = raw["content_block"]
            inputs[raw["index"]] = StreamedToolInput("c1", block["id"],
                                                     words.get(block["name"]))
        elif raw["type"] == "content_block_delta" and raw["delta"]["type"] == "input_json_delta":
            previews += inputs[raw["index"]].feed(raw["delta"]["partial_json"])
    assert len(previews) > 2  # the edit came in pieces, each previewed as it came
    assert {(p.command, p.path) for p in previews} == {("str_replace", "app/greeting.py")}
    assert "".join(p.delta for p in previews if p.field == "old_str") == '"Hello"'
    assert "".join(p.delta for p in previews if p.field == "new_str") == '"Hej"'
    assert {p.field for p in previews} == {"old_str", "new_str"}


def test_write_previews_as_a_create_and_outside_paths_not_at_all() -> None:
    words = edit_previews(relative)
    write = StreamedToolInput("c1", "toolu_1", words["Write"])
    text = json.dumps({"file_path": f"{WORKTREE}/app/new.py", "content": "x = 1\n"})
    previews = [p for i in range(0, len(text), 5) for p in write.feed(text[i:i + 5])]
    assert {(p.command, p.path, p.field) for p in previews} == {
        ("create", "app/new.py", "file_text")}
    assert "".join(p.delta for p in previews) == "x = 1\n"
    assert write.complete() == {"file_path": f"{WORKTREE}/app/new.py", "content": "x = 1\n"}
    outside = StreamedToolInput("c1", "toolu_2", words["Edit"])
    assert outside.feed(json.dumps({"file_path": "/etc/passwd", "old_string": "a",
                                    "new_string": "b"})) == []
