"""What both agent engines read from the model's raw stream events: a tool call's input as
it streams, turned into live edit previews, and the usage a message reports (and the
`Usage` event either journals for a priced turn).

Honk's own loop (``agent.py``, the text editor tool) and Claude Code (``claude_code_agent.py``,
its ``Edit`` and ``Write`` tools) name their fields differently. A :class:`EditVocabulary`
maps each onto the one preview language the window and ``honk run --json`` speak
(``str_replace`` with ``old_str``/``new_str``, ``create`` with ``file_text``, ``insert``), so
an edit forms in place the same way whichever engine streams it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from desktop.core.events import EditPreview, Usage
from desktop.core.partial_json import PartialJSONError, PartialObjectParser
from desktop.core.pipeline import ChangeContext
from desktop.core.pricing import TurnUsage

__all__ = [
    "EditVocabulary",
    "StreamedToolInput",
    "merge_usage",
    "turn_usage",
    "usage_event",
]

_USAGE_KEYS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


@dataclass(frozen=True)
class EditVocabulary:
    """How one tool's input maps onto edit previews.

    ``command`` reads the preview command (``str_replace``, ``create``, ``insert``) from the
    values parsed so far, "" while unknown or when the call writes nothing. ``path`` turns the
    tool's path value into the worktree-relative path previews carry (None: do not preview,
    e.g. a path outside the worktree). ``fields`` maps the tool's streamed text fields to
    preview fields.
    """

    path_key: str
    fields: Mapping[str, str]
    command: Callable[[Mapping[str, Any]], str]
    path: Callable[[str], str | None] = lambda raw: raw
    line_key: str | None = None  # a number previewed once, where an insert lands


@dataclass
class StreamedToolInput:
    """One ``tool_use`` block's input while it streams: every fragment is parsed once, and
    each yields the edit previews it adds (none for a tool without a vocabulary)."""

    change: str
    tool_use_id: str
    vocabulary: EditVocabulary | None = None
    parser: PartialObjectParser = field(default_factory=PartialObjectParser)
    fragments: list[str] = field(default_factory=list)
    _placed: bool = False  # the line of an insert has been previewed

    def feed(self, fragment: str) -> list[EditPreview]:
        """Take one ``input_json_delta`` fragment; return the previews it adds."""
        self.fragments.append(fragment)
        try:
            pieces = self.parser.feed(fragment)
        except PartialJSONError:
            return []  # the complete input is re-read from the text when the block ends
        words = self.vocabulary
        if words is None:
            return []
        values = self.parser.values
        command = words.command(values)
        if not command:
            return []
        raw_path = values.get(words.path_key)
        path = words.path(raw_path) if isinstance(raw_path, str) else ""
        if path is None:
            return []
        out: list[EditPreview] = []

        def preview(name: str, delta: str) -> None:
            out.append(EditPreview(change=self.change, tool_use_id=self.tool_use_id,
                                   command=command, path=path, field=name, delta=delta))

        line = values.get(words.line_key) if words.line_key else None
        if not self._placed and isinstance(line, int) and not isinstance(line, bool):
            # A number, not a streamed string: previewed once, so the window can form the
            # edit at its line rather than after the diff.
            self._placed = True
            preview(str(words.line_key), str(line))
        for piece in pieces:
            name = words.fields.get(piece.key)
            if name is not None:
                preview(name, piece.text)
        return out

    def complete(self) -> dict[str, Any]:
        """The whole input once the block has ended ({} when it never formed an object)."""
        if self.parser.done:
            return dict(self.parser.values)
        try:
            value = json.loads("".join(self.fragments) or "{}")
        except json.JSONDecodeError:
            return {}
        return value if isinstance(value, dict) else {}


def merge_usage(into: dict[str, int], usage: Any) -> None:
    """Fold a ``message_start`` or ``message_delta`` usage object into ``into`` (later
    events carry the running totals, so each key keeps its last value)."""
    if not isinstance(usage, dict):
        return
    for key in _USAGE_KEYS:
        value = usage.get(key)
        if isinstance(value, int):
            into[key] = value


def turn_usage(usage: Mapping[str, int]) -> TurnUsage:
    """The usage folded by :func:`merge_usage` as a :class:`TurnUsage`."""
    return TurnUsage(**{key: usage.get(key, 0) for key in _USAGE_KEYS})


def usage_event(ctx: ChangeContext, model: str, usage: TurnUsage, cost: float) -> Usage:
    """The `Usage` of a turn that cost ``cost``, already added to ``ctx.cost_usd``."""
    return Usage(
        change=ctx.change_id,
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        cost_usd=round(cost, 6),
        total_cost_usd=round(ctx.cost_usd, 6),
    )
