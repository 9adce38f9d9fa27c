"""`honk slack` when things go wrong: Socket Mode reconnects, Slack API faults, refusals to
start, and the process killed or stopped mid-change; tokens never leak anywhere.

`honk slack` runs as a real subprocess against the loopback Slack and real git.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.honk_toml import SWEDISH, Verifier, honk_toml
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
)

# Long enough to stop the process while it runs, short enough to run again after.
SLOW = Verifier("slow-suite", ["python3", "-c", "import time; time.sleep(1.5)"])


def sockets_opened(desk: SlackDesk) -> int:
    return len([c for c in desk.phone.calls("websocket") if c.status == 101])


def verifying_change(desk: SlackDesk) -> tuple[str, str, str]:
    """Start the desk, request a change and wait until it verifies (SLOW): its id, thread
    and status message."""
    desk.start()
    desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
    change = desk.change_id()
    thread_ts, status_ts = desk.thread(change)
    desk.wait(lambda: desk.line("stage_started", change=change, stage="verify"), 30,
              "the verify stage")
    return change, thread_ts, status_ts


def quiet_count(count: Callable[[], int], quiet: float, timeout: float) -> int:
    """``count()`` once it has stayed the same for ``quiet`` seconds; fails if it keeps
    changing for ``timeout`` seconds (a retry loop)."""
    deadline = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        assert time.monotonic() < deadline, f"still changing after {timeout} s: {last}"
        time.sleep(0.1)
        if (now := count()) != last:
            last, since = now, time.monotonic()
    return last


def assert_no_tokens(desk: SlackDesk, *changes: str) -> None:
    tokens = (desk.phone.bot_token, desk.phone.app_token)
    seen = {"stdout": "".join(desk.stdout), "stderr": "".join(desk.stderr),
            "model requests": json.dumps([r.body for r in desk.api.requests])}
    for change in changes:
        seen[f"honk show {change}"] = desk.honk("show", change, "--json").stdout
    seen["honk audit export"] = desk.honk("audit", "export", "--json").stdout
    seen["the threads"] = json.dumps([m.text for m in desk.phone.messages(CHANNEL)]
                                     + [e.text for e in desk.phone.ephemerals(APPROVER)])
    for where, text in seen.items():
        for token in tokens:
            assert token not in text, f"a Slack token leaked into {where}"
        assert "xoxb-" not in text and "xapp-" not in text, where


def test_reconnects_after_a_disconnect_and_a_dropped_socket_and_keeps_serving(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        assert sockets_opened(desk) == 1

        desk.phone.send_disconnect()
        desk.wait(lambda: sockets_opened(desk) == 2 and desk.phone.open_sockets() == 1, 15,
                  "the reconnect after disconnect")
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, _ = desk.thread(change)
        approval = desk.approval(thread_ts)

        desk.phone.drop_socket()
        desk.wait(lambda: sockets_opened(desk) == 3 and desk.phone.open_sockets() == 1, 30,
                  "the reconnect after a dropped socket")
        desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")

        # Each connection came from its own apps.connections.open URL (they work once).
        tickets = [c.params["ticket"] for c in desk.phone.calls("websocket")]
        assert len(tickets) == len(set(tickets)) >= 3
        assert len(desk.phone.calls("apps.connections.open")) >= 3
        states = [line["state"] for line in desk.all_lines("slack_status")]
        assert states.count("connected") >= 3 and "reconnecting" in states


def test_slack_api_faults_are_waited_out_retried_or_reported_and_the_change_completes(
        tmp_path: Path) -> None:
    # The build prints its whole environment: the Slack tokens must not be in it.
    dump_env = ("import os; print('env-dump:', sorted(os.environ.items())); "
                "os.makedirs('build', exist_ok=True); open('build/app.bin', 'wb').write(b'x')")
    build = (f"[build]\ncommand = {json.dumps(['python3', '-c', dump_env])}\n"
             'artifact = "build/*.bin"\n')
    with slack_desk(tmp_path, SCRIPT, toml_extra=build) as desk:
        desk.start()
        desk.phone.rate_limit("chat.postMessage", times=1, retry_after=1)
        desk.phone.server_error("chat.update", times=1)
        desk.phone.fail("chat.update", "channel_not_found")
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, _ = desk.thread(change)
        approval = desk.approval(thread_ts)

        # 429: waited out (Retry-After: 1), then posted.
        posts = desk.phone.calls("chat.postMessage")
        assert [c.status for c in posts[:2]] == [429, 200]
        assert posts[1].at - posts[0].at >= 0.9
        # 5xx: retried; the retry's ok:false is shown as a problem and in the journal.
        updates = desk.phone.calls("chat.update")
        assert updates[0].status == 500 and updates[1].params == updates[0].params
        problem = desk.wait(lambda: desk.line("slack_problem"), 10, "a slack_problem line")
        assert "chat.update" in problem["message"] and "channel_not_found" in problem["message"]
        notices = [e for e in desk.show(change)["events"] if e["type"] == "notice"]
        assert any("channel_not_found" in str(e["message"]) for e in notices)

        # None of it failed the change: later updates land and it merges.
        desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        desk.wait(lambda: "merged" in (desk.status() or approval).text, 10, "status merged")
        assert desk.show(change)["state"] == "merged"
        desk.stop()
        assert any("env-dump:" in line and "PATH" in line for line in desk.stdout)
        assert_no_tokens(desk, change)


@pytest.mark.slow
def test_a_status_message_slack_keeps_refusing_is_reported_not_retried_in_a_loop(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT) as desk:
        desk.start()
        desk.phone.fail("chat.update", "message_not_found", times=1000)  # it was deleted
        desk.phone.slash_command(REQUESTER, CHANNEL, REQUEST)
        change = desk.change_id()
        thread_ts, _ = desk.thread(change)
        desk.approval(thread_ts)
        desk.wait(lambda: desk.phone.files(CHANNEL, thread_ts), 10, "the patch upload")
        # Each attempt may follow news (the approval reply, the journal poll's 2 s), but
        # then it stops: no retry once a second for as long as Slack refuses. Wait for a
        # quiet spell rather than a fixed time: a late poll can add one more attempt.
        tried = quiet_count(lambda: len(desk.phone.calls("chat.update")), 3.5, timeout=20)
        time.sleep(3.5)
        assert len(desk.phone.calls("chat.update")) == tried <= 6
        problems = desk.all_lines("slack_problem")
        assert len(problems) == 1, problems
        assert all("message_not_found" in p["message"] for p in problems)
        assert desk.show(change)["state"] == "awaiting_approval"


def test_honk_slack_refuses_to_start_without_approvers_tokens_or_the_app_to_itself(
        tmp_path: Path) -> None:
    unserved = extra_repo(tmp_path / "plain", honk_toml(SWEDISH, require=["verified"]))
    with slack_desk(tmp_path, SCRIPT) as desk:
        proc = desk.launch(repos=[f"a={desk.repo.path}", f"plain={unserved.path}"])
        assert proc.wait(timeout=30) == 2
        refused = "".join(desk.stderr)
        assert str(unserved.path) in refused and "plain" in refused
        assert "[slack] approvers" in refused
        desk.stop()

        for variable, key in (("SLACK_BOT_TOKEN", "slack-bot"), ("SLACK_APP_TOKEN", "slack-app")):
            env = {k: v for k, v in desk.env.items() if k != variable}
            desk.stderr.clear()
            proc = desk.launch(env=env)
            assert proc.wait(timeout=30) == 2
            desk.stop()
            assert f"honk key set {key}" in "".join(desk.stderr)

        # A token Slack refuses: said (without the token), exit 2.
        wrong = "xoxb-1-wrong-bot-token-0123456789"
        desk.stderr.clear()
        proc = desk.launch(env={**desk.env, "SLACK_BOT_TOKEN": wrong})
        assert proc.wait(timeout=30) == 2
        desk.stop()
        assert "invalid_auth" in "".join(desk.stderr)
        assert wrong not in "".join(desk.stderr) + "".join(desk.stdout)

        # One server per Slack app: a second `honk slack` for it refuses while one runs.
        desk.start()
        desk.stderr.clear()
        first = desk.proc
        second = desk.launch()
        assert second.wait(timeout=30) == 2
        desk.stop()
        assert "already being served" in "".join(desk.stderr)
        assert first is not None and first.poll() is None
        desk.proc = first
        assert desk.stop()[0] == 0
        assert desk.phone.calls("chat.postMessage") == []


@pytest.mark.slow
def test_killed_mid_change_the_next_start_resumes_it_in_the_same_thread(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT, verifiers=(SWEDISH, SLOW)) as desk:
        change, thread_ts, status_ts = verifying_change(desk)
        desk.stop(signal.SIGKILL)

        desk.start()
        approval = desk.approval(thread_ts)
        assert len(desk.all_lines("change_created")) == 1  # resumed, not started again
        assert desk.line("notice", current=True, change=change) is not None
        value = json.loads(desk.buttons(approval)["honk_approve"])
        assert value["change"] == change
        status = desk.status()
        assert status is not None and status.ts == status_ts
        assert "awaiting approval" in status.text
        assert len(desk.phone.messages(CHANNEL)) == 1

        desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
        assert desk.remote_main() == value["commit"]
        history = desk.honk("history", "--json").stdout.splitlines()
        assert len(history) == 1
        desk.stop()
        assert_no_tokens(desk, change)


@pytest.mark.slow
def test_sigterm_mid_change_leaves_it_interrupted_and_the_next_start_resumes_it(
        tmp_path: Path) -> None:
    with slack_desk(tmp_path, SCRIPT, verifiers=(SWEDISH, SLOW)) as desk:
        change, thread_ts, status_ts = verifying_change(desk)
        code, _stderr = desk.stop(signal.SIGTERM)
        assert code == 0
        shown = desk.show(change)
        assert shown["state"] == "interrupted"
        finished = [e for e in shown["events"] if e["type"] == "change_finished"]
        assert [e["state"] for e in finished] == ["interrupted"]
        # The thread says so before the process goes.
        status = desk.status()
        assert status is not None and "interrupted" in status.text
        assert desk.reply_with(thread_ts, f"Change {change} is interrupted") is not None

        desk.start()
        approval = desk.approval(thread_ts)
        assert json.loads(desk.buttons(approval)["honk_approve"])["change"] == change
        assert len(desk.all_lines("change_created")) == 1
        status = desk.status()
        assert status is not None and status.ts == status_ts
        desk.click(STRANGER, approval, "honk_approve")
        desk.ephemeral(STRANGER, "only an approver")
        desk.click(APPROVER, approval, "honk_approve")
        desk.wait(lambda: desk.reply_with(thread_ts, "Merged"), 30, "merged")
