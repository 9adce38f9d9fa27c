"""The scripted Messages API, driven by the real `anthropic` SDK over loopback HTTP.

Facts these tests pin down (they matter to the agent adapter):
- A connection reset mid-stream reaches the caller as an error while iterating the
  stream: `anthropic.APIConnectionError` from 2.17 on, the SDK's transport error
  (`httpx2.ReadError`) before. Which one is the SDK's business; these tests accept either
  (`is_stream_cut_error`) and check what the simulator did on the wire with a raw socket.
  Retries only cover the request, not the stream body.
- A broken SSE data line raises `json.JSONDecodeError` (a ValueError) from iteration.
- An SSE `error` event mid-stream raises plain `anthropic.APIStatusError` with
  status_code 200 (the HTTP status), not the `OverloadedError` a 529 gives.
- A stream without `message_stop` ends silently: `get_final_message()` returns what
  was accumulated, so only the caller can notice that the stream was incomplete.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from desktop.sim.messages_api import Route, ScriptedMessagesAPI, route_by
from desktop.sim.messages_script import (
    EDIT_TOOL_NAME,
    HttpError,
    ScriptError,
    TextBlock,
    ToolUseBlock,
    Turn,
    Usage,
    create_turn,
    edit_turn,
    overloaded,
    rate_limited,
    server_error,
    text_turn,
    tool_turn,
)
from desktop.sim.messages_wire import sse_events

if TYPE_CHECKING:
    import anthropic

# Current and not deprecated in anthropic 2.14 (claude-sonnet-4-5 and claude-opus-4-5 warn).
MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-test-secret-0123456789"
HI = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def sdk() -> ModuleType:
    """`anthropic`, imported once per module: the import takes seconds."""
    import anthropic

    return anthropic


@pytest.fixture
def api() -> Iterator[ScriptedMessagesAPI]:
    """A server with an empty script, for tests that do not need turns."""
    with ScriptedMessagesAPI([]) as server:
        yield server


def sync_client(sdk: ModuleType, api: ScriptedMessagesAPI, **kw: Any) -> anthropic.Anthropic:
    client: anthropic.Anthropic = sdk.Anthropic(api_key=KEY, base_url=api.base_url, **kw)
    return client


def async_client(sdk: ModuleType, api: ScriptedMessagesAPI, **kw: Any) -> anthropic.AsyncAnthropic:
    client: anthropic.AsyncAnthropic = sdk.AsyncAnthropic(api_key=KEY, base_url=api.base_url, **kw)
    return client


BIG_OLD = "".join(f"    line {i}: old text\n" for i in range(40))
BIG_NEW = "".join(f"    line {i}: new text ünïcode ✓\n" for i in range(60))


# --- streaming ------------------------------------------------------------------------


def test_stream_helper_accumulates_text_and_tool_use(sdk: ModuleType) -> None:
    turn = edit_turn("app/src/Main.kt", BIG_OLD, BIG_NEW, text="I will move the button.")
    turn = Turn(turn.blocks, usage=Usage(1500, 321, 1200, 300), chunk_chars=7)
    with (
        ScriptedMessagesAPI([turn]) as api,
        sync_client(sdk, api) as client,
        client.messages.stream(model=MODEL, max_tokens=4096, messages=HI) as stream,
    ):
        message = stream.get_final_message()
    assert message.model == MODEL
    assert message.role == "assistant"
    assert message.stop_reason == "tool_use"
    text, tool = message.content
    assert text.type == "text" and text.text == "I will move the button."
    assert tool.type == "tool_use"
    assert tool.name == EDIT_TOOL_NAME
    assert tool.id.startswith("toolu_")
    assert tool.input == {
        "command": "str_replace",
        "path": "app/src/Main.kt",
        "old_str": BIG_OLD,
        "new_str": BIG_NEW,
    }
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (1500, 321)
    assert (usage.cache_creation_input_tokens, usage.cache_read_input_tokens) == (1200, 300)


async def test_raw_stream_events_match_script(sdk: ModuleType) -> None:
    tool_input = {"command": "create", "path": "notes.md", "file_text": "é" * 100}
    turn = Turn([TextBlock("Creating the notes."), ToolUseBlock("tool_x", tool_input)])
    with ScriptedMessagesAPI([turn]) as api:
        async with async_client(sdk, api) as client:
            stream = await client.messages.create(
                model=MODEL, max_tokens=100, messages=HI, stream=True
            )
            events = [event async for event in stream]
    types = [e.type for e in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    start = events[0].message
    assert start.id.startswith("msg_") and start.model == MODEL
    assert start.content == [] and start.stop_reason is None
    assert start.usage.input_tokens == 120
    blocks = [e.content_block for e in events if e.type == "content_block_start"]
    assert [b.type for b in blocks] == ["text", "tool_use"]
    assert blocks[1].name == "tool_x" and blocks[1].input == {}
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    text = "".join(d.text for d in deltas if d.type == "text_delta")
    pieces = [d.partial_json for d in deltas if d.type == "input_json_delta"]
    assert text == "Creating the notes."
    assert all(0 < len(p) <= 16 for p in pieces) and len(pieces) > 5
    assert json.loads("".join(pieces)) == tool_input
    assert [e.index for e in events if e.type == "content_block_stop"] == [0, 1]
    final = events[-2]
    assert final.delta.stop_reason == "tool_use" and final.delta.stop_sequence is None
    assert final.usage.output_tokens == 60


def test_non_streaming_returns_full_message(sdk: ModuleType) -> None:
    script = [create_turn("README.md", "# Hello\n", text="Here it is.")]
    with ScriptedMessagesAPI(script) as api, sync_client(sdk, api) as client:
        message = client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert message.stop_reason == "tool_use"
    assert message.content[0].text == "Here it is."
    assert message.content[1].input == {
        "command": "create",
        "path": "README.md",
        "file_text": "# Hello\n",
    }
    assert message.usage.output_tokens == 60
    assert message._request_id is not None and message._request_id.startswith("req_")


def test_text_turn_ends_turn_and_explicit_stop_reason_wins(sdk: ModuleType) -> None:
    script = [text_turn("done"), text_turn("cut short", stop_reason="max_tokens")]
    with ScriptedMessagesAPI(script) as api, sync_client(sdk, api) as client:
        first = client.messages.create(model=MODEL, max_tokens=100, messages=HI)
        second = client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert (first.stop_reason, second.stop_reason) == ("end_turn", "max_tokens")


def test_slow_trickle_spreads_events_over_time(sdk: ModuleType) -> None:
    turn = text_turn("abcdefgh", chunk_chars=2, delay_s=0.03)  # 10 events, 9 gaps
    with ScriptedMessagesAPI([turn]) as api, sync_client(sdk, api) as client:
        began = time.monotonic()
        with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
            text = stream.get_final_text()
        elapsed = time.monotonic() - began
    assert text == "abcdefgh"
    assert elapsed >= 0.25


# --- broken streams ----------------------------------------------------------------------


def is_stream_cut_error(sdk: ModuleType, exc: BaseException) -> bool:
    """One of the SDK's documented errors for a broken stream.

    anthropic 2.17 wraps a reset in `APIConnectionError`; 2.14 let its HTTP library's
    transport error through. We name neither transport class (httpx2 is the SDK's private
    dependency, not ours), only where it comes from.
    """
    if isinstance(exc, sdk.APIConnectionError):
        return True
    return any(cls.__module__.split(".")[0] in {"httpx", "httpx2", "httpcore", "httpcore2"}
               and cls.__name__ == "TransportError" for cls in type(exc).__mro__)


def raw_stream_request(api: ScriptedMessagesAPI) -> tuple[bytes, bool]:
    """POST a streamed request over a plain socket; the bytes received and whether the
    connection was reset (RST) rather than closed."""
    host, port = api.base_url.removeprefix("http://").split(":")
    body = json.dumps({"model": MODEL, "max_tokens": 100, "messages": HI, "stream": True})
    request = (f"POST /v1/messages HTTP/1.1\r\nhost: {host}\r\nx-api-key: {KEY}\r\n"
               f"anthropic-version: 2023-06-01\r\ncontent-type: application/json\r\n"
               f"content-length: {len(body)}\r\n\r\n{body}").encode()
    received = b""
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            return received, True
    return received, False


def test_cut_after_events_resets_connection_mid_stream_on_the_wire() -> None:
    turn = text_turn("hello world, this is long", chunk_chars=4, cut_after_events=5)
    with ScriptedMessagesAPI([turn]) as api:
        received, reset = raw_stream_request(api)
    head, _, chunked = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") or head.startswith(b"HTTP/1.0 200")
    assert b"transfer-encoding: chunked" in head.lower()
    events = re.findall(rb"^event: (\w+)", chunked, flags=re.MULTILINE)
    assert events == [b"message_start", b"ping", b"content_block_start",
                      b"content_block_delta", b"content_block_delta"]
    assert reset, "the cut must be a reset (RST), not an orderly close"
    assert not chunked.endswith(b"0\r\n\r\n"), "no final chunk: the body is broken"


async def test_cut_after_events_reaches_the_sdk_as_a_stream_error(sdk: ModuleType) -> None:
    turn = text_turn("hello world, this is long", chunk_chars=4, cut_after_events=5)
    with ScriptedMessagesAPI([turn]) as api:
        async with async_client(sdk, api) as client:
            stream = await client.messages.create(
                model=MODEL, max_tokens=100, messages=HI, stream=True
            )
            seen: list[str] = []
            with pytest.raises(Exception) as caught:  # checked just below
                async for event in stream:
                    seen.append(event.type)
    assert is_stream_cut_error(sdk, caught.value), repr(caught.value)
    # 5 SSE events were sent; the SDK drops the ping.
    assert seen == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
    ]


def test_cut_stream_through_stream_helper_raises_too(sdk: ModuleType) -> None:
    turn = edit_turn("a.kt", BIG_OLD, BIG_NEW, cut_after_events=20)
    with (
        ScriptedMessagesAPI([turn]) as api,
        sync_client(sdk, api) as client,
        client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream,
        pytest.raises(Exception) as caught,  # checked just below
    ):
        stream.get_final_message()
    assert is_stream_cut_error(sdk, caught.value), repr(caught.value)


def test_omit_message_stop_ends_stream_silently(sdk: ModuleType) -> None:
    script = [text_turn("partial", omit_message_stop=True)] * 2
    with ScriptedMessagesAPI(script) as api, sync_client(sdk, api) as client:
        raw = client.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True)
        types = [event.type for event in raw]
        with client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream:
            message = stream.get_final_message()
    assert types[-1] == "message_delta" and "message_stop" not in types
    assert message.content[0].text == "partial"  # no error: the caller must notice


def test_malformed_data_line_raises_json_error(sdk: ModuleType) -> None:
    seen: list[str] = []
    with (
        ScriptedMessagesAPI([text_turn("hello", malformed=True)]) as api,
        sync_client(sdk, api) as client,
    ):
        raw = client.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True)
        with pytest.raises(json.JSONDecodeError):
            for event in raw:
                seen.append(event.type)
    assert seen == ["message_start", "content_block_start"]


def test_error_event_mid_stream_is_api_status_error(sdk: ModuleType) -> None:
    """An SSE `error` event raises plain APIStatusError (status 200), not OverloadedError."""
    turn = text_turn("abcdefgh", chunk_chars=2, error_after_events=4)
    seen: list[str] = []
    with (
        ScriptedMessagesAPI([turn]) as api,
        sync_client(sdk, api) as client,
        pytest.raises(sdk.APIStatusError) as caught,
    ):
        for event in client.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True):
            seen.append(event.type)
    assert not isinstance(caught.value, sdk.OverloadedError)
    assert caught.value.status_code == 200
    assert caught.value.body["error"]["type"] == "overloaded_error"
    assert seen == ["message_start", "content_block_start", "content_block_delta"]


def test_stop_during_slow_stream_is_prompt(sdk: ModuleType) -> None:
    api = ScriptedMessagesAPI([text_turn("slow " * 20, chunk_chars=1, delay_s=5.0)])
    api.start()
    with sync_client(sdk, api) as client:
        raw = client.messages.create(model=MODEL, max_tokens=100, messages=HI, stream=True)
        first = next(iter(raw))
        assert first.type == "message_start"
        began = time.monotonic()
        api.stop()
        assert time.monotonic() - began < 2.0
        with pytest.raises(Exception) as caught:  # checked just below
            list(raw)
    assert is_stream_cut_error(sdk, caught.value), repr(caught.value)


# --- HTTP errors and retries -----------------------------------------------------------


def test_sdk_retries_429_and_529_then_succeeds(sdk: ModuleType) -> None:
    script = [rate_limited(0.05), overloaded(retry_after=0.05), text_turn("finally")]
    with (
        ScriptedMessagesAPI(script) as api,
        sync_client(sdk, api, max_retries=2) as client,
        client.messages.stream(model=MODEL, max_tokens=100, messages=HI) as stream,
    ):
        assert stream.get_final_text() == "finally"
    sent = api.message_requests()
    assert [r.status for r in sent] == [429, 529, 200]
    assert [r.headers["x-stainless-retry-count"] for r in sent] == ["0", "1", "2"]
    assert api.remaining() == {"default": 0}


def test_429_without_retries_is_rate_limit_error(sdk: ModuleType) -> None:
    with (
        ScriptedMessagesAPI([rate_limited(0.05)]) as api,
        sync_client(sdk, api, max_retries=0) as client,
        pytest.raises(sdk.RateLimitError) as caught,
    ):
        client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    error = caught.value
    assert error.status_code == 429
    assert error.response.headers["retry-after"] == "0.05"
    assert error.body["error"]["type"] == "rate_limit_error"
    assert len(api.requests) == 1


def test_529_and_500_map_to_sdk_errors(sdk: ModuleType) -> None:
    script = [overloaded(), server_error("boom")]
    with ScriptedMessagesAPI(script) as api, sync_client(sdk, api, max_retries=0) as client:
        with pytest.raises(sdk.OverloadedError):
            client.messages.create(model=MODEL, max_tokens=100, messages=HI)
        with pytest.raises(sdk.InternalServerError, match="boom"):
            client.messages.create(model=MODEL, max_tokens=100, messages=HI)


def test_exhausted_script_names_the_script(sdk: ModuleType) -> None:
    """Sent with x-should-retry: false, so even the SDK's default retries give up at once."""
    with (
        ScriptedMessagesAPI([text_turn("only one")]) as api,
        sync_client(sdk, api) as client,
    ):
        client.messages.create(model=MODEL, max_tokens=100, messages=HI)
        with pytest.raises(sdk.InternalServerError) as caught:
            client.messages.create(model=MODEL, max_tokens=100, messages=HI)
    assert "scripted Messages API: script 'default' has no more turns" in str(caught.value)
    assert [r.status for r in api.requests] == [200, 500]


