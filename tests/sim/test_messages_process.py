"""The scripted Messages API in its own process: same scripts and routes, over real HTTP."""

from __future__ import annotations

import anthropic
import pytest

from desktop.sim.messages_process import MessagesServerProcess
from desktop.sim.messages_routing import Route
from desktop.sim.messages_script import text_turn


def ask(base_url: str, text: str) -> str:
    client = anthropic.Anthropic(api_key="k-proc", base_url=base_url, max_retries=0)
    try:
        message = client.messages.create(
            model="claude-sonnet-4-6", max_tokens=50,
            messages=[{"role": "user", "content": text}])
    finally:
        client.close()
    block = message.content[0]
    assert block.type == "text"
    return block.text


def test_routes_requests_to_their_scripts_in_the_child() -> None:
    scripts = {"a": [text_turn("from a")], "b": [text_turn("from b"), text_turn("b again")]}
    routes = [Route(key="a", first_user_contains="first"), Route(key="b")]
    with MessagesServerProcess(scripts, routes, nice=5) as api:
        assert api.remaining() == {"a": 1, "b": 2}
        assert ask(api.base_url, "the first question") == "from a"
        assert ask(api.base_url, "another question") == "from b"
        assert api.remaining() == {"a": 0, "b": 1}
        assert api.message_count() == 2
    with pytest.raises(RuntimeError, match="not started"):
        api.base_url  # noqa: B018 - stopped: no address to give


def test_a_request_is_recorded_before_its_answer_starts() -> None:
    """The record exists once the answer's first bytes arrive (here, while the stream is
    still going), so a test that reads it after its answer never reads it too early."""
    with MessagesServerProcess([text_turn("one two three four", delay_s=0.2)]) as api:
        client = anthropic.Anthropic(api_key="k-proc", base_url=api.base_url, max_retries=0)
        try:
            with client.messages.stream(
                    model="claude-sonnet-4-6", max_tokens=50,
                    messages=[{"role": "user", "content": "count"}]) as stream:
                first = next(iter(stream))  # message_start: the stream is open, not done
                counted_mid_stream = api.message_count()
                text = stream.get_final_text()
        finally:
            client.close()
    assert first.type == "message_start"
    assert counted_mid_stream == 1
    assert text == "one two three four"


def test_a_single_script_needs_no_routes() -> None:
    with MessagesServerProcess([text_turn("hello")]) as api:
        assert ask(api.base_url, "hi") == "hello"
        assert api.remaining() == {"default": 0}


def test_bad_arguments_are_refused_before_any_process_starts() -> None:
    with pytest.raises(TypeError, match="a mapping of scripts needs routes"):
        MessagesServerProcess({"a": [text_turn("x")]})
    with pytest.raises(TypeError, match="with routes, pass a mapping key -> script, got list"):
        MessagesServerProcess([text_turn("x")], [Route(key="a")])


def test_a_script_the_server_refuses_is_reported_by_the_parent() -> None:
    bad = MessagesServerProcess({"a": ["not a turn"]}, [Route(key="a")])  # type: ignore[list-item]
    with pytest.raises(RuntimeError, match=r"failed to start.*script 'a' item 0: expected Turn"):
        bad.start()
