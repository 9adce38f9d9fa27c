"""`honk slack` at approval: the build in the thread, Approve bound to the commit shown,
Reject, revising from the thread, who may press what, and each press counted once.

`honk slack` runs as a real subprocess against the loopback Slack and real git.
"""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path

from desktop.sim.messages_script import edit_turn, text_turn
from desktop.sim.slack import SlackFile
from tests.helpers.honk_toml import SWEDISH, honk_toml
from tests.helpers.slack_desk import (
    APPROVER,
    CHANNEL,
    REQUEST,
    REQUESTER,
    SCRIPT,
    STRANGER,
    SlackDesk,
    extra_repo,
    slack_desk,
    slack_toml,
)

# A build that writes a 3000-byte artifact, and "this computer" as the test device.
BUILD_SCRIPT = ("import os; os.makedirs('build', exist_ok=True); "
                "open('build/app.bin', 'wb').write(bytes(range(250)) * 12)")
INSTALL = ["python3", "-c", "import sys, os; os.stat(sys.argv[1])", "{artifact}"]
BUILD_AND_DEVICE = (
    f"[build]\ncommand = {json.dumps(['python3', '-c', BUILD_SCRIPT])}\n"
    'artifact = "build/*.bin"\n\n'
    f'[device]\nkind = "local"\ninstall = {json.dumps(INSTALL)}\n')


def files_named(desk: SlackDesk, thread_ts: str, name: str) -> list[SlackFile]:
    return [f for f in desk.phone.files(CHANNEL, thread_ts) if f.name == name]


def events_of(desk: SlackDesk, change: str, kind: str) -> list[dict[str, object]]:
    return [e for e in desk.show(change)["events"] if e["type"] == kind]