# --- routing -----------------------------------------------------------------------------

JUDGE_TOOL = {
    "name": "submit_verdict",
    "description": "Give the verdict.",
    "input_schema": {"type": "object", "properties": {"ok": {"type": "boolean"}}},
}


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [{"type": "text", "text": text}]}]


async def test_router_serves_two_conversations_and_a_judge(sdk: ModuleType) -> None:
    router = route_by(
        [
            Route("judge", tool="submit_verdict"),
            Route("play", first_user_contains="play button"),
            Route("title", first_user_contains="title bar"),
        ]
    )
    scripts = {
        "play": [text_turn("play 1", delay_s=0.01), text_turn("play 2")],
        "title": [text_turn("title 1", delay_s=0.01), text_turn("title 2")],
        "judge": [tool_turn("submit_verdict", {"ok": True})] * 2,
    }
    with ScriptedMessagesAPI(scripts, router) as api:
        async with async_client(sdk, api) as client:

            async def talk(request: str) -> list[str]:
                out: list[str] = []
                for _ in range(2):
                    async with client.messages.stream(
                        model=MODEL, max_tokens=100, messages=user(request)
                    ) as stream:
                        out.append(await stream.get_final_text())
                judged = await client.messages.create(
                    model=MODEL, max_tokens=100, messages=user(request), tools=[JUDGE_TOOL]
                )
                out.append(json.dumps(judged.content[0].input))
                return out

            play, title = await asyncio.gather(
                talk("fix the play button overlap"), talk("the title bar is clipped")
            )
    assert play == ["play 1", "play 2", '{"ok": true}']
    assert title == ["title 1", "title 2", '{"ok": true}']
    assert api.remaining() == {"play": 0, "title": 0, "judge": 0}
    judged = api.message_requests("judge")
    assert len(judged) == 2 and all(r.body["tools"][0]["name"] == "submit_verdict" for r in judged)


