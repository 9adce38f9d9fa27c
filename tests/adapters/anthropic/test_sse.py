"""Splitting the Messages API's SSE bytes into events (the agent reads the SDK's response
bytes itself; end to end, over the real SDK, in tests/test_run_e2e.py and
tests/reliability/test_api_faults.py)."""

from __future__ import annotations

import json

import pytest

from desktop.adapters.anthropic.sse import SSEParser

WIRE = (b"event: message_start\ndata: {\"type\": \"message_start\"}\n\n"
        b": a comment line\n\n"
        b"event: ping\ndata: {\"type\": \"ping\"}\n\n"
        b"event: content_block_delta\ndata: {\"type\": \"content_block_delta\", "
        b"\"delta\": {\"text\": \"h\xc3\xa9\\n\"}}\n\n"
        b"event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n")
EXPECTED = ["message_start", "ping", "content_block_delta", "message_stop"]


def parse(chunks: list[bytes]) -> list[tuple[str | None, bytes]]:
    parser = SSEParser()
    out = [event for chunk in chunks for event in parser.feed(chunk)]
    return out + parser.close()


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
def test_every_split_point_and_line_ending_gives_the_same_events(newline: bytes) -> None:
    wire = WIRE.replace(b"\n", newline)
    whole = parse([wire])
    assert [name for name, _ in whole] == EXPECTED
    assert json.loads(whole[2][1])["delta"]["text"] == "hé\n"  # a UTF-8 char split is fine
    for cut in range(1, len(wire)):
        assert parse([wire[:cut], wire[cut:]]) == whole, cut


def test_data_lines_join_with_newlines_and_one_leading_space_is_dropped() -> None:
    events = parse([b"event: e\ndata:  two spaces\ndata:none\ndata\nid: 7\nretry: 10\n\n"])
    assert events == [("e", b" two spaces\nnone\n")]


def test_an_event_without_its_final_blank_line_still_counts_at_the_end() -> None:
    assert parse([b"event: message_stop\ndata: {}\n"]) == [("message_stop", b"{}")]
    assert parse([b"\n\n: only a comment\n\n"]) == []
