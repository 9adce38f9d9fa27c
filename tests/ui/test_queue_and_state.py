"""The concurrency limit queues runs visibly; cancel works queued or running; quitting asks
when something runs; reopening restores the selection and the layout (QSettings)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings

from desktop.core.stages import ChangeState
from desktop.sim.messages_script import text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.sessions import swedish_session
from tests.ui.conftest import Harness, wait_until


async def test_queued_change_says_so_and_cancels_cleanly_then_quit_asks(
    configured: RepoWithRemote, scripted: Callable[..., object],
    harness_factory: Callable[[], Harness], ui_settings: QSettings,
) -> None:
    ui_settings.setValue("prefs/max_concurrent", 1)
    # ~25 s of streaming: the first change must still run while the second is created and
    # queued, even on a loaded machine (it is cancelled at quit, so the test never waits it out)
    slow = text_turn("Thinking… " * 100, chunk_chars=2, delay_s=0.05)
    scripted([slow, *swedish_session()])
    h = harness_factory()
    w = h.window
    w.composer.repo.setCurrentText(str(configured.path))
    ids: list[str] = []
    for text in ("first request", "second request"):
        w.composer.request.setPlainText(text)
        w.send_request()
        count = len(ids)
        await wait_until(lambda: len(w.bridge.views) > count, what=f"{text} created")  # noqa: B023
        ids.append(max(w.bridge.views.values(), key=lambda v: v.created_at).id)
    first, second = ids
    await wait_until(lambda: w.bridge.queued() == {second}, what="the second change queued")
    assert "1 queued" in w.changes.capacity.text() and "Running 1 of 1" in w.changes.capacity.text()
    row = w.changes.proxy.mapFromSource(w.changes.model.index(w.changes.model.row_of(second) or 0))
    assert "queued" in str(row.data())
    # Esc on the selected queued change cancels it; it is journalled, not dropped.
    w.changes.select(second)
    await h.active()
    w.changes.view.setFocus()
    w.actions_by_id["cancel"].trigger()
    await wait_until(lambda: w.bridge.views[second].state is ChangeState.CANCELLED,
                     what="the queued change cancelled")
    assert h.services.journal.view(second).reason == "cancelled while queued"  # type: ignore[union-attr]
    # Quitting while the first runs asks; saying no keeps it running.
    h.answers = [False]
    assert not w.request_quit()
    assert w.bridge.is_active(first) and "1 change(s) still running" in h.asked[-1]
    h.answers = [True]
    assert w.request_quit()
    await wait_until(lambda: not w.bridge.is_active(first), what="the run cancelled on quit")
    assert h.services.journal.view(first).state is ChangeState.CANCELLED  # type: ignore[union-attr]
    h.services.close()


async def test_reopening_restores_selection_layout_and_diff_mode(
    harness_factory: Callable[[], Harness], ui_settings: QSettings,
) -> None:
    from tests.ui.test_notifications import created

    h = harness_factory()
    for cid in ("c1", "c2", "c3"):
        h.services.bus.emit(created(cid))
    await wait_until(lambda: h.window.changes.model.rowCount() == 3, what="three rows")
    h.window.changes.select("c2")
    h.window.diff.set_mode("split")
    h.window.resize(780, 560)  # within the offscreen screen, which clamps restored geometry
    await wait_until(lambda: h.window.main.width() == 780, what="resized")
    h.window.main.setSizes([300, 474])
    sizes = h.window.main.sizes()
    assert h.window.request_quit()
    await wait_until(lambda: not h.window.isVisible(), what="closed")
    h.services.close()

    again = harness_factory()
    assert again.window.current_id() == "c2"
    assert again.window.diff.mode == "split"
    await wait_until(lambda: again.window.main.sizes() == sizes,
                     what=f"splitter sizes {sizes}, got {again.window.main.sizes()}")
    await again.close()
