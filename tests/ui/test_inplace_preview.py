"""A streaming edit forms where it will land: str_replace at old_str's lines, create as the
whole file, and after the diff when old_str is not unique; the bridge reads the worktree."""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.app.services import Services, build_services
from desktop.core.errors import UsageError
from desktop.core.events import EditApplied, EditPreview, Event
from desktop.core.state import ChangeView
from desktop.sim.messages_script import edit_turn, text_turn
from desktop.ui.bridge import Bridge
from desktop.ui.diff_view import DiffView
from desktop.ui.live_wiring import connect_file_texts, connect_live
from tests.helpers.gitrepo import RepoWithRemote
from tests.ui.conftest import Harness, wait_until

CID = "c1"
PATH = "app/big.py"


@pytest.fixture
def services() -> Iterator[Services]:
    s = build_services()
    yield s
    s.close()


@pytest.fixture
def worktree(tmp_path: Path) -> Path:
    wt = tmp_path / "wt"
    (wt / "app").mkdir(parents=True)
    (wt / PATH).write_text("".join(f"line {i}\n" for i in range(1, 201)))
    return wt


def _bridge(services: Services, worktree: Path) -> Bridge:
    bridge = Bridge(services)
    bridge.views[CID] = ChangeView(id=CID, worktree=str(worktree))
    return bridge


def _wired_view(services: Services, worktree: Path) -> tuple[Bridge, DiffView]:
    """A DiffView on change CID fed by a started bridge, as the window wires them."""
    bridge = _bridge(services, worktree)
    view = DiffView()
    connect_file_texts(bridge, view)
    bridge.start()
    bridge.events.connect(view.on_events)
    view.setProperty("bridge_for_test", bridge)
    view.show_change(CID)
    return bridge, view


def preview(field: str, delta: str, command: str = "str_replace", tool: str = "t1",
            path: str = PATH) -> EditPreview:
    return EditPreview(change=CID, tool_use_id=tool, command=command, path=path,
                       field=field, delta=delta, at=1.0)


def applied(worktree: Path, old: str, new: str, tool: str = "t1") -> EditApplied:
    """Apply the edit to the file for real, as the agent's editor would, and say so."""
    before = (worktree / PATH).read_text()
    after = before.replace(old, new, 1)
    (worktree / PATH).write_text(after)
    diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True),
                                        f"a/{PATH}", f"b/{PATH}"))
    added = sum(1 for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("++"))
    removed = sum(1 for ln in diff.splitlines() if ln.startswith("-")
                  and not ln.startswith("--"))
    return EditApplied(change=CID, tool_use_id=tool, command="str_replace", path=PATH,
                       diff=diff, added=added, removed=removed, at=2.0)


def _lines(view: DiffView) -> list[str]:
    return view.unified.toPlainText().splitlines()


async def _feed(view: DiffView, *events: Event) -> None:
    """Through the real bus and bridge, as the agent's events travel."""
    bridge = view.property("bridge_for_test")
    assert isinstance(bridge, Bridge)
    for event in events:
        bridge.services.bus.emit(event)
    for _ in range(3):
        await asyncio.sleep(0)


async def test_str_replace_forms_at_its_lines_then_becomes_the_applied_diff(
    services: Services, worktree: Path, qapp: object
) -> None:
    bridge, view = _wired_view(services, worktree)
    view.resize(900, 500)
    await _feed(view, preview("old_str", "line 1"), preview("old_str", "00\nline 101\n"))
    # old_str still streaming: shown after the (empty) diff, as before.
    assert any("streaming" in ln for ln in _lines(view))
    await _feed(view, preview("new_str", "NEW A\n"))
    await wait_until(lambda: any("(line 100)" in ln for ln in _lines(view)),
                     what="the preview placed at line 100")
    for delta in ("NEW ", "B\n", "NEW C"):  # the edit keeps forming where it is
        await _feed(view, preview("new_str", delta))
    # Text coming fast goes into the pane together, a moment later.
    await wait_until(lambda: any(ln.endswith("NEW C") for ln in _lines(view)),
                     what="the streamed text in the pane")
    lines = _lines(view)
    head = next(i for i, ln in enumerate(lines) if "(line 100)" in ln)
    assert [ln.split() for ln in lines[head + 1:head + 4]] == [
        ["97", "97", "line", "97"], ["98", "98", "line", "98"], ["99", "99", "line", "99"]]
    assert lines[head + 4].split() == ["100", "-", "line", "100"]
    assert lines[head + 5].split() == ["101", "-", "line", "101"]
    assert lines[head + 6].split() == ["100", "+", "NEW", "A"]
    assert lines[head + 7].split() == ["101", "+", "NEW", "B"]
    assert lines[head + 8].split() == ["102", "+", "NEW", "C"]
    assert lines[head + 9].split() == ["102", "line", "102"]  # what follows, untouched
    assert len(lines) == head + 12
    assert view.unified.document().findBlockByNumber(head + 6).text().endswith("NEW A")

    await _feed(view, applied(worktree, "line 100\nline 101\n", "NEW A\nNEW B\nNEW C\n"))
    text = view.unified.toPlainText()
    assert "streaming" not in text and "@@ -97," in text
    added = [ln.split() for ln in _lines(view) if ln.rstrip().endswith(("NEW A", "NEW C"))]
    assert added == [["100", "+", "NEW", "A"], ["102", "+", "NEW", "C"]]
    # The bridge forgot its copy when the edit landed: the next read sees the new text.
    assert "NEW B" in (await bridge.file_text(CID, PATH) or "")
    await bridge.shutdown()


