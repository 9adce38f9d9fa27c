"""Diff rows as the panes' lines: one unified column, or the before and after columns of
side by side (numbers and signs in the gutter)."""

from __future__ import annotations

from collections.abc import Iterator

from desktop.ui.diff_model import DiffRow, side_by_side
from desktop.ui.diff_pane import Line

__all__ = ["split_lines", "unified_lines"]

_SIGNS = {"add": "+", "del": "-", "ctx": " "}


def _n(value: int | None) -> str:
    return "" if value is None else str(value)


def unified_lines(rows: list[DiffRow]) -> Iterator[Line]:
    """Each row with its old and new numbers and its sign (none for hunk and meta rows)."""
    return ((r.kind, "" if r.kind in ("hunk", "meta") else
             f"{_n(r.old):>5} {_n(r.new):>5} {_SIGNS[r.kind]} ", r.text) for r in rows)


def split_lines(rows: list[DiffRow]) -> tuple[list[Line], list[Line]]:
    """The before and after columns, aligned row for row (a filler where a side has none)."""
    lefts: list[Line] = []
    rights: list[Line] = []
    for old, new in side_by_side(rows):
        lefts.append(_side(old, "del", old.old if old else None))
        rights.append(_side(new, "add", new.new if new else None))
    return lefts, rights


def _side(row: DiffRow | None, changed: str, number: int | None) -> Line:
    if row is None:
        return ("filler", "", "")
    if row.kind in ("hunk", "meta"):
        return (row.kind, "", row.text)
    sign = {"add": "+", "del": "-"}.get(row.kind, " ")
    kind = row.kind if row.kind in ("ctx", changed) else "ctx"
    return (kind, f"{_n(number):>5} {sign} ", row.text)
