"""Drive the real window against the scripted Messages API: type, Ctrl+Enter, watch the
edit stream in place and become the applied diff."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from desktop.core.stages import ChangeState, Stage
from desktop.sim.messages_script import edit_turn, text_turn, tool_turn
from desktop.ui.notifier import Category
from tests.helpers.gitrepo import RepoWithRemote
from tests.ui.conftest import Harness, wait_until

EDITOR = "str_replace_based_edit_tool"


async def test_request_streams_the_edit_in_place_then_shows_the_applied_diff(
    configured: RepoWithRemote, scripted: Callable[..., object],
    harness_factory: Callable[[], Harness],
) -> None:
    long_new = '"Hej"  # ' + "svenska " * 40
    scripted([
        tool_turn(EDITOR, {"command": "view", "path": "app/greeting.py"}, "Let me look."),
        edit_turn("app/greeting.py", '"Hello"', long_new, chunk_chars=3, delay_s=0.002),
        text_turn("The greeting now says hello in Swedish."),
    ])
    h = harness_factory()
    w = h.window
    w.composer.repo.setCurrentText(str(configured.path))
    seen_preview: list[str] = []
    w.bridge.events.connect(lambda batch: seen_preview.append(w.diff.unified.toPlainText())
                            if any(e.type == "edit_preview" for e in batch) else None)
    await h.active()
    w.composer.request.setFocus()
    QTest.keyClicks(w.composer.request, "Make the greeting say hello in Swedish")
    QTest.keyClick(w.composer.request, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    await wait_until(lambda: w.current_id() is not None or w.composer.error.text(),
                     what="the new change selected")
    assert not w.composer.error.text()
    cid = w.current_id()
    assert cid
    await wait_until(lambda: w.bridge.views[cid].state is ChangeState.AWAITING_APPROVAL, 20,
                     "the change verified, committed and awaiting approval")
    # While streaming, the edit formed in place in the preview style.
    assert any("streaming" in t and "svenska" in t for t in seen_preview)
    partial = [t for t in seen_preview if "svenska" in t]
    assert len(partial) > 3  # it grew delta by delta
    # Once applied, the preview is replaced by the real diff with line numbers.
    text = w.diff.unified.toPlainText()
    assert "streaming" not in text
    assert '-GREETING = "Hello"' in text.replace(" ", "") or 'GREETING = "Hello"' in text
    assert "svenska" in text and "@@" in text
    assert w.diff.tree.topLevelItemCount() == 1
    assert "Swedish" in w.transcript.text.toPlainText()
    assert "$" in w.transcript.meter.text()
    assert w.composer.request.toPlainText() == ""
    assert w.stage_bar.chips[Stage.AGENT].property("state") == "done"
    notices = h.recorder.categories()
    assert Category.AGENT_FINISHED in notices and Category.AWAITING_APPROVAL in notices
    await h.close()
