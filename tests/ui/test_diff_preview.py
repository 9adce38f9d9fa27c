"""A streaming edit in the diff view: the streamed text goes in where the edit lands, and
only it (fast batches go in together), on a fresh view and over a large diff already shown; side by side stays aligned."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from desktop.core.events import EditApplied, EditPreview, EditRejected
from desktop.core.partial_json import PartialObjectParser
from desktop.ui.diff_model import LARGE_DIFF_LINES
from desktop.ui.diff_pane import DiffPane
from desktop.ui.diff_view import DiffView

CID = "c1"
PATH = "app/Big.kt"


def _stream(tool_input: dict[str, str], tool: str = "t1", chunk: int = 7) -> list[EditPreview]:
    """The tool input as the model streams it: JSON fragments through the real parser."""
    raw = json.dumps(tool_input)
    parser = PartialObjectParser()
    out: list[EditPreview] = []
    for i in range(0, len(raw), chunk):
        for piece in parser.feed(raw[i:i + chunk]):
            if piece.key not in ("command", "path"):
                out.append(EditPreview(change=CID, tool_use_id=tool,
                                       command=tool_input["command"], path=PATH,
                                       field=piece.key, delta=piece.text, at=1.0))
    return out


def _git_diff(tmp_path: Path, before: str | None, after: str) -> str:
    """What git says about the file going from ``before`` (None: absent) to ``after``."""
    a, b = tmp_path / "a" / PATH, tmp_path / "b" / PATH
    for p in (a, b):
        p.parent.mkdir(parents=True, exist_ok=True)
    b.write_text(after)
    old = "/dev/null"
    if before is not None:
        a.write_text(before)
        old = str(a)
    done = subprocess.run(["git", "diff", "--no-index", "--no-color", "--", old, str(b)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1, done.stderr
    return done.stdout


def _applied(diff: str, tool: str, command: str = "create") -> EditApplied:
    added = sum(1 for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("++"))
    removed = sum(1 for ln in diff.splitlines() if ln.startswith("-")
                  and not ln.startswith("--"))
    return EditApplied(change=CID, tool_use_id=tool, command=command, path=PATH, diff=diff,
                       added=added, removed=removed, at=2.0)


class _Inserts:
    """Every change to a pane's document: (position, removed, added) characters."""

    def __init__(self, pane: DiffPane) -> None:
        self.seen: list[tuple[int, int, int]] = []
        pane.document().contentsChange.connect(lambda p, r, a: self.seen.append((p, r, a)))


def _text_lines(pane: DiffPane, gutter: int) -> list[str]:
    return [ln[gutter:] for ln in pane.toPlainText().split("\n")]


def _feed_in_batches(view: DiffView, events: list[EditPreview], pane: DiffPane,
                     size: int = 5) -> None:
    """Batches as the bridge hands them over, then the view's flush: together they insert
    just the streamed text (held back a moment when it comes fast), never what is shown."""
    view.on_events(events[:size])  # the first shows the file: a full render
    watch = _Inserts(pane)
    text = ""
    for i in range(size, len(events), size):
        batch = events[i:i + size]
        view.on_events(batch)
        text += "".join(e.delta for e in batch)
    view.flush()
    assert all(removed == 0 for _, removed, _ in watch.seen), watch.seen
    inserted = sum(added for _, _, added in watch.seen)
    # The text itself plus a gutter per new line (and a newline held back from the
    # batch before): never what was there already.
    assert inserted <= len(text) + 15 * (text.count("\n") + 1), (inserted, text)


