"""The model picker offers the agent engine: the repo's default, the Messages API or Claude
Code; the pick goes with the request (RunOptions.engine) and the window says what stops it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from desktop.ui.composer import Composer
from tests.helpers.gitrepo import RepoWithRemote
from tests.ui.conftest import Harness, wait_until


def test_the_engine_picker_offers_both_engines_and_defaults_to_the_repos(qtbot: Any) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    combo = composer.engine
    entries = [(combo.itemText(i), combo.itemData(i)) for i in range(combo.count())]
    assert entries == [("Default engine", ""), ("Messages API", "messages"),
                       ("Claude Code", "claude-code")]
    assert combo.accessibleName() == "Agent engine"
    assert composer.options().engine is None  # honk.toml's [agent] engine decides


@pytest.mark.parametrize(("label", "engine"), [("Messages API", "messages"),
                                               ("Claude Code", "claude-code")])
def test_the_picked_engine_goes_with_the_request(qtbot: Any, label: str, engine: str) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.model.setCurrentIndex(composer.model.findData("claude-opus-4-5"))
    composer.engine.setCurrentIndex(composer.engine.findText(label))
    options = composer.options()
    assert (options.engine, options.model) == (engine, "claude-opus-4-5")


def test_the_engine_picker_folds_away_with_the_other_pickers(qtbot: Any) -> None:
    composer = Composer()
    qtbot.addWidget(composer)
    composer.show()
    assert composer.engine.isVisible()
    composer.set_folded(True)
    assert not composer.engine.isVisible()


async def test_claude_code_picked_without_its_sdk_says_the_install_command_in_the_window(
        harness_factory: Callable[[], Harness], configured: RepoWithRemote,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-never-sent-0123456789")
    monkeypatch.setattr("desktop.adapters.claude_code.sdk.sdk_installed", lambda: False)
    h = harness_factory()
    c = h.window.composer
    c.repo.setCurrentText(str(configured.path))
    c.request.setPlainText("Make the greeting Swedish")
    c.engine.setCurrentIndex(c.engine.findData("claude-code"))
    h.window.send_request()
    await wait_until(lambda: c.error.isVisible(), what="the composer's error")
    assert "claude-code" in c.error.text()
    assert "pip install 'honk-desktop[claude-code]'" in c.error.text()
    assert configured.git("worktree", "list").count("\n") == 0  # stopped before it started
    assert c.request.toPlainText() == "Make the greeting Swedish"  # kept, to send again
    await h.close()
