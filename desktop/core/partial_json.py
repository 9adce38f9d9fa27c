"""Incremental parser for a streaming tool input (``input_json_delta``).

The Messages API streams a tool call's input as fragments of one JSON object. To preview an
edit while it forms we need the top-level string fields (``path``, ``new_str`` ...) as they
grow. Re-parsing the whole buffer on every delta is quadratic in the edit's length; this
parser looks at every character once and emits only what each fragment added.
"""

from __future__ import annotations

import json
import json.decoder
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

__all__ = ["PartialJSONError", "PartialObjectParser", "StringDelta"]

# Decodes JSON string contents up to the closing quote, in C where available. Not in the
# stubs, but part of the json module since Python 2.6.
_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]


class PartialJSONError(ValueError):
    """The fragments do not form a JSON object."""


@dataclass(frozen=True)
class StringDelta:
    """Text appended to the top-level string field ``key`` by one fragment."""

    key: str
    text: str


class _State(Enum):
    BEFORE_OBJECT = auto()
    EXPECT_KEY = auto()
    IN_KEY = auto()
    EXPECT_COLON = auto()
    EXPECT_VALUE = auto()
    IN_STRING_VALUE = auto()
    IN_RAW_VALUE = auto()
    DONE = auto()


@dataclass
class PartialObjectParser:
    """Feed fragments with :meth:`feed`; read complete values from :attr:`values`."""

    values: dict[str, Any] = field(default_factory=dict)
    _state: _State = _State.BEFORE_OBJECT
    _pending: str = ""  # unconsumed tail (an incomplete escape or raw value)
    _key_parts: list[str] = field(default_factory=list)
    _value_parts: list[str] = field(default_factory=list)
    _key: str = ""
    _raw_depth: int = 0
    _raw_in_string: bool = False
    _raw_escaped: bool = False

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    @property
    def current_key(self) -> str | None:
        """The top-level string field still streaming, if any."""
        return self._key if self._state is _State.IN_STRING_VALUE else None

    def partial(self, key: str) -> str | None:
        """The value of ``key`` so far (complete, or partial while it streams). O(len) each."""
        if key in self.values:
            value = self.values[key]
            return value if isinstance(value, str) else None
        if self.current_key == key:
            return "".join(self._value_parts)
        return None

    def feed(self, fragment: str) -> list[StringDelta]:
        """Consume one fragment; return the text it added to top-level string fields."""
        buf = self._pending + fragment
        self._pending = ""
        deltas: list[StringDelta] = []
        pos, end = 0, len(buf)
        while pos < end:
            state = self._state
            if state is _State.IN_STRING_VALUE or state is _State.IN_KEY:
                parts = self._value_parts if state is _State.IN_STRING_VALUE else self._key_parts
                start_len = len(parts)
                pos, closed = self._scan_string(buf, pos, parts)
                if state is _State.IN_STRING_VALUE and len(parts) > start_len:
                    deltas.append(StringDelta(self._key, "".join(parts[start_len:])))
                if closed:
                    self._close_string(state)
                elif pos < end:  # an incomplete escape: wait for more input
                    self._pending = buf[pos:]
                    return deltas
                continue
            if state is _State.IN_RAW_VALUE:
                pos = self._scan_raw(buf, pos)
                continue
            ch = buf[pos]
            pos += 1
            if ch in " \t\r\n":
                continue
            self._structural(ch)
        return deltas

    def _structural(self, ch: str) -> None:
        state = self._state
        if state is _State.BEFORE_OBJECT and ch == "{":
            self._state = _State.EXPECT_KEY
        elif state is _State.EXPECT_KEY and ch == '"':
            self._key_parts = []
            self._state = _State.IN_KEY
        elif state is _State.EXPECT_KEY and ch in ",}":
            if ch == "}":
                self._state = _State.DONE
        elif state is _State.EXPECT_COLON and ch == ":":
            self._state = _State.EXPECT_VALUE
        elif state is _State.EXPECT_VALUE and ch == '"':
            self._value_parts = []
            self._state = _State.IN_STRING_VALUE
        elif state is _State.EXPECT_VALUE:
            self._value_parts = [ch]
            self._raw_depth = 1 if ch in "[{" else 0
            self._raw_in_string = self._raw_escaped = False
            self._state = _State.IN_RAW_VALUE
        else:
            raise PartialJSONError(f"unexpected {ch!r} in tool input ({state.name.lower()})")

    def _close_string(self, state: _State) -> None:
        if state is _State.IN_KEY:
            self._key = "".join(self._key_parts)
            self._state = _State.EXPECT_COLON
        else:
            self.values[self._key] = "".join(self._value_parts)
            self._value_parts = []
            self._state = _State.EXPECT_KEY

    def _scan_string(self, buf: str, pos: int, parts: list[str]) -> tuple[int, bool]:
        """Decode from ``pos``; return (new pos, whether the string closed).

        The decodable run is found with ``str.find`` and decoded in one C call
        (``json.decoder.scanstring``): a fragment of code has an escape every line, and
        decoding them one by one in Python was most of the stream's cost per event.
        """
        quote = _closing_quote(buf, pos)
        stop = quote if quote >= 0 else _decodable_end(buf, pos)
        if stop > pos:
            parts.append(_decode(buf[pos:stop]))
        if quote >= 0:
            return quote + 1, True
        return stop, False

    def _scan_raw(self, buf: str, pos: int) -> int:
        """Collect a non-string value (number, bool, array, object) until it ends."""
        start = pos
        for i in range(pos, len(buf)):
            ch = buf[i]
            if self._raw_in_string:
                if self._raw_escaped:
                    self._raw_escaped = False
                elif ch == "\\":
                    self._raw_escaped = True
                elif ch == '"':
                    self._raw_in_string = False
                continue
            if ch == '"':
                self._raw_in_string = True
            elif ch in "[{":
                self._raw_depth += 1
            elif ch in "]}" and self._raw_depth > 0:
                self._raw_depth -= 1
            elif self._raw_depth == 0 and ch in ",}":
                self._value_parts.append(buf[start:i])
                raw = "".join(self._value_parts).strip()
                try:
                    self.values[self._key] = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise PartialJSONError(f"bad value for {self._key!r}: {raw[:40]!r}") from exc
                self._value_parts = []
                self._state = _State.EXPECT_KEY if ch == "," else _State.DONE
                return i + 1
        self._value_parts.append(buf[start:])
        return len(buf)