@pytest.mark.parametrize("existing", [0, 300, LARGE_DIFF_LINES + 10])
def test_a_create_forms_as_the_whole_file_and_each_batch_inserts_only_its_text(
    existing: int, tmp_path: Path, qapp: object
) -> None:
    """Fresh view, a diff shown line by line, a diff too large to show: same behaviour."""
    view = DiffView()
    view.show_change(CID)
    before = "".join(f"old {i}\n" for i in range(existing)) if existing else None
    if before is not None:
        view.on_events([_applied(_git_diff(tmp_path / "old", None, before), "t0")])
        assert view.unified.block_count() == (1 if existing > LARGE_DIFF_LINES else existing + 1)
    content = "".join(f'    val s{i} = "row {i}" // {"x" * (i % 9)}\n' for i in range(120))
    events = _stream({"command": "create", "path": PATH, "file_text": content})
    _feed_in_batches(view, events, view.unified)

    lines = view.unified.toPlainText().split("\n")
    assert lines[0] == "✎ create app/Big.kt — streaming… (line 1)"
    assert "Large diff" not in view.unified.toPlainText()  # a create replaces it all
    assert [ln[:14] for ln in lines[1:]] == [f"{'':>5} {n:>5} + " for n in range(1, 122)]
    assert "\n".join(ln[14:] for ln in lines[1:]) == content  # exactly what streamed

    after = _git_diff(tmp_path / "new", before, content)
    view.on_events([_applied(after, "t1")])
    text = view.unified.toPlainText()
    assert "streaming" not in text
    if existing > LARGE_DIFF_LINES:  # the applied diff is as large: summarized again
        assert text == f"Large diff: +120 −{existing} lines, not shown line by line"
        return
    assert "@@ " in text
    added = [ln[14:] for ln in text.split("\n") if ln[:14].endswith(" + ")]
    assert added == content.split("\n")[:-1]


async def test_a_str_replace_forms_at_its_lines_in_a_file_with_a_large_diff(
    tmp_path: Path, qapp: object
) -> None:
    """The large diff is summarized; the forming edit still shows as a hunk at its lines."""
    file_text = "".join(f"line {i}\n" for i in range(1, LARGE_DIFF_LINES + 50))
    read: list[str] = []

    async def text_source(change: str, path: str) -> str | None:
        read.append(path)
        return file_text

    view = DiffView()
    view.text_source = text_source
    view.show_change(CID)
    view.on_events([_applied(_git_diff(tmp_path, None, file_text), "t0")])
    events = _stream({"command": "str_replace", "path": PATH,
                      "old_str": "line 700\nline 701\n",
                      "new_str": "".join(f"new {i}\n" for i in range(40))})
    olds = [e for e in events if e.field == "old_str"]
    view.on_events(olds)
    view.on_events(events[len(olds):len(olds) + 1])
    for _ in range(50):
        if "(line 700)" in view.unified.toPlainText():
            break
        await asyncio.sleep(0.01)
    assert read == [PATH]  # read once, not per batch
    _feed_in_batches(view, events[len(olds) + 1:], view.unified, size=3)
    lines = view.unified.toPlainText().split("\n")
    assert lines[0].startswith("Large diff: +20049 −0")
    head = lines.index("✎ str_replace app/Big.kt — streaming… (line 700)")
    assert [ln.split() for ln in lines[head + 1:head + 6]] == [
        ["697", "697", "line", "697"], ["698", "698", "line", "698"],
        ["699", "699", "line", "699"], ["700", "-", "line", "700"], ["701", "-", "line", "701"]]
    news = lines[head + 6:head + 46]
    assert [ln.split() for ln in news] == [[str(700 + i), "+", "new", str(i)] for i in range(40)]
    assert [ln.split() for ln in lines[head + 46:]] == [
        ["702", "line", "702"], ["703", "line", "703"], ["704", "line", "704"]]

    view.on_events([EditRejected(change=CID, tool_use_id="t1", command="str_replace",
                                 path=PATH, error="no")])
    assert view.unified.toPlainText().split("\n") == lines[:1]  # back to the summary


