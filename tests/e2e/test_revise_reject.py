"""Follow-ups and rejection of an existing change, through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.scripted_api import StartScripted
from tests.helpers.scripted_api import cli as honk
from tests.helpers.sessions import doubled_follow_up, swedish_session


@pytest.fixture
def api(scripted: StartScripted, repo: RepoWithRemote) -> ScriptedMessagesAPI:
    """The Swedish session, then one revision of it; the judge off."""
    configure(repo, JUDGE_OFF)
    return scripted(swedish_session() + doubled_follow_up())


def test_revise_continues_the_same_branch_with_the_follow_up(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
    assert code == 0, err
    first = lines[-1]
    code, lines, err = honk(capsys, "revise", str(first["change"]), "say it twice", "--json")
    assert code == 0, err
    second = lines[-1]
    assert second["change"] == first["change"] and second["branch"] == first["branch"]
    assert second["commit"] != first["commit"]
    assert repo.git("rev-parse", f"{second['commit']}~1") == first["commit"]
    prompt = api.requests[2].body["messages"][0]["content"]
    assert "say it twice" in prompt and '+GREETING = "Hej"' in prompt
    assert any(x["type"] == "revision_requested" for x in lines)


def test_empty_follow_up_is_refused(repo: RepoWithRemote, api: ScriptedMessagesAPI,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
    assert code == 0
    code, _, err = honk(capsys, "revise", str(lines[-1]["change"]), "  ")
    assert code == 2 and "empty" in err


def test_reject_removes_worktree_and_branch_but_keeps_the_journal(
        repo: RepoWithRemote, api: ScriptedMessagesAPI, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _ = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
    assert code == 0
    result = lines[-1]
    code, _, err = honk(capsys, "reject", str(result["change"]), "--reason", "wrong approach")
    assert code == 0, err
    assert not Path(str(result["worktree"])).exists()
    assert repo.git("branch", "--list", str(result["branch"])) == ""
    code, shown, _ = honk(capsys, "show", str(result["change"]), "--json")
    assert shown[0]["state"] == "rejected" and shown[0]["reason"] == "wrong approach"
    code, _, err = honk(capsys, "approve", str(result["change"]))
    assert code == 2 and "rejected" in err
