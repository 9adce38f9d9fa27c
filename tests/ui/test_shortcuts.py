"""Every shortcut in the one action table triggers its action; the actions do their job."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.core.events import ChangeCreated, ChangeFinished
from desktop.ui.actions import ACTIONS
from desktop.ui.palette import CheatSheet, CommandPalette
from tests.ui.conftest import Harness, wait_until


def press(sequence: str) -> None:
    combo = QKeySequence(sequence)[0]
    target = QApplication.focusWidget()
    assert target is not None
    QTest.keyClick(target, combo.key(), combo.keyboardModifiers())


async def test_every_shortcut_in_the_table_triggers_its_action(
    harness_factory: Callable[[], Harness],
) -> None:
    h = harness_factory()
    w = h.window
    await h.active()
    fired: list[str] = []
    for row in ACTIONS:
        action = w.actions_by_id[row.id]
        action.triggered.disconnect()
        action.triggered.connect(lambda _c=False, rid=row.id: fired.append(rid))
    w.changes.view.setFocus()  # outside any text editor, as when reviewing
    await wait_until(w.changes.view.hasFocus, what="focus on the list")
    expected: list[str] = []
    for row in ACTIONS:
        assert row.shortcuts, f"{row.id} has no shortcut"
        for shortcut in row.shortcuts:
            press(shortcut)
            expected.append(row.id)
            assert fired == expected, f"{shortcut} did not trigger {row.id}"
    # Menus, palette and cheat sheet read the same table.
    menu_actions = {a.objectName() for m in w.menuBar().actions() for a in m.menu().actions()}
    assert {f"action_{r.id}" for r in ACTIONS} <= menu_actions
    palette, sheet = CommandPalette(w.actions_by_id, w), CheatSheet(w.actions_by_id, w)
    assert palette.count() == len(ACTIONS) - 1  # all but the palette itself
    assert sheet.table.rowCount() == len(ACTIONS)
    assert "Ctrl+Shift+A" in sheet.table.item([r.id for r in ACTIONS].index("approve"), 1).text()
    await h.close()


async def test_actions_do_their_job(harness_factory: Callable[[], Harness], tmp_path: object) -> None:
    h = harness_factory()
    w = h.window
    bus = h.services.bus
    for i, cid in enumerate(("aaaa0001", "aaaa0002")):
        bus.emit(ChangeCreated(change=cid, request=f"request {i}", repo="/r", branch=f"honk/{cid}",
                               worktree=f"/tmp/wt-{cid}", base="main", base_commit="0" * 40,
                               model="m", at=1000.0 + i))
        bus.emit(ChangeFinished(change=cid, state="awaiting_approval", at=1001.0 + i))
    await wait_until(lambda: w.changes.model.rowCount() == 2, what="two rows")
    await h.active()
    w.changes.select("aaaa0002")
    w.actions_by_id["next_change"].trigger()
    assert w.current_id() == "aaaa0001"
    w.actions_by_id["prev_change"].trigger()
    assert w.current_id() == "aaaa0002"
    # Approve asks first; without the approval service it says when it arrives.
    h.answers = [False]
    w.actions_by_id["approve"].trigger()
    assert h.asked and "aaaa0002" in h.asked[-1]
    h.answers = [True]
    w.actions_by_id["approve"].trigger()
    # The approval service runs it; this fake change has no repo, and the status bar says so.
    await wait_until(lambda: "approval of aaaa0002 failed" in w.statusBar().currentMessage(),
                     what="the approval failure shown")
    w.actions_by_id["install"].trigger()
    w.actions_by_id["open_worktree"].trigger()
    assert h.opened and h.opened[-1].toLocalFile() == "/tmp/wt-aaaa0002"
    mode = w.diff.mode
    w.actions_by_id["toggle_diff_mode"].trigger()
    assert w.diff.mode != mode and w.diff.stack.currentIndex() == (1 if mode == "unified" else 0)
    w.actions_by_id["new_request"].trigger()
    await wait_until(w.composer.request.hasFocus, what="the composer focused")
    w.actions_by_id["focus_filter"].trigger()
    await wait_until(w.changes.filter.hasFocus, what="the filter focused")
    # The palette runs what it lists.
    w.actions_by_id["command_palette"].trigger()
    palette = w.active_dialog
    assert isinstance(palette, CommandPalette)
    palette.search.setText("side by side")
    palette.search.returnPressed.emit()
    assert w.diff.mode == mode
    w.actions_by_id["cheat_sheet"].trigger()
    assert isinstance(w.active_dialog, CheatSheet)
    w.active_dialog.close()
    # Quitting with nothing running does not ask.
    asked = len(h.asked)
    assert w.request_quit()
    assert len(h.asked) == asked
    await wait_until(lambda: not w.isVisible(), what="the window closed")
    h.services.close()