def test_router_without_match_or_with_unknown_key_answers_500(sdk: ModuleType) -> None:
    strict = ScriptedMessagesAPI({"a": []}, route_by([Route("a", first_user_contains="zzz")]))
    wrong = ScriptedMessagesAPI({"a": []}, lambda body: "nope")
    for server, expected in [
        (strict, "no route matched a request offering tools [] whose first user message"),
        (wrong, "router gave key 'nope'; scripts: a"),
    ]:
        with (
            server as api,
            sync_client(sdk, api, max_retries=0) as client,
            pytest.raises(sdk.InternalServerError, match=re.escape(expected)),
        ):
            client.messages.create(model=MODEL, max_tokens=100, messages=user("hello"))


def test_first_user_text_skips_tool_results_and_assistant_turns() -> None:
    from desktop.sim.messages_routing import first_user_text

    body = {
        "messages": [
            {"role": "assistant", "content": "ignored"},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": "x"},
                    {"type": "text", "text": "first"},
                    {"type": "text", "text": "second"},
                ],
            },
            {"role": "user", "content": "later"},
        ]
    }
    assert first_user_text(body) == "first\nsecond"
    assert first_user_text({"messages": "junk"}) == ""


# --- auth, headers and recording ---------------------------------------------------------


def test_bearer_and_x_api_key_both_accepted_and_key_never_recorded(sdk: ModuleType) -> None:
    script = [text_turn("via sdk"), text_turn("via x-api-key")]
    with ScriptedMessagesAPI(script, expected_api_key=KEY) as api:
        with sync_client(sdk, api) as client:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        reply = httpx.post(
            f"{api.base_url}/v1/messages",
            headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"},
            json={"model": MODEL, "max_tokens": 10, "messages": HI},
        )
    assert reply.status_code == 200 and reply.json()["content"][0]["text"] == "via x-api-key"
    assert [r.auth_scheme for r in api.requests] == ["bearer", "x-api-key"]
    assert all(r.auth_present for r in api.requests)
    assert KEY not in repr(api.requests)
    assert not any({"authorization", "x-api-key"} & set(r.headers) for r in api.requests)


