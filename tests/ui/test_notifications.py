"""Notices reach the notifiers for each event that needs a person; without a tray they go to
the status bar; categories can be turned off; clicking a notice opens its change."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSettings

from desktop.core.events import ChangeCreated, ChangeFinished, StageFinished, StageStarted
from desktop.core.stages import ChangeState, Stage
from desktop.sim.messages_script import edit_turn, text_turn
from desktop.ui.notifier import Category, StatusBarNotifier
from tests.helpers.gitrepo import RepoWithRemote
from tests.ui.conftest import Harness, wait_until


def created(cid: str) -> ChangeCreated:
    return ChangeCreated(change=cid, request=f"fix {cid}", repo="/r", branch=f"honk/{cid}",
                         worktree=f"/tmp/{cid}", base="main", base_commit="0" * 40, model="m")


async def test_verifiers_failed_after_a_real_run(
    configured: RepoWithRemote, scripted: Callable[..., object],
    harness_factory: Callable[[], Harness],
) -> None:
    scripted([edit_turn("app/greeting.py", '"Hello"', '"Hallo"'), text_turn("Done."),
              text_turn("It is fine as it is.")])
    h = harness_factory()
    w = h.window
    w.composer.repo.setCurrentText(str(configured.path))
    w.composer.request.setPlainText("Swedish greeting")
    w.send_request()
    await wait_until(lambda: any(v.state is ChangeState.FAILED for v in w.bridge.views.values()),
                     20, "the change failed")
    assert h.recorder.categories() == [Category.AGENT_FINISHED, Category.VERIFIERS_FAILED]
    notice = h.recorder.notices[-1]
    assert "Swedish greeting" in notice.body and "greeting-is-swedish" in notice.body
    await h.close()


async def test_awaiting_approval_merged_installed_and_build_failed(
    harness_factory: Callable[[], Harness],
) -> None:
    h = harness_factory()
    bus = h.services.bus
    bus.emit(created("c1"))
    bus.emit(StageStarted(change="c1", stage=Stage.INSTALL))
    bus.emit(StageFinished(change="c1", stage=Stage.INSTALL))
    bus.emit(StageStarted(change="c1", stage=Stage.APPROVAL))
    bus.emit(ChangeFinished(change="c1", state="awaiting_approval"))  # same notice: not twice
    bus.emit(ChangeFinished(change="c1", state="merged"))
    bus.emit(created("c2"))
    bus.emit(StageStarted(change="c2", stage=Stage.BUILD))
    from desktop.core.events import StageFailed

    bus.emit(StageFailed(change="c2", stage=Stage.BUILD, reason="gradle exited 1"))
    bus.emit(ChangeFinished(change="c2", state="failed", reason="build failed"))
    await wait_until(lambda: len(h.recorder.notices) == 4, what="four notices")
    assert h.recorder.categories() == [Category.INSTALLED, Category.AWAITING_APPROVAL,
                                       Category.MERGED, Category.BUILD_FAILED]
    await h.close()


async def test_no_tray_goes_to_the_status_bar_and_a_click_opens_the_change(
    harness_factory: Callable[[], Harness], ui_settings: QSettings,
) -> None:
    ui_settings.setValue("notify/merged", "false")
    h = harness_factory()
    w = h.window
    assert not w.tray.available  # offscreen has no tray
    status = next(b for b in w.notifications.backends if isinstance(b, StatusBarNotifier))
    for cid in ("c1", "c2"):
        h.services.bus.emit(created(cid))
    h.services.bus.emit(ChangeFinished(change="c1", state="awaiting_approval"))
    h.services.bus.emit(ChangeFinished(change="c2", state="merged"))  # turned off
    await wait_until(lambda: status.last is not None, what="a status bar notice")
    await wait_until(lambda: w.changes.model.rowCount() == 2, what="two rows")
    assert "Awaiting your approval" in status.label.text()
    assert h.recorder.categories() == [Category.AWAITING_APPROVAL]
    w.changes.select("c2")
    status.label.linkActivated.emit("c1")
    assert w.current_id() == "c1"
    await h.close()
