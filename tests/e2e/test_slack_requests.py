"""`honk slack` from the phone's side: a request by slash command, mention or direct message
becomes a change whose thread is kept current, and bad requests get a private answer.

Every test runs `honk slack` as a real subprocess against the loopback Slack (the real
slack_sdk over real HTTP and a real WebSocket), the scripted Messages API and real git.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
from pathlib import Path

from desktop.sim.messages_script import edit_turn, text_turn
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

ACK_WITHIN_S = 3.0  # Slack redelivers what is not acknowledged within 3 s


def assert_acked(desk: SlackDesk, *envelopes: str) -> None:
    for envelope in envelopes:
        ack = desk.acked(envelope)
        assert ack.latency is not None and ack.latency < ACK_WITHIN_S, ack


def update_gaps(desk: SlackDesk, ts: str) -> list[float]:
    """Seconds between consecutive chat.update calls on the message ``ts``."""
    times = [c.at for c in desk.phone.calls("chat.update") if c.params.get("ts") == ts]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def committed_diff(desk: SlackDesk, base: str, commit: str) -> bytes:
    return subprocess.run(["git", "diff", "--no-color", "--no-ext-diff", f"{base}..{commit}"],
                          cwd=desk.repo.path, capture_output=True, check=True).stdout


def test_slash_command_runs_a_change_to_approval_and_approve_merges_it(tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        asked = desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, status_ts = desk.thread(change)
        assert thread_ts == status_ts  # a slash command's status message starts the thread

        approval = desk.approval(thread_ts)
        desk.wait(lambda: desk.phone.files(CHANNEL, thread_ts), 10, "the patch upload")
        created = desk.line("change_created", change=change)
        committed = desk.line("committed", change=change)
        assert created is not None and committed is not None
        commit = committed["commit"]

        # The status message names the change, the repo and the request, and was kept
        # current by editing it: at most about one edit a second.
        status = desk.status()
        assert status is not None and status.ts == status_ts
        shown = status.blocks[0]["text"]["text"] if status.blocks else ""
        assert change in shown and "*repo*" in shown and REQUEST in shown
        assert "awaiting approval" in shown and "✅ verify" in shown and "✅ commit" in shown
        assert status.edits >= 2
        assert len([c for c in desk.phone.calls("chat.update")
                    if c.params.get("ts") == status_ts]) == status.edits
        assert all(gap >= 0.8 for gap in update_gaps(desk, status_ts)), update_gaps(
            desk, status_ts)

        # The approval reply: diff stat, verifier results, commit, cost, bound buttons.
        text = approval.blocks[0]["text"]["text"] if approval.blocks else ""
        assert "*Diff:* 1 file(s), +1 −1" in text and "`app/greeting.py` +1 −1" in text
        assert "✅ greeting-is-swedish" in text
        assert f"*Commit:* `{commit}`" in text
        assert re.search(r"\*Cost:\* \$0\.\d{4}", text), text
        buttons = desk.buttons(approval)
        assert set(buttons) == {"honk_approve", "honk_reject"}
        for value in buttons.values():
            assert json.loads(value) == {"change": change, "commit": commit,
                                         "artifact_sha256": ""}

        # The full patch, uploaded into the thread, is exactly what an approval merges.
        patches = [f for f in desk.phone.files(CHANNEL, thread_ts) if f.name.endswith(".patch")]
        assert len(patches) == 1
        assert patches[0].data == committed_diff(desk, created["base_commit"], commit)
        assert b'+GREETING = "Hej"' in patches[0].data

        before = desk.remote_main()
        pressed = desk.click(APPROVER, approval, "honk_approve")
        merged_reply = desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        merged = desk.line("merged", change=change)
        assert merged is not None and merged["commit"] == commit
        assert merged["merged_commit"] in merged_reply.text
        assert desk.remote_main() == merged["merged_commit"] != before
        desk.wait(lambda: "merged" in (desk.status() or status).text, 10, "status merged")
        assert_acked(desk, asked, pressed)
        assert all(gap >= 0.8 for gap in update_gaps(desk, status_ts))

        code, _stderr = desk.stop()
        assert code == 0
        records = [r for r in desk.audit() if r["change_id"] == change]
        assert [r["action"] for r in records] == ["approved", "merged"]
        assert {r["actor"] for r in records} == {f"slack:{APPROVER} (ana)"}
        assert records[0]["commit_sha"] == commit


def test_a_mention_is_answered_in_its_own_thread(tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        asked = desk.phone.mention(REQUESTER, CHANNEL, REQUEST)
        mention_ts = desk.phone.envelope(asked)["payload"]["event"]["ts"]
        change = desk.change_id()
        thread_ts, status_ts = desk.thread(change)
        assert thread_ts == mention_ts != status_ts

        approval = desk.approval(mention_ts)
        replies = desk.replies(mention_ts)
        assert replies[0].ts == status_ts and change in replies[0].text
        assert "awaiting approval" in replies[0].text and replies[0].edits >= 1
        assert desk.phone.messages(CHANNEL) == []  # nothing of Honk's at the top level
        desk.wait(lambda: any(f.name.endswith(".patch")
                              for f in desk.phone.files(CHANNEL, mention_ts)), 10, "patch")

        pressed = desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(mention_ts, "Merged"), 30, "merged")
        assert_acked(desk, asked, pressed)


def test_a_direct_message_is_a_request_and_its_text_pings_nobody(tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        asked = desk.phone.direct_message(REQUESTER, f"{REQUEST} <!channel> <https://x.test|y>")
        dm = desk.phone.im_channel(REQUESTER)
        change = desk.change_id()
        thread_ts, status_ts = desk.thread(change)
        assert thread_ts == status_ts
        approval = desk.approval(thread_ts, dm)
        assert change in (desk.status(dm) or approval).text
        assert json.loads(desk.buttons(approval)["honk_approve"])["change"] == change
        assert_acked(desk, asked)
        # What the person wrote is shown as written: no @channel ping, no link in Honk's name.
        posted = [str(c.params.get("text")) + str(c.params.get("blocks"))
                  for c in desk.phone.calls("chat.postMessage")]
        posted += [str(c.params.get("blocks")) for c in desk.phone.calls("chat.update")]
        assert not any("<!channel>" in p or "<https://x.test" in p for p in posted)
        assert any("&lt;!channel&gt;" in p for p in posted)


def test_a_failed_stage_is_reported_with_its_reason_and_log(tmp_path: Path) -> None:
    failing_build = ("import sys; print('compiling greeting'); "
                     "print('error: greeting.py:1: Hej is not a word here'); sys.exit(3)")
    build = (f"[build]\ncommand = {json.dumps(['python3', '-c', failing_build])}\n"
             'artifact = "build/*.bin"\n')
    # A failed build goes back to the agent once; its second try fails the same way.
    script = [*SCRIPT, edit_turn("app/greeting.py", '"Hej"', '"Hej!"'), text_turn("Retried.")]
    with slack_desk(tmp_path, script, toml_extra=build) as desk:
        desk.start()
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, _status_ts = desk.thread(change)
        failed = desk.wait(lambda: desk.reply_with(thread_ts, "failed"), 30, "failure reply")
        assert failed.text.startswith("❌ build failed:"), failed.text
        assert "exit code 3" in failed.text
        assert "error: greeting.py:1: Hej is not a word here" in failed.text
        assert "compiling greeting" in failed.text
        desk.wait(lambda: "failed" in (desk.status() or failed).text, 10, "status failed")
        status = desk.status()
        assert status is not None and "*Why:*" in str(status.blocks)
        assert desk.reply_with(thread_ts, "ready for approval") is None


def test_bad_requests_get_a_private_answer_and_change_nothing(tmp_path: Path) -> None:
    only_here = extra_repo(tmp_path / "b", honk_toml(SWEDISH, require=["verified"], extra=(
        slack_toml(extra=f'channels = ["{CHANNEL}"]'))))
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start(repos=[f"a={desk.repo.path}", f"b={only_here.path}"])
        phone = desk.phone
        envelopes = [
            phone.slash_command(REQUESTER, CHANNEL, ""),
            phone.slash_command(REQUESTER, CHANNEL, "a:"),
            phone.slash_command(REQUESTER, CHANNEL, "c: make the title blue"),
            phone.slash_command(REQUESTER, CHANNEL, "make the title blue"),
            phone.slash_command(STRANGER, CHANNEL, "a: make the title blue"),
            phone.mention(STRANGER, CHANNEL, "a: make the title blue"),
            phone.slash_command(REQUESTER, "C0ELSEWHERE", "b: make the title blue"),
            phone.direct_message(APPROVER, "b: make the title blue"),
        ]
        assert "empty" in desk.ephemeral(REQUESTER, "empty request").text
        unknown = desk.ephemeral(REQUESTER, "unknown repo 'c'")
        assert "a, b" in unknown.text
        assert "a, b" in desk.ephemeral(REQUESTER, "which repo?").text
        refused = desk.ephemeral(STRANGER, "not a requester of a")
        assert STRANGER in refused.text
        desk.wait(lambda: len([e for e in phone.ephemerals(STRANGER)
                               if "not a requester" in e.text]) == 2, 10, "both refused")
        assert f"<#{CHANNEL}>" in desk.ephemeral(REQUESTER, "takes requests only in").text
        desk.ephemeral(APPROVER, "takes requests only in")
        assert len([e for e in phone.ephemerals(REQUESTER)
                    if "empty request" in e.text]) == 2
        assert_acked(desk, *envelopes)

        # Nothing changed: no change, no thread, no model call, nothing posted.
        assert desk.line("change_created") is None
        history = desk.honk("history", "--json")
        assert history.returncode == 0 and history.stdout.strip() == ""
        assert desk.api.requests == []
        for channel in (CHANNEL, "C0ELSEWHERE", phone.im_channel(APPROVER)):
            assert phone.messages(channel) == []
        assert phone.calls("chat.postMessage") == []
