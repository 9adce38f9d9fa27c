"""The window's Slack switch against the loopback Slack (real slack_sdk, real HTTP and
WebSocket): Settings turns it on and lists the repos, the status bar says the bridge's state,
changes asked from Slack are marked in the list, and a second server for the same Slack app
does not start."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from desktop.app.services import build_services
from desktop.app.slack.serve import SlackServer, served_repos
from desktop.core.stages import ChangeState
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.slack import FakeSlack
from desktop.ui.settings_dialog import SettingsDialog
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.slack_desk import CHANNEL, REQUESTER, slack_toml
from tests.ui.conftest import CONFIG, Harness, wait_until

USERS = {REQUESTER: ("Rui Requester", "rui")}


@pytest.fixture
def phone(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    """The loopback Slack, its tokens and Web API URL in the environment. A fresh app token
    per test: the one-server lock is per Slack app, machine-wide."""
    app_token = f"xapp-1-A0HONK-{secrets.token_hex(8)}"
    with FakeSlack(users=USERS, app_token=app_token) as slack:
        monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
        monkeypatch.setenv("SLACK_APP_TOKEN", slack.app_token)
        monkeypatch.setenv("HONK_SLACK_API_URL", slack.api_url)
        yield slack


@pytest.fixture
def served(configured: RepoWithRemote) -> RepoWithRemote:
    """The configured repo with a [slack] table (REQUESTER may ask)."""
    configured.write("honk.toml", CONFIG + "\n" + slack_toml())
    configured.commit_all("serve over slack")
    return configured


def settings_dialog(h: Harness) -> SettingsDialog:
    h.window.open_settings()
    dialog = h.window.active_dialog
    assert isinstance(dialog, SettingsDialog)
    return dialog


async def turn_slack(h: Harness, on: bool, repos: list[str]) -> SettingsDialog:
    dialog = settings_dialog(h)
    dialog.slack_enabled.setChecked(on)
    dialog.slack_repos.setPlainText("\n".join(repos))
    dialog.accept()
    return dialog


def slack_text(h: Harness) -> str:
    label = h.window.slack_label
    return label.text() if label.isVisible() else ""


async def test_turning_slack_on_connects_and_off_disconnects(
    served: RepoWithRemote, phone: FakeSlack, ui_settings: QSettings,
    harness_factory: Callable[[], Harness],
) -> None:
    h = harness_factory()
    w = h.window
    try:
        assert not w.slack_label.isVisible()  # never turned on: nothing said
        await turn_slack(h, True, [f"app={served.path}"])
        await wait_until(lambda: slack_text(h) == "Slack: connected", 20, "Slack connected")
        assert phone.open_sockets() == 1
        assert w.bridge.slack_repos == (f"app={served.path}",)
        ui_settings.sync()
        assert str(ui_settings.value("slack/enabled")) == "true"
        assert ui_settings.value("slack/repos") in ([f"app={served.path}"],
                                                    f"app={served.path}")
        # No token ever lands in the settings file.
        text = Path(ui_settings.fileName()).read_text()
        assert phone.app_token not in text and phone.bot_token not in text

        await turn_slack(h, False, [f"app={served.path}"])
        await wait_until(lambda: slack_text(h) == "Slack: off", 20, "Slack off")
        assert not w.bridge.slack_serving
        await wait_until(lambda: phone.open_sockets() == 0, 10, "the socket closed")
    finally:
        await h.close()


async def test_a_slash_command_shows_its_change_marked_with_who_asked(
    served: RepoWithRemote, phone: FakeSlack, swedish_api: ScriptedMessagesAPI,
    harness_factory: Callable[[], Harness],
) -> None:
    h = harness_factory()
    w = h.window
    try:
        await turn_slack(h, True, [str(served.path)])
        await wait_until(lambda: slack_text(h) == "Slack: connected", 20, "Slack connected")
        phone.slash_command(REQUESTER, CHANNEL, "make the greeting Swedish")

        def from_slack() -> str | None:
            return next((v.id for v in w.bridge.views.values() if v.requested_by), None)

        await wait_until(from_slack, 20, "the change from Slack in the window")
        cid = from_slack()
        assert cid is not None
        assert w.bridge.views[cid].requested_by == "slack:rui"
        model = w.changes.model
        await wait_until(lambda: model.row_of(cid) is not None, 10, "the row in the list")
        index = model.index(model.row_of(cid) or 0)
        assert "slack:rui" in str(model.data(index, Qt.ItemDataRole.DisplayRole))
        assert "Asked by slack:rui" in str(model.data(index, Qt.ItemDataRole.ToolTipRole))
        # The filter finds changes by who asked for them.
        w.changes.filter.setText("slack:rui")
        assert w.changes.proxy.rowCount() == 1
        w.changes.filter.clear()
        await wait_until(lambda: w.bridge.views[cid].state is ChangeState.AWAITING_APPROVAL,
                         30, "the Slack change awaiting approval")
    finally:
        await h.close()


async def test_an_app_already_served_elsewhere_is_not_served_twice(
    served: RepoWithRemote, phone: FakeSlack, tmp_path: Path,
    harness_factory: Callable[[], Harness],
) -> None:
    import os

    # `honk slack` (here: its SlackServer, on its own home) serves the app first.
    other = build_services({**os.environ, "HONK_HOME": str(tmp_path / "other-home")})
    connected = asyncio.Event()
    server = SlackServer(other, served_repos([str(served.path)]),
                         on_status=lambda s: connected.set() if s.state.value == "connected"
                         else None)
    first = asyncio.ensure_future(server.run())
    h = harness_factory()
    w = h.window
    try:
        await wait_until(lambda: connected.is_set() or first.done(), 20, "the first server")
        assert not first.done()
        await turn_slack(h, True, [str(served.path)])
        await wait_until(lambda: "already being served" in slack_text(h), 20,
                         "the window says the app is served already")
        assert slack_text(h).startswith("Slack: error (")
        assert "already being served" in w.statusBar().currentMessage()
        assert not w.bridge.slack_serving
        assert phone.open_sockets() == 1  # only the first server's
    finally:
        await h.close()
        server.stop()
        with contextlib.suppress(Exception):
            await first
        other.close()


async def test_a_bad_repo_entry_is_said_in_the_dialog_and_nothing_is_saved(
    configured: RepoWithRemote, phone: FakeSlack, tmp_path: Path, ui_settings: QSettings,
    harness_factory: Callable[[], Harness],
) -> None:
    h = harness_factory()
    w = h.window
    try:
        missing = tmp_path / "no-such-checkout"
        dialog = await turn_slack(h, True, [f"gone={missing}"])
        assert dialog.isVisible()  # not accepted: still open, saying why
        assert dialog.slack_error.isVisible()
        assert "gone" in dialog.slack_error.text()
        # A checkout whose honk.toml has no [slack] approvers is refused too.
        dialog.slack_repos.setPlainText(str(configured.path))
        dialog.accept()
        assert dialog.isVisible()
        assert "approvers" in dialog.slack_error.text()
        dialog.reject()
        await asyncio.sleep(0.05)
        ui_settings.sync()
        assert ui_settings.value("slack/enabled") is None
        assert ui_settings.value("slack/repos") is None
        assert not w.prefs.slack_enabled and not w.bridge.slack_serving
        assert not w.slack_label.isVisible()
        assert phone.open_sockets() == 0
    finally:
        await h.close()


async def test_a_window_started_with_slack_on_serves_it_at_once(
    served: RepoWithRemote, phone: FakeSlack, ui_settings: QSettings,
    harness_factory: Callable[[], Harness],
) -> None:
    ui_settings.setValue("slack/enabled", "true")
    ui_settings.setValue("slack/repos", [str(served.path)])
    h = harness_factory()
    try:
        await wait_until(lambda: slack_text(h) == "Slack: connected", 20, "Slack connected")
        assert phone.open_sockets() == 1
    finally:
        await h.close()
    await wait_until(lambda: phone.open_sockets() == 0, 10, "closed on quit")