def test_wrong_key_is_authentication_error(sdk: ModuleType) -> None:
    with ScriptedMessagesAPI([text_turn("never")], expected_api_key="other") as api:
        with sync_client(sdk, api) as client, pytest.raises(sdk.AuthenticationError) as caught:
            client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        assert api.remaining() == {"default": 1}  # nothing consumed
    assert caught.value.status_code == 401
    assert caught.value.body["error"]["type"] == "authentication_error"
    assert len(api.requests) == 1  # 401 is not retried


def test_missing_auth_or_version_or_bad_body_gets_clear_errors(api: ScriptedMessagesAPI) -> None:
    url = f"{api.base_url}/v1/messages"
    good = {"model": MODEL, "max_tokens": 10, "messages": HI}
    version = {"anthropic-version": "2023-06-01"}
    cases: list[tuple[dict[str, str], Any, int, str, str]] = [
        (version, good, 401, "authentication_error", "x-api-key or authorization"),
        ({"x-api-key": "k"}, good, 400, "invalid_request_error", "anthropic-version"),
        ({"x-api-key": "k", **version}, {**good, "max_tokens": 0}, 400, "", "max_tokens"),
        ({"x-api-key": "k", **version}, {"max_tokens": 5, "messages": HI}, 400, "", "model"),
        ({"x-api-key": "k", **version}, {**good, "messages": []}, 400, "", "messages"),
        ({"authorization": "Basic abc", **version}, good, 401, "authentication_error", ""),
    ]
    with httpx.Client() as http:
        for headers, body, status, error_type, words in cases:
            reply = http.post(url, headers=headers, json=body)
            error = reply.json()
            assert reply.status_code == status, (headers, body)
            assert error["type"] == "error" and words in error["error"]["message"]
            assert error["error"]["type"] == (error_type or "invalid_request_error")
        broken = http.post(url, headers={"x-api-key": "k", **version}, content=b"{nope")
        assert broken.status_code == 400 and "not valid JSON" in broken.json()["error"]["message"]
        missing = http.get(f"{api.base_url}/v1/nothing")
        assert missing.status_code == 404 and "/v1/nothing" in missing.text
    assert [r.status for r in api.requests] == [401, 400, 400, 400, 400, 401, 400, 404]


