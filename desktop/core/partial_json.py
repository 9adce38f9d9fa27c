"""Incremental parser for a streaming tool input (``input_json_delta``).

The Messages API streams a tool call's input as fragments of one JSON object. To preview an
edit while it forms we need the top-level string fields (``path``, ``new_str`` ...) as they
grow. Re-parsing the whole buffer on every delta is quadratic in the edit's length; this
parser looks at every character once and emits only what each fragment added.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum, auto
from typing import Any

__all__ = ["PartialJSONError", "PartialObjectParser", "StringDelta"]

# The next character inside a JSON string that needs attention: the closing quote or an escape.
_STRING_STOP = re.compile(r'["\\]')
_SIMPLE_ESCAPES = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


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
        """Decode from ``pos``; return (new pos, whether the string closed)."""
        end = len(buf)
        while pos < end:
            match = _STRING_STOP.search(buf, pos)
            if match is None:
                parts.append(buf[pos:])
                return end, False
            stop = match.start()
            if stop > pos:
                parts.append(buf[pos:stop])
            if buf[stop] == '"':
                return stop + 1, True
            decoded, used = _decode_escape(buf, stop)
            if used == 0:
                return stop, False  # incomplete escape at the end of the fragment
            parts.append(decoded)
            pos = stop + used
        return pos, False

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


def _decode_escape(buf: str, at: int) -> tuple[str, int]:
    """Decode the escape at ``buf[at] == '\\'``; (text, chars used), or ("", 0) if incomplete."""
    if at + 1 >= len(buf):
        return "", 0
    kind = buf[at + 1]
    if kind in _SIMPLE_ESCAPES:
        return _SIMPLE_ESCAPES[kind], 2
    if kind != "u":
        raise PartialJSONError(f"invalid escape \\{kind} in tool input")
    if at + 6 > len(buf):
        return "", 0
    code = int(buf[at + 2 : at + 6], 16)
    if 0xD800 <= code < 0xDC00:  # high surrogate: pair it with its low half when one follows
        rest = buf[at + 6 : at + 12]
        if len(rest) < 6 and "\\u".startswith(rest[:2]):
            return "", 0  # the low half may still arrive in the next fragment
        if rest.startswith("\\u"):
            low = int(rest[2:], 16)
            if 0xDC00 <= low < 0xE000:
                return chr(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)), 12
    return chr(code), 6
