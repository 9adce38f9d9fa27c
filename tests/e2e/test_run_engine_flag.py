"""`honk run --engine messages|claude-code` overrides honk.toml's ``[agent] engine`` for one
run: the real CLI, the real claude-agent-sdk, against the scripted Messages API."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.sim.messages_claude_code import claude_edit_turn, read_turn
from desktop.sim.messages_script import text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import SWEDISH, configure, honk_toml
from tests.helpers.scripted_api import StartScripted, cli
from tests.helpers.sessions import GREETING_FILE, SWEDISH_GREETING, swedish_session


@pytest.mark.slow
def test_engine_claude_code_runs_claude_code_on_a_repo_that_did_not_choose_it(
        repo: RepoWithRemote, scripted: StartScripted, capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, honk_toml(SWEDISH))
    api = scripted([read_turn(GREETING_FILE),
                    claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=3),
                    text_turn("Done.")])

    code, lines, err = cli(capsys, "run", "Make the greeting Swedish", "--repo",
                           str(repo.path), "--json", "--engine", "claude-code")

    assert code == 0, err
    assert any(line["type"] == "edit_preview" for line in lines)
    assert [c["tool"] for c in lines if c["type"] == "tool_call"] == ["Read", "Edit"]
    assert lines[-1]["state"] == "awaiting_approval"
    assert (Path(str(lines[-1]["worktree"])) / GREETING_FILE).read_text() == SWEDISH_GREETING
    assert api.requests[0].headers["user-agent"].startswith("claude-cli/")


def test_engine_messages_runs_the_built_in_loop_on_a_repo_that_chose_claude_code(
        repo: RepoWithRemote, scripted: StartScripted, capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, honk_toml(SWEDISH, extra='[agent]\nengine = "claude-code"\n'))
    api = scripted(swedish_session())

    code, lines, err = cli(capsys, "run", "Make the greeting Swedish", "--repo",
                           str(repo.path), "--json", "--engine", "messages")

    assert code == 0, err
    assert lines[-1]["state"] == "awaiting_approval"
    assert not api.requests[0].headers["user-agent"].startswith("claude-cli/")


def test_engine_claude_code_without_the_sdk_stops_with_the_install_command(
        repo: RepoWithRemote, scripted: StartScripted, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    configure(repo, honk_toml(SWEDISH))
    scripted([])
    monkeypatch.setattr("desktop.adapters.claude_code.sdk.sdk_installed", lambda: False)

    code, _, out = cli(capsys, "run", "Make the greeting Swedish", "--repo", str(repo.path),
                       "--engine", "claude-code")

    assert code != 0
    assert "pip install 'honk-desktop[claude-code]'" in out
    assert repo.git("worktree", "list").count("\n") == 0


def test_an_unknown_engine_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli(capsys, "run", "x", "--engine", "gpt")
    assert exit_.value.code == 2
    assert "invalid choice: 'gpt'" in capsys.readouterr().err