def _escape_starts_at(buf: str, at: int, floor: int) -> bool:
    """Whether the backslash at ``buf[at]`` starts an escape (an even run of backslashes,
    counted back to ``floor``, precedes it)."""
    run = 0
    while at - run - 1 >= floor and buf[at - run - 1] == "\\":
        run += 1
    return run % 2 == 0


def _closing_quote(buf: str, pos: int) -> int:
    """Index of the quote that ends the string being read from ``pos``, or -1."""
    quote = buf.find('"', pos)
    while quote >= 0 and not _escape_starts_at(buf, quote, pos):
        quote = buf.find('"', quote + 1)
    return quote


def _decodable_end(buf: str, pos: int) -> int:
    """Where the text from ``pos`` stops being decodable: before an escape cut off at the
    end of the fragment, or before a high surrogate whose low half may still follow."""
    end = len(buf)
    last = buf.rfind("\\", pos)
    if last >= 0 and _escape_starts_at(buf, last, pos):
        if last + 1 >= end or (buf[last + 1] == "u" and last + 6 > end):
            end = last  # cut off: the rest arrives with the next fragment
        elif buf[last + 1] == "u" and last + 6 == end and _high_surrogate(buf[last + 2 :]):
            end = last  # a high surrogate at the very end: its low half may come next
    lead = end - 6
    if (lead >= pos and buf.startswith("\\u", lead) and _escape_starts_at(buf, lead, pos)
            and _high_surrogate(buf[lead + 2 : end])):
        end = lead  # a high surrogate right before a cut-off escape: keep them together
    return end


def _high_surrogate(hex4: str) -> bool:
    try:
        return 0xD800 <= int(hex4, 16) < 0xDC00
    except ValueError:
        return False  # not hex: the decoder reports it


def _decode(raw: str) -> str:
    """The text of JSON string contents ``raw`` (no quotes; raw control characters allowed,
    as the model's input may hold them)."""
    try:
        text, _ = _scanstring(raw + '"', 0, False)
    except json.JSONDecodeError as exc:
        raise PartialJSONError(f"bad string in tool input: {exc.msg} in {raw[:40]!r}") from exc
    return text
