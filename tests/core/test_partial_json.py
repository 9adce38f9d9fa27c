from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core.partial_json import PartialJSONError, PartialObjectParser


def feed_in_pieces(text: str, sizes: list[int]) -> tuple[PartialObjectParser, dict[str, str]]:
    parser = PartialObjectParser()
    streamed: dict[str, str] = {}
    pos, i = 0, 0
    while pos < len(text):
        size = sizes[i % len(sizes)] if sizes else 1
        for delta in parser.feed(text[pos : pos + size]):
            streamed[delta.key] = streamed.get(delta.key, "") + delta.text
        pos += size
        i += 1
    return parser, streamed


tool_inputs = st.fixed_dictionaries(
    {
        "command": st.sampled_from(["create", "str_replace", "insert", "view"]),
        "path": st.text(min_size=1, max_size=30),
        "new_str": st.text(max_size=300),
    },
    optional={
        "old_str": st.text(max_size=100),
        "insert_line": st.integers(min_value=0, max_value=10_000),
        "view_range": st.lists(st.integers(min_value=-1, max_value=500), max_size=2),
    },
)


@settings(max_examples=300, deadline=None)
@given(obj=tool_inputs, sizes=st.lists(st.integers(1, 9), min_size=1, max_size=5), ascii_only=st.booleans())
def test_any_fragmentation_yields_the_same_object_and_string_deltas(
    obj: dict[str, object], sizes: list[int], ascii_only: bool
) -> None:
    text = json.dumps(obj, ensure_ascii=ascii_only)
    parser, streamed = feed_in_pieces(text, sizes)
    assert parser.done
    assert parser.values == obj
    for key, value in obj.items():
        if isinstance(value, str):
            assert streamed.get(key, "") == value


def test_partial_value_is_visible_while_streaming() -> None:
    parser = PartialObjectParser()
    parser.feed('{"command": "create", "path": "a.txt", "file_text": "line one\\nline t')
    assert parser.current_key == "file_text"
    assert parser.partial("file_text") == "line one\nline t"
    assert parser.partial("path") == "a.txt"
    assert not parser.done


def test_escape_split_across_fragments_is_decoded_once() -> None:
    parser = PartialObjectParser()
    out = []
    for piece in ['{"new_str": "a\\', "u00e9\\u", "d83d", "\\ude00", 'b"}']:
        out += [d.text for d in parser.feed(piece)]
    assert "".join(out) == "aé😀b"
    assert parser.values == {"new_str": "aé😀b"}


def test_garbage_is_a_clear_error() -> None:
    parser = PartialObjectParser()
    with pytest.raises(PartialJSONError, match="unexpected"):
        parser.feed('{"a" "b"}')


def test_each_character_is_scanned_once() -> None:
    # Linear work: a 200k-character value fed in 20-character fragments finishes quickly
    # and the deltas add up to exactly the value (no re-emission of earlier text).
    value = "x" * 200_000
    text = json.dumps({"command": "create", "path": "big.txt", "file_text": value})
    _parser, streamed = feed_in_pieces(text, [20])
    assert streamed["file_text"] == value
    assert sum(len(v) for v in streamed.values()) == len(value) + len("create") + len("big.txt")


TRICKY = {"new_str": 'a\\b "q" \\\\" \\u00e9 😀 \t\n\u2028 x\\\\', "path": "p\\\\\"", "n": 3}


@pytest.mark.parametrize("ascii_only", [True, False])
def test_every_split_point_of_escapes_and_surrogate_pairs(ascii_only: bool) -> None:
    # Every place one fragment can end: inside an escape, between a surrogate pair's halves,
    # right after a run of backslashes.
    text = json.dumps(TRICKY, ensure_ascii=ascii_only)
    for cut in range(1, len(text)):
        for second in range(cut + 1, min(cut + 8, len(text)) + 1):
            parser = PartialObjectParser()
            streamed: dict[str, str] = {}
            for piece in (text[:cut], text[cut:second], text[second:]):
                for delta in parser.feed(piece):
                    streamed[delta.key] = streamed.get(delta.key, "") + delta.text
            assert parser.values == TRICKY, (cut, second)
            assert streamed == {"new_str": TRICKY["new_str"], "path": TRICKY["path"]}


def test_a_lone_high_surrogate_before_plain_text_is_kept() -> None:
    parser = PartialObjectParser()
    out = [d.text for d in parser.feed('{"new_str": "\\ud83dab')]
    assert "".join(out) == "\ud83dab"  # no low half can follow "ab": nothing held back


def test_a_raw_control_character_in_a_string_is_kept() -> None:
    parser = PartialObjectParser()
    parser.feed('{"new_str": "a\tb"}')
    assert parser.values == {"new_str": "a\tb"}


def test_an_invalid_escape_is_a_clear_error() -> None:
    parser = PartialObjectParser()
    with pytest.raises(PartialJSONError, match=r"bad string in tool input.*Invalid \\escape"):
        parser.feed('{"new_str": "a\\qb"}')
    with pytest.raises(PartialJSONError, match="bad string"):
        PartialObjectParser().feed('{"new_str": "a\\uZZZZb"}')