def test_records_system_cache_control_and_tools(sdk: ModuleType) -> None:
    system = [{"type": "text", "text": "You edit apps.", "cache_control": {"type": "ephemeral"}}]
    tools = [{"type": "text_editor_20250728", "name": EDIT_TOOL_NAME}]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "fix it"},
        {"role": "assistant", "content": [
            {"type": "tool_use", "id": "toolu_1", "name": EDIT_TOOL_NAME, "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "Edited a.kt"},
        ]},
    ]  # fmt: skip
    with ScriptedMessagesAPI([text_turn("ok")]) as api, sync_client(sdk, api) as client:
        client.messages.create(
            model=MODEL, max_tokens=10, system=system, tools=tools, messages=messages
        )
    (request,) = api.requests
    assert request.body["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.body["tools"] == tools
    assert request.body["messages"][2]["content"][0]["content"] == "Edited a.kt"
    assert request.headers["anthropic-version"]
    assert request.key == "default"


def test_base_url_from_environment_and_models_list(
    sdk: ModuleType, api: ScriptedMessagesAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    with sdk.Anthropic() as client:
        models = [m.id for m in client.models.list()]
        one = client.models.retrieve("claude-haiku-4-5")
    assert models == ["claude-opus-4-8", "claude-sonnet-4-6", "claude-haiku-4-5"]
    assert one.id == "claude-haiku-4-5" and one.type == "model"


def test_stop_with_open_keep_alive_connection_is_prompt(sdk: ModuleType) -> None:
    api = ScriptedMessagesAPI([text_turn("a")])
    api.start()
    with sync_client(sdk, api) as client:
        client.messages.create(model=MODEL, max_tokens=10, messages=HI)
        began = time.monotonic()
        api.stop()  # the client still holds its keep-alive connection
        assert time.monotonic() - began < 2.0
        api.stop()  # idempotent
    with pytest.raises(RuntimeError, match="not started"):
        _ = api.base_url


# --- script validation and wire form -------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: Turn([], chunk_chars=0), "Turn.chunk_chars: expected an int >= 1, got 0"),
        (lambda: Turn([], stop_reason="tool_call"), "got 'tool_call'"),
        (lambda: Turn([], delay_s=-1), "Turn.delay_s"),
        (lambda: Turn([], cut_after_events=-1), "Turn.cut_after_events"),
        (lambda: Turn([], error_after_events=-2), "Turn.error_after_events"),
        (lambda: Turn([], error_type=""), "Turn.error_type"),
        (lambda: Turn(["text"]), "Turn.blocks[0]: expected TextBlock or ToolUseBlock, got str"),
        (lambda: ToolUseBlock("t", {"x": object()}), "tool 't' is not JSON-serializable"),
        (lambda: ToolUseBlock("t", {}, id="call_1"), "starting 'toolu_', got 'call_1'"),
        (lambda: ToolUseBlock("", {}), "non-empty tool name"),
        (lambda: Usage(input_tokens=-5), "Usage.input_tokens: expected an int >= 0, got -5"),
        (lambda: HttpError(200, "x", "y"), "HttpError.status: expected 400..599, got 200"),
        (lambda: HttpError(429, "", "y"), "HttpError.error_type"),
        (lambda: HttpError(429, "r", "y", retry_after=-1), "HttpError.retry_after"),
    ],
)
def test_bad_script_items_are_named(build: Any, words: str) -> None:
    with pytest.raises(ScriptError) as caught:
        build()
    assert words in str(caught.value)


def test_bad_server_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="mapping of scripts needs a router"):
        ScriptedMessagesAPI({"a": []})
    with pytest.raises(TypeError, match="with a router, pass a mapping"):
        ScriptedMessagesAPI([], lambda body: "a")
    with pytest.raises(TypeError, match="script 'default' item 1: expected Turn or HttpError"):
        ScriptedMessagesAPI([text_turn("a"), "b"])  # type: ignore[list-item]


def test_sse_events_cut_tool_json_into_configured_pieces() -> None:
    tool_input = {"command": "create", "path": "x", "file_text": "y" * 95}
    turn = Turn([ToolUseBlock("t", tool_input, id="toolu_fixed")], chunk_chars=10)
    events = sse_events(turn, MODEL, "msg_1")
    pieces = [
        json.loads(data)["delta"]["partial_json"]
        for name, data in events
        if name == "content_block_delta"
    ]
    serialized = json.dumps(tool_input)
    assert "".join(pieces) == serialized
    assert [len(p) for p in pieces] == [10] * (len(serialized) // 10) + [len(serialized) % 10]
    start = json.loads(events[2][1])["content_block"]
    assert start == {"type": "tool_use", "id": "toolu_fixed", "name": "t", "input": {}}