async def test_side_by_side_stays_aligned_while_the_edit_grows(qapp: object) -> None:
    file_text = "".join(f"line {i}\n" for i in range(1, 31))

    async def text_source(change: str, path: str) -> str | None:
        return file_text

    view = DiffView()
    view.text_source = text_source
    view.set_mode("split")
    view.show_change(CID)
    new = "".join(f"A{i}\n" for i in range(1, 7))
    events = _stream({"command": "str_replace", "path": PATH,
                      "old_str": "line 10\nline 11\nline 12\n", "new_str": new}, chunk=2)
    olds = [e for e in events if e.field == "old_str"]
    view.on_events([*olds, events[len(olds)]])
    for _ in range(50):
        if view._forming is not None:
            break
        await asyncio.sleep(0.01)
    assert view._forming is not None
    checked = 0
    for event in events[len(olds) + 1:]:
        view.on_events([event])
        left = view.left.toPlainText().split("\n")
        right = view.right.toPlainText().split("\n")
        assert len(left) == len(right)
        # Context rows pair up; each replaced line has a new line or a filler beside it.
        for a, b in zip(left, right, strict=True):
            if "line" in a and " - " not in a and "line" in b:
                assert a.split()[-1] == b.split()[-1], (a, b)
        assert left[-1].split() == ["15", "line", "15"] and right[-1].split() == ["line", "15"]
        checked += 1
    assert checked > 5
    view.flush()  # what streamed faster than the pane takes it goes in now
    left = view.left.toPlainText().split("\n")
    right = view.right.toPlainText().split("\n")
    assert [ln.split() for ln in left[4:10]] == [
        ["10", "-", "line", "10"], ["11", "-", "line", "11"], ["12", "-", "line", "12"],
        [], [], []]
    assert [ln.split() for ln in right[4:10]] == [
        [str(n), "+", f"A{n - 9}"] for n in range(10, 16)]


def test_an_edit_not_placed_is_appended_after_the_diff_batch_by_batch(
    tmp_path: Path, qapp: object
) -> None:
    """Without the file's text a str_replace is shown after the diff; still O(batch)."""
    view = DiffView()
    view.show_change(CID)
    view.on_events([_applied(_git_diff(tmp_path, None, "a\nb\n"), "t0")])
    events = _stream({"command": "str_replace", "path": PATH, "old_str": "a\n",
                      "new_str": "".join(f"x{i}\n" for i in range(30))})
    _feed_in_batches(view, events, view.unified, size=4)
    lines = view.unified.toPlainText().split("\n")
    head = lines.index("✎ str_replace app/Big.kt — streaming…")
    assert [ln.split() for ln in lines[head + 1:]] == [
        ["-", "a"], ["-"], ["+", "x0"], *[["+", f"x{i}"] for i in range(1, 30)], ["+"]]



async def test_a_fast_stream_goes_into_the_pane_together_and_all_of_it_shows(
    qapp: object
) -> None:
    """Batches faster than the pane's pace are inserted together (each insert repaints the
    pane); a moment after the last one the pane holds exactly what streamed, in order."""
    view = DiffView()
    view.resize(700, 400)
    view.show()
    view.show_change(CID)
    content = "".join(f"    val s{i} = {i} // {'y' * (i % 7)}\n" for i in range(400))
    events = _stream({"command": "create", "path": PATH, "file_text": content}, chunk=5)
    view.on_events(events[:3])  # the first shows the file: a full render
    watch = _Inserts(view.unified)
    batches = 0
    for i in range(3, len(events), 3):
        view.on_events(events[i:i + 3])
        batches += 1
    assert batches > 100
    assert len(watch.seen) < batches / 10  # not one insert (and repaint) per batch
    for _ in range(50):  # no flush asked for: the pane catches up by itself
        if view.unified.toPlainText().endswith(content.split("\n")[-2]):
            break
        await asyncio.sleep(0.02)
    lines = view.unified.toPlainText().split("\n")
    assert [ln[:14] for ln in lines[1:]] == [f"{'':>5} {n:>5} + " for n in range(1, 402)]
    assert "\n".join(ln[14:] for ln in lines[1:]) == content  # nothing lost or doubled
    await asyncio.sleep(0.1)
    pane = view.unified
    first = pane.firstVisibleBlock().blockNumber()
    assert first > 300  # the view followed the forming edit down
    view.close()
