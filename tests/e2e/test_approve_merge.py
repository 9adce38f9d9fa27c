"""Approval and merge through the CLI: gates, void approvals, conflicts, idempotency and the
audit log, against a real bare remote and the scripted Messages API."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import edit_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import OK, configure, honk_toml
from tests.helpers.scripted_api import cli as honk
from tests.helpers.scripted_api import scripted_api


def config(*require: str) -> str:
    return honk_toml(OK, require=require or ("verified",))


def start_change(repo: RepoWithRemote, capsys: pytest.CaptureFixture[str],
                 *require: str) -> dict[str, object]:
    repo.git("config", "user.name", "Ada Approver")
    repo.git("config", "user.email", "ada@example.invalid")
    configure(repo, config(*require), push=True)
    code, lines, out = honk(capsys, "run", "Swedish greeting", "--repo", str(repo.path), "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "awaiting_approval"
    return lines[-1]


def remote_tip(repo: RepoWithRemote) -> str:
    return run_git(repo.remote, "rev-parse", "main")


def audit_records(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, _, out = honk(capsys, "audit", "export", "--json")
    assert code == 0
    doc = json.loads(out)
    return list(doc["records"])


def test_approve_fast_forwards_the_remote_to_exactly_the_approved_commit(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = start_change(repo, capsys)
    code, lines, out = honk(capsys, "approve", str(result["change"]), "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    assert remote_tip(repo) == result["commit"]
    merged = [x for x in lines if x["type"] == "merged"]
    assert merged[0]["method"] == "fast-forward"
    records = audit_records(capsys)
    actions = [r["action"] for r in records]
    assert actions == ["approved", "merged"]
    assert records[0]["commit_sha"] == result["commit"]
    assert "Ada Approver <ada@example.invalid>" in str(records[0]["actor"])
    code, _, out = honk(capsys, "audit", "verify")
    assert code == 0, out

    # A second approval (a double click) merges nothing more.
    code, _, _ = honk(capsys, "approve", str(result["change"]))
    assert code == 0
    assert remote_tip(repo) == result["commit"]
    assert [r["action"] for r in audit_records(capsys)] == ["approved", "merged"]


def test_unmet_gate_blocks_approval_until_an_override_with_a_reason(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = start_change(repo, capsys, "verified", "built")
    before = remote_tip(repo)
    code, _, out = honk(capsys, "approve", str(result["change"]))
    assert code == 2 and "built: no build of this commit exists" in out
    code, _, out = honk(capsys, "approve", str(result["change"]), "--override")
    assert code == 2 and "needs a reason" in out
    assert remote_tip(repo) == before
    code, _, out = honk(capsys, "approve", str(result["change"]), "--override", "--reason",
                        "hotfix, build server down")
    assert code == 0, out
    record = audit_records(capsys)[0]
    assert record["action"] == "override" and record["reason"] == "hotfix, build server down"


def test_a_new_commit_on_the_branch_voids_the_approval(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = start_change(repo, capsys)
    worktree = Path(str(result["worktree"]))
    (worktree / "sneaky.txt").write_text("not reviewed\n")
    run_git(worktree, "add", "sneaky.txt")
    run_git(worktree, "commit", "-q", "-m", "manual commit after the evidence")
    before = remote_tip(repo)
    code, _, out = honk(capsys, "approve", str(result["change"]))
    assert code == 2 and "branch moved" in out and "look at the change again" in out
    assert remote_tip(repo) == before


def test_conflict_names_the_files_and_pushes_nothing(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    result = start_change(repo, capsys)
    repo.write("app/greeting.py", 'GREETING = "Hallo"\n')
    repo.commit_all("someone else changed the greeting")
    repo.git("push", "-q", "origin", "main")
    before = remote_tip(repo)
    code, _lines, out = honk(capsys, "approve", str(result["change"]), "--json")
    assert code == 1
    assert "app/greeting.py" in out
    assert remote_tip(repo) == before
    actions = [r["action"] for r in audit_records(capsys)]
    assert actions == ["approved", "merge_failed"]


def test_tampered_audit_row_is_detected(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str],
        tmp_path: Path) -> None:
    result = start_change(repo, capsys)
    assert honk(capsys, "approve", str(result["change"]))[0] == 0
    db = sqlite3.connect(tmp_path / "honk-home" / "audit.sqlite3")
    triggers = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in triggers:  # an attacker with the file can drop the guards; the chain still tells
        db.execute(f"DROP TRIGGER {name}")
    db.execute("UPDATE audit SET request = 'French greeting' WHERE seq = 1")
    db.commit()
    db.close()
    code, _, out = honk(capsys, "audit", "verify")
    assert code == 1 and "record 1" in out and "altered" in out


def test_run_with_approve_is_the_scripted_flow(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI,
        capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, config(), push=True)
    code, lines, out = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json", "--approve")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    assert run_git(repo.remote, "show", "main:app/greeting.py") == 'GREETING = "Hej"'


def test_judge_veto_goes_back_to_the_agent_then_approval_carries_the_verdict(
        repo: RepoWithRemote, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.sim.messages_routing import Route, route_by
    from desktop.sim.messages_script import tool_turn

    veto = {"verdict": "veto", "summary": "The title changed too.", "flags": ["out_of_scope"],
            "reasons": [{"file": "app/greeting.py", "where": "+1", "text": "not asked for"}]}
    approve = {"verdict": "approve", "summary": "Only the greeting changed.", "reasons": [],
               "flags": []}
    scripts = {
        "judge": [tool_turn("submit_verdict", veto), tool_turn("submit_verdict", approve)],
        "agent": [edit_turn("app/greeting.py", '"Hello"', '"Hej!"'), text_turn("Done."),
                  edit_turn("app/greeting.py", '"Hej!"', '"Hej"'), text_turn("Scoped down.")],
    }
    router = route_by([Route(key="judge", tool="submit_verdict"), Route(key="agent")])
    repo.git("config", "user.name", "Ada Approver")
    repo.git("config", "user.email", "ada@example.invalid")
    configure(repo, honk_toml(OK, judge=True, require=["verified", "judged"]), push=True)
    with scripted_api(monkeypatch, scripts, router) as server:
        code, lines, out = honk(capsys, "run", "Swedish greeting", "--repo", str(repo.path),
                                "--json", "--approve")
        assert code == 0, out
        verdicts = [x["verdict"] for x in lines if x["type"] == "judge_verdict"]
        assert verdicts == ["veto", "approve"]
        # The veto's reasons reached the agent as its next prompt.
        second_agent = server.message_requests("agent")[2].body["messages"]
        assert "not asked for" in json.dumps(second_agent)
    assert lines[-1]["state"] == "merged"
    assert run_git(repo.remote, "show", "main:app/greeting.py") == 'GREETING = "Hej"'
    record = audit_records(capsys)[0]
    assert str(record["judge_verdict"]).startswith("approve: Only the greeting changed.")