async def test_not_unique_old_str_falls_back_to_after_the_diff_and_create_is_whole(
    services: Services, worktree: Path, qapp: object
) -> None:
    (worktree / PATH).write_text("same\nother\nsame\n")
    bridge, view = _wired_view(services, worktree)
    await _feed(view, preview("old_str", "same\n"), preview("new_str", "x"))
    await wait_until(lambda: "t1" in view._placed, what="the placement decided")
    await _feed(view, preview("new_str", "yz"))
    lines = _lines(view)
    assert "(line" not in view.unified.toPlainText()
    assert lines[-1].split() == ["+", "xyz"]  # appended at the end, as before

    await _feed(view, preview("file_text", "a = 1\nb", command="create", tool="t2", path="new.py"))
    assert view.shown_path == "new.py"  # following the newest edit
    await _feed(view, preview("file_text", " = 2\nc = 3", command="create", tool="t2", path="new.py"))
    assert [ln.split() for ln in _lines(view)[1:]] == [
        ["1", "+", "a", "=", "1"], ["2", "+", "b", "=", "2"], ["3", "+", "c", "=", "3"]]
    await bridge.shutdown()


async def test_insert_forms_after_its_line_and_its_line_number_is_never_shown(
    services: Services, worktree: Path, qapp: object
) -> None:
    bridge, view = _wired_view(services, worktree)
    view.resize(900, 500)
    # As the agent streams it: the line first (once, as digits), then the text.
    await _feed(view, preview("insert_line", "150", command="insert"))
    assert "150" not in view.unified.toPlainText()  # placing, not content
    await _feed(view, preview("insert_text", "ADDED ", command="insert"))
    await wait_until(lambda: any("(line 151)" in ln for ln in _lines(view)),
                     what="the insert placed below line 150")
    await _feed(view, preview("insert_text", "ONE\nADDED TWO\n", command="insert"))
    lines = _lines(view)
    head = next(i for i, ln in enumerate(lines) if "(line 151)" in ln)
    assert [ln.split()[-2:] for ln in lines[head + 1:head + 4]] == [
        ["line", "148"], ["line", "149"], ["line", "150"]]  # the lines above, as context
    assert lines[head + 4].split() == ["151", "+", "ADDED", "ONE"]
    assert lines[head + 5].split() == ["152", "+", "ADDED", "TWO"]
    assert lines[head + 6].split()[-2:] == ["line", "151"]  # what was line 151 follows
    assert not any(ln.split()[-1:] == ["150"] and "+" in ln for ln in lines)
    await bridge.shutdown()


async def test_file_text_stays_inside_the_worktree(
    services: Services, worktree: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("no")
    bridge = _bridge(services, worktree)
    assert (await bridge.file_text(CID, PATH) or "").startswith("line 1\n")
    assert await bridge.file_text(CID, "app/missing.py") is None
    for bad in ("../secret.txt", str(tmp_path / "secret.txt")):
        with pytest.raises(UsageError, match="outside the change's worktree"):
            await bridge.file_text(CID, bad)
    with pytest.raises(UsageError, match="no worktree"):
        await bridge.file_text("nope", PATH)
    await bridge.shutdown()


async def test_the_window_shows_the_agents_edit_forming_at_its_lines(
    configured: RepoWithRemote, scripted: Callable[..., object],
    harness_factory: Callable[[], Harness], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """End to end: the scripted model streams a str_replace into line 120 of a 200-line file."""
    monkeypatch.setenv("HONK_DEVICE_WATCH", "0")
    configured.write(PATH, "".join(f"line {i}\n" for i in range(1, 201)))
    configured.commit_all("a long file")
    new = "".join(f"changed {i}\n" for i in range(1, 40))
    scripted([edit_turn(PATH, "line 120\n", new, chunk_chars=4, delay_s=0.002),
              text_turn("Done."), text_turn("Done.")])
    h = harness_factory()
    w = h.window
    connect_live(w.bridge, w.composer, w.diff)
    w.composer.repo.setCurrentText(str(configured.path))
    seen: list[str] = []
    w.bridge.events.connect(lambda batch: seen.append(w.diff.unified.toPlainText())
                            if any(e.type == "edit_preview" for e in batch) else None)
    w.composer.request.setPlainText("Change line 120")
    await h.active()
    w.composer.request.setFocus()
    QTest.keyClick(w.composer.request, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: w.current_id() is not None, what="the change")
    cid = w.current_id()
    assert cid
    await wait_until(lambda: not w.bridge.is_active(cid), 20, "the run over")
    forming = [t for t in seen if "(line 120)" in t and "changed 20" in t]
    assert forming, "the edit never formed in place"
    lines = forming[0].splitlines()
    head = next(i for i, ln in enumerate(lines) if "(line 120)" in ln)
    assert lines[head + 3].split() == ["119", "119", "line", "119"]
    assert lines[head + 4].split() == ["120", "-", "line", "120"]
    assert lines[head + 5].split() == ["120", "+", "changed", "1"]
    grown = [len(t) for t in seen if "(line 120)" in t]
    assert len(grown) > 3 and grown == sorted(grown)  # it grew delta by delta, in place
    text = w.diff.unified.toPlainText()
    assert "streaming" not in text and "@@ -117," in text
    assert any(ln.split() == ["158", "+", "changed", "39"] for ln in text.splitlines())
    await h.close()
