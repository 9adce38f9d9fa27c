"""Messages API faults end to end through `honk run` (real SDK, scripted server on loopback).

tests/test_run_e2e.py already covers a connection reset mid-stream, 429 + 529 retried and a
persistent 529; here are the rest. Each scripted fault carries the edit, so a retry that
re-applied a half-received turn would show up as a second `edit_applied` or a doubled text.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import (
    HttpError,
    Turn,
    edit_turn,
    rate_limited,
    server_error,
    text_turn,
    tool_turn,
)
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import SWEDISH, configure, honk_toml
from tests.helpers.scripted_api import StartScripted, cli

# The replacement contains the original, so applying the same edit twice would be visible.
OLD, NEW = '"Hello"', '"Hej Hello"'
DONE = 'GREETING = "Hej Hello"\n'


@pytest.fixture
def configured(repo: RepoWithRemote) -> RepoWithRemote:
    return configure(repo, honk_toml(SWEDISH))


def run(repo: RepoWithRemote, script: Sequence[Turn | HttpError], scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, list[dict[str, object]], str, ScriptedMessagesAPI]:
    api = scripted(script)
    code, lines, out = cli(capsys, "run", "Swedish greeting", "--repo", str(repo.path), "--json")
    return code, lines, out, api


def edit(**knobs: object) -> Turn:
    return edit_turn("app/greeting.py", OLD, NEW, chunk_chars=3, **knobs)


def applied(lines: list[dict[str, object]]) -> list[dict[str, object]]:
    return [x for x in lines if x["type"] == "edit_applied"]


def notices(lines: list[dict[str, object]]) -> str:
    return "\n".join(str(x["message"]) for x in lines if x["type"] == "notice")


@pytest.mark.parametrize(("fault", "said"), [
    (edit(malformed=True), "the stream sent malformed data"),
    (edit(omit_message_stop=True), "ended before message_stop"),
    (edit(error_after_events=9), "the stream reported an error"),
    (edit(error_after_events=9, error_type="api_error"), "the stream reported an error"),
], ids=["malformed-sse", "no-message-stop", "sse-overloaded-mid-stream", "sse-api-error"])
def test_a_broken_stream_is_retried_and_its_edit_lands_once(
        configured: RepoWithRemote, scripted: StartScripted, fault: Turn, said: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err, api = run(configured, [fault, edit(), text_turn("Done.")], scripted,
                                capsys)
    assert code == 0, err
    assert said in notices(lines)
    assert len(applied(lines)) == 1
    assert Path(str(lines[-1]["worktree"]), "app/greeting.py").read_text() == DONE
    assert len(api.message_requests()) == 3
    # The retry resent the same conversation: the broken turn left nothing in it.
    assert api.requests[1].body["messages"] == api.requests[0].body["messages"]


def test_500_is_retried(configured: RepoWithRemote, scripted: StartScripted,
                        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, err, _ = run(configured, [server_error(), edit(), text_turn("Done.")], scripted,
                              capsys)
    assert code == 0, err
    assert len(applied(lines)) == 1 and lines[-1]["state"] == "awaiting_approval"


def test_persistent_500_fails_clearly_and_keeps_the_change(
        configured: RepoWithRemote, scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]) -> None:
    fire = HttpError(500, "api_error", "db on fire", retry_after=0.01)
    code, lines, _, _ = run(configured, [fire] * 20, scripted, capsys)
    assert code == 1
    assert lines[-1]["state"] == "failed"
    assert "HTTP 500" in str(lines[-1]["reason"]) and "db on fire" in str(lines[-1]["reason"])
    assert Path(str(lines[-1]["worktree"])).is_dir()


def test_persistent_malformed_stream_fails_clearly_with_no_edit(
        configured: RepoWithRemote, scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _, _ = run(configured, [edit(malformed=True)] * 6, scripted, capsys)
    assert code == 1
    reason = str(lines[-1]["reason"])
    assert lines[-1]["state"] == "failed" and "the Messages API call failed" in reason
    assert "malformed data" in reason
    assert applied(lines) == []
    assert Path(str(lines[-1]["worktree"]), "app/greeting.py").read_text() == 'GREETING = "Hello"\n'


def test_stream_without_message_stop_every_time_fails_clearly(
        configured: RepoWithRemote, scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines, _, _ = run(configured, [edit(omit_message_stop=True)] * 6, scripted, capsys)
    assert code == 1 and "message_stop" in str(lines[-1]["reason"])
    assert applied(lines) == []


def test_429_waits_for_retry_after(configured: RepoWithRemote, scripted: StartScripted,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    code, lines, err, api = run(configured, [rate_limited(0.6), edit(), text_turn("Done.")],
                                scripted, capsys)
    assert code == 0, err
    assert time.monotonic() - started >= 0.6  # the server's retry-after was honoured
    assert len(applied(lines)) == 1 and len(api.message_requests()) == 3


def test_a_very_slow_trickle_still_completes(
        configured: RepoWithRemote, scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]) -> None:
    slow = edit_turn("app/greeting.py", OLD, NEW, chunk_chars=2, delay_s=0.02)
    code, lines, err, _ = run(configured, [slow, tool_turn("run_verifiers", {}),
                                           text_turn("Done.", delay_s=0.05)],
                              scripted, capsys)
    assert code == 0, err
    previews = [x for x in lines if x["type"] == "edit_preview"]
    assert len(previews) >= len(NEW) // 2  # a fragment per chunk, shown as it came
    assert len(applied(lines)) == 1
    assert "retrying" not in notices(lines)
