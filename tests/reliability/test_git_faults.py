"""Git faults at approval: the remote is unreachable, then comes back. (A rejected push is
covered in tests/adapters/test_git_merge.py.)"""

from __future__ import annotations

import json

import pytest

from desktop.cli.main import main
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import OK, configure, honk_toml
from tests.helpers.scripted_api import cli as honk


def test_unreachable_remote_keeps_the_change_and_approving_again_merges_once(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, honk_toml(OK, require=["verified"]), push=True)
    code, lines, err = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
    assert code == 0, err
    change, commit = str(lines[-1]["change"]), str(lines[-1]["commit"])
    before = run_git(repo.remote, "rev-parse", "main")

    away = repo.remote.with_name("remote-away.git")
    repo.remote.rename(away)  # the server is down
    code, lines, err = honk(capsys, "approve", change, "--json")
    assert code == 1
    assert "merge failed" in err and "cannot be reached" in err and "Nothing was pushed" in err
    code, shown, _ = honk(capsys, "show", change, "--json")
    assert shown[0]["state"] == "awaiting_approval"  # kept: nothing is wrong with the change
    assert shown[0]["commit"] == commit

    away.rename(repo.remote)  # back up
    assert run_git(repo.remote, "rev-parse", "main") == before
    code, lines, err = honk(capsys, "approve", change, "--json")
    assert code == 0, err
    assert lines[-1]["state"] == "merged"
    assert run_git(repo.remote, "rev-parse", "main") == commit
    log = run_git(repo.remote, "log", "--format=%B", "main")
    assert log.count(f"Honk-Change: {change}") == 1
    code, _, _ = honk(capsys, "approve", change)  # and again: nothing more is merged
    assert code == 0 and run_git(repo.remote, "rev-parse", "main") == commit
    assert main(["audit", "export", "--json"]) == 0
    records = json.loads(capsys.readouterr().out)["records"]
    assert [r["action"] for r in records] == ["approved", "merge_failed", "approved", "merged"]
