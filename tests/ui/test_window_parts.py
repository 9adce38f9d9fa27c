"""The parts of the window that follow what happens: the transcript keeps its newest entry in
view unless the person scrolled up, the line under the diff says what the change allows, the
composer folds to one line while a change is selected, the approval evidence wraps, the
phone panel shows a screenshot (or why there is none), the settings read the keyring off the
loop."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from PySide6.QtWidgets import QAbstractSlider, QApplication

from desktop.app.screens import IOS_REASON, PhoneScreen, device_screen
from desktop.core.events import Notice, VerifierResult
from desktop.core.stages import ChangeState
from desktop.ui.actions import spec
from desktop.ui.approval_panel import breakable
from desktop.ui.composer import Composer, FollowUp
from desktop.ui.device_panel import DevicePanel
from desktop.ui.transcript import Transcript
from tests.ui.conftest import Harness, wait_until


def _notice(i: int) -> Notice:
    return Notice(change="c1", level="info", message=f"entry {i}")


def test_the_transcript_follows_the_newest_entry_unless_scrolled_up(qtbot: Any) -> None:
    t = Transcript()
    qtbot.addWidget(t)
    t.resize(320, 200)
    t.show()
    t.show_change("c1")
    failing = VerifierResult(change="c1", name="unit tests", passed=False, seconds=0.2,
                             output="\n".join(f"line {n} of a long failure" for n in range(40)))
    t.on_events([_notice(0), failing])  # a tall entry: the range grows after the insert
    t.on_events([_notice(i) for i in range(1, 30)])
    bar = t.text.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0 and t.at_end(), timeout=2000)

    bar.triggerAction(QAbstractSlider.SliderAction.SliderPageStepSub)  # the person scrolls up
    qtbot.waitUntil(lambda: not t.follow, timeout=2000)
    kept = bar.value()
    t.on_events([_notice(i) for i in range(30, 40)])
    qtbot.wait(50)
    assert bar.value() == kept and not t.at_end()  # left where the person is reading

    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)  # back at the end
    qtbot.waitUntil(lambda: t.follow, timeout=2000)
    t.on_events([failing, *(_notice(i) for i in range(40, 45))])
    qtbot.waitUntil(t.at_end, timeout=2000)
    assert "entry 44" in t.text.toPlainText().splitlines()[-1]


@pytest.mark.parametrize(("state", "running", "says", "revisable"), [
    (ChangeState.AGENT_RUNNING, True, "is running; cancel it (Esc) to revise", False),
    (ChangeState.AWAITING_APPROVAL, True, "is running", False),  # busy here (an install)
    (ChangeState.AWAITING_APPROVAL, False, "awaits your approval", True),
    (ChangeState.MERGING, False, "is merging", False),
    (ChangeState.MERGED, False, "is merged", False),
    (ChangeState.FAILED, False, "failed; a follow-up runs it again", True),
    (ChangeState.REJECTED, False, "was rejected", False),
])
def test_the_line_under_the_diff_follows_the_state(
    qtbot: Any, state: ChangeState, running: bool, says: str, revisable: bool,
) -> None:
    f = FollowUp()
    qtbot.addWidget(f)
    f.set_change("c1", running=running, state=state)
    assert says in f.status and "c1" in f.status
    assert f.button.isEnabled() is revisable and f.edit.isEnabled() is revisable
    f.set_change(None, running=False)
    assert not f.isVisibleTo(f.parentWidget() or f)


def test_the_composer_folds_to_one_line_and_unfolds_to_type(qtbot: Any) -> None:
    c = Composer()
    qtbot.addWidget(c)
    c.set_suggestions(["a suggestion"])
    c.show()
    qtbot.waitExposed(c)
    tall = c.request.height()
    c.set_folded(True)
    assert c.folded and not c.pickers.isVisible() and not c.suggestions.isVisible()
    assert c.request.height() < tall / 2
    c.request.setFocus()  # going to type a request: the whole composer comes back
    qtbot.waitUntil(lambda: not c.folded, timeout=2000)
    assert c.pickers.isVisible() and c.suggestions.isVisible() and c.request.height() == tall
    c.set_folded(True)  # refused while the person types
    assert not c.folded


def test_long_words_get_break_opportunities() -> None:
    path = "/tmp/honk-demo-abcdefgh/honk-home/worktrees/2dd26d44/build/outputs/app-debug.apk"
    broken = breakable(f"built {path} ok")
    assert broken.replace("\u200b", "") == f"built {path} ok"
    assert all(len(word) <= 24 for word in broken.replace("\u200b", " ").split())
    assert breakable("short words stay as they are") == "short words stay as they are"


def test_the_phone_panel_shows_the_screenshot_or_why_not(qtbot: Any) -> None:
    from desktop.sim.phone_screen import draw_screen

    panel = DevicePanel()
    qtbot.addWidget(panel)
    panel.resize(330, 170)
    panel.show_change("c1")
    assert not panel.isVisibleTo(panel)  # nothing taken, nothing coming: no room taken
    panel.taking("c1")
    assert panel.isVisibleTo(panel) and "Taking a screenshot" in panel.caption.text()
    panel.show_screen("c1", PhoneScreen("127.0.0.1:5555", png=draw_screen(None, None)))
    assert not panel.image.pixmap.isNull() and "127.0.0.1:5555" in panel.caption.text()
    panel.show_change("c2")
    assert not panel.isVisibleTo(panel)
    panel.show_screen("c2", PhoneScreen("ios-udid", reason=IOS_REASON))
    assert panel.image.pixmap.isNull() and "iOS" in panel.caption.text()
    panel.show_change("c1")
    assert not panel.image.pixmap.isNull()
    row = spec("phone_screen")  # in the one table: menus, palette and cheat sheet show it
    assert row.shortcuts == ("Ctrl+Shift+S",)


async def test_an_ios_device_says_why_there_is_no_image() -> None:
    screen = await device_screen(None, "00008030-001A", "ios")  # type: ignore[arg-type]
    assert not screen.png and "devicectl" in screen.reason
    none = await device_screen(None, None)  # type: ignore[arg-type]
    assert "No device chosen" in none.reason


async def test_settings_read_the_keyring_off_the_loop(
    harness_factory: Any, monkeypatch: pytest.MonkeyPatch, qapp: QApplication,
) -> None:
    h: Harness = harness_factory()
    w = h.window
    loop_thread = threading.get_ident()
    read_on: list[int] = []
    release = threading.Event()
    read_s = 10  # a read on the loop would hold open_settings() this long

    def slow_get(name: str) -> str | None:  # a keyring asking for its password
        read_on.append(threading.get_ident())
        release.wait(read_s)  # until the test lets it answer: no race with the checks below
        return "sk-stored" if name == "anthropic-api-key" else None

    monkeypatch.setattr(h.services.secrets, "get", slow_get)
    try:
        started = time.monotonic()
        w.open_settings()
        # Far below read_s, far above any load-induced pause: the dialog opens at once.
        assert time.monotonic() - started < read_s / 2
        dialog = w.active_dialog
        edits = dialog.secret_edits  # type: ignore[union-attr]
        assert "checking the keyring" in edits["anthropic-api-key"].placeholderText()
        release.set()
        await wait_until(lambda: "stored" in edits["anthropic-api-key"].placeholderText(),
                         what="the stored keys said")
        assert edits["github-token"].placeholderText() == "not set"
        assert read_on and loop_thread not in read_on
        dialog.reject()  # type: ignore[union-attr]
    finally:
        release.set()  # never leave a reader thread waiting
        await h.close()


def test_screens_are_kept_per_change(qtbot: Any) -> None:
    panel = DevicePanel()
    qtbot.addWidget(panel)
    panel.show_screen("a", PhoneScreen("s1", reason="gone"))
    panel.show_screen("b", PhoneScreen("s2", reason="also gone"))
    panel.show_change("a")
    assert panel.caption.text() == "gone"


@pytest.mark.parametrize("size", [(1280, 800), (1440, 900)], ids=["1280x800", "1440x900"])
async def test_the_diff_gets_half_the_window_and_the_tree_only_with_several_files(
    harness_factory: Any, size: tuple[int, int],
) -> None:
    from desktop.core.events import EditApplied
    from tests.ui.test_notifications import created

    h: Harness = harness_factory()
    w = h.window
    try:
        w.resize(*size)
        await wait_until(lambda: w.width() == size[0], what="resized")
        h.services.bus.emit(created("c1"))
        await wait_until(lambda: w.changes.select("c1"), what="the change listed")

        def edit(path: str) -> EditApplied:
            diff = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"
            return EditApplied(change="c1", tool_use_id=f"t-{path}", command="str_replace",
                               path=path, diff=diff, added=1, removed=1)

        h.services.bus.emit(edit("app/one.py"))
        await wait_until(lambda: "one.py" in w.diff.title.text(), what="the diff shown")
        await asyncio.sleep(0.05)
        assert not w.diff.tree.isVisible()  # one file: its name is in the diff's title
        assert w.diff.stack.width() * 2 >= size[0], (w.diff.stack.width(), size)
        assert w.composer.folded and w.width() == size[0]
        h.services.bus.emit(edit("app/two.py"))
        await wait_until(w.diff.tree.isVisible, what="the file tree for two files")
    finally:
        await h.close()