def test_the_build_is_uploaded_when_it_fits_and_only_then(tmp_path: Path) -> None:
    def served(name: str, slack_keys: str) -> str:
        toml = honk_toml(SWEDISH, require=["verified"],
                         extra=BUILD_AND_DEVICE + "\n" + slack_toml(extra=slack_keys))
        return f"{name}={extra_repo(tmp_path / name, toml).path}"

    tight = served("b", "max_upload_mb = 0.001")  # 1048 bytes: the build does not fit
    off = served("c", "upload_artifact = false")
    with slack_desk(tmp_path, SCRIPT * 3, toml_extra=BUILD_AND_DEVICE) as desk:
        desk.start(repos=[f"a={desk.repo.path}", tight, off])
        shown: dict[str, tuple[str, str]] = {}
        for name in ("a", "b", "c"):
            desk.phone.slash_command(REQUESTER, CHANNEL, f"{name}: {REQUEST}")
            change = desk.wait(lambda: next(
                (line["change"] for line in desk.all_lines("change_created")
                 if line["change"] not in shown), None), 30, "change_created")
            thread_ts, _ = desk.thread(change)
            shown[change] = (name, thread_ts)
            desk.approval(thread_ts)
            desk.wait(partial(desk.phone.files, CHANNEL, thread_ts), 10, "the patch upload")

        for change, (name, thread_ts) in shown.items():
            files = partial(desk.phone.files, CHANNEL, thread_ts)
            built = desk.line("artifact_built", change=change)
            assert built is not None and built["size"] == 3000
            data = Path(built["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == built["sha256"]
            approval = desk.approval(thread_ts)
            text = approval.blocks[0]["text"]["text"] if approval.blocks else ""
            assert f"*Build:* `{built['sha256']}`" in text
            assert "*Installed on:* this computer" in text
            value = json.loads(desk.buttons(approval)["honk_approve"])
            assert value["artifact_sha256"] == built["sha256"]
            if name == "a":
                builds = desk.wait(partial(files_named, desk, thread_ts, "app.bin"), 10,
                                   "the build upload")
                assert [f.data for f in builds] == [data]
            elif name == "b":
                over = desk.wait(partial(desk.reply_with, thread_ts, "max_upload_mb"), 10,
                                 "the too-big note")
                assert "0.001" in over.text
            if name != "a":
                names = [f.name for f in files()]
                assert names and all(n.endswith(".patch") for n in names), names
        assert desk.reply_with(next(t for n, t in shown.values() if n == "c"),
                               "max_upload_mb") is None


def test_approval_is_bound_to_the_commit_shown_and_a_thread_reply_revises(
        tmp_path: Path) -> None:
    script = [*SCRIPT, edit_turn("app/greeting.py", '"Hej"', '"Hej hej"'), text_turn("Done.")]
    with slack_desk(tmp_path, script) as desk:
        desk.start()
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, status_ts = desk.thread(change)
        first = desk.approval(thread_ts)
        first_commit = json.loads(desk.buttons(first)["honk_approve"])["commit"]
        before = desk.remote_main()

        # Someone who may not ask gets a private no; the change does not move.
        desk.phone.thread_reply(STRANGER, CHANNEL, thread_ts, "Make it French")
        desk.ephemeral(STRANGER, "only the repo's requesters and approvers")

        # The requester answers in the thread: the change goes round again, same thread.
        desk.phone.thread_reply(REQUESTER, CHANNEL, thread_ts, "Make it a warmer hello")
        desk.wait(lambda: desk.reply_with(thread_ts, "Revising: Make it a warmer hello"), 10,
                  "the revising note")
        second = desk.approval(thread_ts, nth=2)
        second_commit = json.loads(desk.buttons(second)["honk_approve"])["commit"]
        assert second_commit != first_commit
        assert [e["message"] for e in events_of(desk, change, "revision_requested")] == [
            "Make it a warmer hello"]
        assert len(desk.all_lines("change_created")) == 1
        status = desk.status()
        assert status is not None and status.ts == status_ts

        # The old button names the old commit: refused, the new one named, nothing merged.
        desk.click(APPROVER, first, "honk_approve")
        refused = desk.ephemeral(APPROVER, "approval refused")
        assert second_commit in refused.text and "Nothing was merged" in refused.text
        note = desk.wait(lambda: desk.reply_with(thread_ts, "refused"), 10, "refusal note")
        assert second_commit in note.text
        assert desk.remote_main() == before
        assert events_of(desk, change, "approved") == []

        desk.click(APPROVER, second, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        assert desk.remote_main() == second_commit
        assert desk.repo.git("show", f"{second_commit}:app/greeting.py") == \
            'GREETING = "Hej hej"'


def test_reject_removes_the_worktree_and_branch_and_says_so(tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        created = desk.line("change_created", change=change)
        assert created is not None
        thread_ts, _ = desk.thread(change)
        approval = desk.approval(thread_ts)
        assert Path(created["worktree"]).is_dir()
        before = desk.remote_main()

        desk.click(APPROVER, approval, "honk_reject")
        said = desk.wait(lambda: desk.reply_with(thread_ts, "Rejected"), 30, "rejected")
        assert said.text == ("🗑 Rejected: worktree and branch removed (rejected in Slack by "
                             f"slack:{APPROVER} (ana))")
        assert not Path(created["worktree"]).exists()
        assert desk.repo.git("branch", "--list", created["branch"]) == ""
        assert desk.show(change)["state"] == "rejected"
        desk.wait(lambda: "rejected" in (desk.status() or said).text, 10, "status rejected")
        records = [r for r in desk.audit() if r["change_id"] == change]
        assert [(r["action"], r["actor"]) for r in records] == [
            ("rejected", f"slack:{APPROVER} (ana)")]

        # Its buttons now change nothing; the thread heard of it once.
        desk.click(APPROVER, approval, "honk_approve")
        desk.ephemeral(APPROVER, f"change {change} is already rejected")
        assert desk.remote_main() == before
        assert len(desk.replies_with(thread_ts, "Rejected")) == 1


def test_only_an_approver_approves_and_every_press_or_request_counts_once(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        asked = desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        # Slack sends it again: the same envelope, then under a new envelope id.
        again = desk.phone.redeliver(asked, reason="timeout")
        desk.phone.redeliver(asked, reason="timeout", new_envelope_id=True)
        assert again == asked
        change = desk.change_id()
        thread_ts, _ = desk.thread(change)
        approval = desk.approval(thread_ts)
        assert desk.phone.envelope(asked)["retry_attempt"] == 1
        assert len(desk.all_lines("change_created")) == 1
        assert len(desk.phone.messages(CHANNEL)) == 1  # one status message
        assert len([c for c in desk.api.requests if c.path == "/v1/messages"]) == len(SCRIPT)
        before = desk.remote_main()

        # A requester is not an approver: refused in private, journalled, nothing merged.
        desk.click(REQUESTER, approval, "honk_approve")
        desk.ephemeral(REQUESTER, "only an approver of repo may approve")
        refusals = events_of(desk, change, "slack_refused")
        assert [(e["user"], e["action"]) for e in refusals] == [(REQUESTER, "approve")]
        assert desk.remote_main() == before

        # Two presses (a double tap) and a redelivery of the first: one merge.
        pressed = desk.click(APPROVER, approval, "honk_approve")
        desk.click(APPROVER, approval, "honk_approve")
        desk.phone.redeliver(pressed, reason="timeout")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        desk.wait(lambda: desk.show(change)["state"] == "merged", 10, "merged state")
        assert len(events_of(desk, change, "merged")) == 1
        assert len(events_of(desk, change, "approved")) == 1
        assert len(desk.replies_with(thread_ts, "Merged")) == 1

        # A merged change's button, and one for a change nobody knows, change nothing.
        desk.click(APPROVER, approval, "honk_approve")
        desk.ephemeral(APPROVER, f"change {change} is already merged")
        forged = json.dumps({"change": "0badc0de", "commit": "0" * 40, "artifact_sha256": ""})
        desk.click(APPROVER, approval, "honk_approve", forged)
        desk.ephemeral(APPROVER, "Honk knows no change '0badc0de'")
        assert len(events_of(desk, change, "merged")) == 1
        merged = [r for r in desk.audit() if r["action"] == "merged"]
        assert len(merged) == 1


def test_a_merge_that_cannot_reach_the_remote_is_said_and_approve_works_again(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, _ = desk.thread(change)
        approval = desk.approval(thread_ts)
        commit = json.loads(desk.buttons(approval)["honk_approve"])["commit"]
        away = desk.repo.remote.with_name("moved-away.git")
        desk.repo.remote.rename(away)
        try:
            desk.click(APPROVER, approval, "honk_approve")
            failed = desk.wait(lambda: desk.reply_with(thread_ts, "Merge failed"), 30,
                               "the merge failure")
            assert "nothing was merged" in failed.text and "press Approve again" in failed.text
            desk.wait(lambda: desk.show(change)["state"] == "awaiting_approval", 10,
                      "awaiting approval again")
        finally:
            away.rename(desk.repo.remote)
        desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        assert desk.remote_main() == commit
        actions = [r["action"] for r in desk.audit() if r["change_id"] == change]
        assert actions == ["approved", "merge_failed", "approved", "merged"]
