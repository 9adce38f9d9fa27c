"""`honk run` end to end: the real SDK over HTTP against the scripted Messages API, real git,
the real journal. Every bad input named in the headless-core issue has a test here."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from desktop.cli.main import main
from desktop.sim.messages_script import (
    HttpError,
    ToolUseBlock,
    Turn,
    Usage,
    edit_turn,
    text_turn,
    tool_turn,
)
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import Verifier, configure, honk_toml
from tests.helpers.scripted_api import KEY, StartScripted, cli
from tests.helpers.sessions import swedish_edit, swedish_session

GREETING = 'GREETING = "Hello"\n'
CONFIG = honk_toml(
    Verifier("greeting-is-swedish", ["python3", "-c", "import sys; t = open('app/greeting.py')"
                                     ".read(); print(t); sys.exit(0 if 'Hej' in t else 1)"],
             timeout=30),
    extra='[agent]\nmodel = "claude-sonnet-4-6"\nmax_turns = 10\n')
EDITOR = "str_replace_based_edit_tool"


@pytest.fixture
def configured(repo: RepoWithRemote) -> RepoWithRemote:
    return configure(repo, CONFIG)


def looked_at_and_verified() -> list[Turn | HttpError]:
    """The Swedish edit the long way: view the file, edit it (streamed in small chunks), run
    the verifiers, then say so."""
    return [
        tool_turn(EDITOR, {"command": "view", "path": "app/greeting.py"}, "Let me look."),
        swedish_edit(chunk_chars=3),
        tool_turn("run_verifiers", {}),
        text_turn("The greeting now says hello in Swedish."),
    ]


def worktrees(home: Path) -> list[Path]:
    root = home / "worktrees"
    return sorted(root.iterdir()) if root.exists() else []


def test_happy_path_streams_edits_verifies_and_commits_on_its_own_branch(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    api = scripted(looked_at_and_verified())
    user_head = configured.git("rev-parse", "HEAD")
    code, lines, err = cli(capsys, "run", "Make the greeting say hello in Swedish",
                           "--repo", str(configured.path), "--json")
    assert code == 0, err
    assert all("type" in line and "change" in line for line in lines)
    types = [line["type"] for line in lines]
    # The edit streamed token by token before it landed, and landed once.
    previews = [line for line in lines if line["type"] == "edit_preview"]
    assert len(previews) > 1
    assert "".join(str(p["delta"]) for p in previews if p["field"] == "new_str") == '"Hej"'
    applied = [line for line in lines if line["type"] == "edit_applied"]
    assert len(applied) == 1
    assert '-GREETING = "Hello"' in str(applied[0]["diff"]) and '+GREETING = "Hej"' in str(applied[0]["diff"])
    assert types.index("edit_preview") < types.index("edit_applied")
    verifiers = [line for line in lines if line["type"] == "verifier_result"]
    assert verifiers and all(v["passed"] for v in verifiers)
    result = lines[-1]
    assert result["type"] == "result" and result["state"] == "awaiting_approval"
    branch, commit, worktree = str(result["branch"]), str(result["commit"]), Path(str(result["worktree"]))
    assert branch.startswith(f"honk/{result['change']}-make-the-greeting")
    assert configured.git("rev-parse", branch) == commit
    message = configured.git("log", "-1", "--format=%B", commit)
    assert f"Honk-Change: {result['change']}" in message
    assert "Honk-Model: claude-sonnet-4-6" in message
    assert (worktree / "app/greeting.py").read_text() == 'GREETING = "Hej"\n'
    # The person's own checkout is untouched.
    assert configured.git("rev-parse", "HEAD") == user_head
    assert (configured.path / "app/greeting.py").read_text() == GREETING
    # The SDK really talked to the server: system prompt and tools cached, editor tool offered.
    first = api.requests[0].body
    assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
    assert {"type": "text_editor_20250728", "name": EDITOR}.items() <= first["tools"][0].items()
    # The verifier tool result went back to the model.
    tool_results = [b for m in api.requests[3].body["messages"] if isinstance(m["content"], list)
                    for b in m["content"] if b.get("type") == "tool_result"]
    assert "All verifiers passed" in str(tool_results[-1]["content"])

    code, history, _ = cli(capsys, "history", "--json")
    assert code == 0 and history[0]["id"] == result["change"] and history[0]["state"] == "awaiting_approval"
    code, shown, _ = cli(capsys, "show", str(result["change"])[:5], "--json")
    assert code == 0 and shown[0]["commit"] == commit
    assert any(e["type"] == "edit_applied" for e in shown[0]["events"])  # type: ignore[union-attr]
    # The API key never reached the journal.
    assert KEY.encode() not in (tmp_path / "honk-home" / "journal.sqlite3").read_bytes()


def test_failing_verifier_goes_back_to_the_agent_which_fixes_it(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    api = scripted([
        edit_turn("app/greeting.py", '"Hello"', '"Hallo"'),
        text_turn("Done."),
        edit_turn("app/greeting.py", '"Hallo"', '"Hej"'),
        text_turn("Fixed: Swedish is Hej."),
    ])
    code, lines, _ = cli(capsys, "run", "Swedish greeting", "--repo", str(configured.path),
                         "--json")
    assert code == 0
    results = [line["passed"] for line in lines if line["type"] == "verifier_result"]
    assert results == [False, True]
    feedback = api.requests[2].body["messages"][-1]["content"]
    assert "greeting-is-swedish failed" in str(feedback) and "Hallo" in str(feedback)
    assert lines[-1]["state"] == "awaiting_approval"


@pytest.mark.parametrize("request_text", ["", "   \n\t", "x" * 1_000_001])
def test_empty_or_huge_request_is_refused_before_anything_is_created(
    configured: RepoWithRemote, request_text: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    code, _, err = cli(capsys, "run", request_text, "--repo", str(configured.path))
    assert code == 2
    assert "request" in err and ("empty" in err or "limit" in err)
    assert worktrees(tmp_path / "honk-home") == []
    assert configured.git("branch", "--list", "honk/*") == ""


def test_no_api_key_says_how_to_set_one(
    configured: RepoWithRemote, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    code, _, err = cli(capsys, "run", "anything", "--repo", str(configured.path))
    assert code == 2
    assert "ANTHROPIC_API_KEY" in err and "keyring" in err
    assert worktrees(tmp_path / "honk-home") == []


def test_not_a_repo_and_missing_target_are_clear_usage_errors(
    configured: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    scripted([])
    plain = tmp_path / "plain"
    plain.mkdir()
    code, _, err = cli(capsys, "run", "x", "--repo", str(plain))
    assert code == 2 and "not a git repository" in err
    code, _, err = cli(capsys, "run", "x", "--repo", str(configured.path), "--target", "nope")
    assert code == 2 and "nope" in err


def test_bad_honk_toml_names_the_key_and_exits_2(
    repo: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    scripted([])
    repo.write("honk.toml", "[agent]\nmax_turns = 'lots'\n")
    code, _, err = cli(capsys, "run", "x", "--repo", str(repo.path))
    assert code == 2
    assert "honk.toml: agent.max_turns = 'lots': expected a positive integer" in err


def test_uncommitted_work_is_never_touched_or_copied(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    configured.write("app/greeting.py", 'GREETING = "Hello, my uncommitted edit"\n')
    configured.write("notes.txt", "my untracked notes\n")
    scripted(looked_at_and_verified())
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 0
    worktree = Path(str(lines[-1]["worktree"]))
    assert not (worktree / "notes.txt").exists()
    assert (configured.path / "app/greeting.py").read_text() == 'GREETING = "Hello, my uncommitted edit"\n'
    assert (configured.path / "notes.txt").read_text() == "my untracked notes\n"


def test_escape_attempts_and_ambiguous_replacements_are_tool_errors_and_change_nothing(
    configured: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("do not touch\n")
    configured.write("app/twice.py", "x = 1\nx = 1\n")
    configured.commit_all("twice")
    api = scripted([
        tool_turn(EDITOR, {"command": "create", "path": "../../outside.txt", "file_text": "pwned"}),
        tool_turn(EDITOR, {"command": "view", "path": str(outside)}),
        tool_turn(EDITOR, {"command": "str_replace", "path": "app/greeting.py", "old_str": "Bonjour", "new_str": "x"}),
        tool_turn(EDITOR, {"command": "str_replace", "path": "app/twice.py", "old_str": "x = 1", "new_str": "x = 2"}),
        *swedish_session(),
    ])
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 0
    assert outside.read_text() == "do not touch\n"
    results = [b for m in api.requests[-1].body["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert [r["is_error"] for r in results] == [True, True, True, True, False]
    assert "No match found" in str(results[2]["content"])
    assert "matches" in str(results[3]["content"]).lower()
    assert "do not touch" not in json.dumps(api.requests[-1].body)
    worktree = Path(str(lines[-1]["worktree"]))
    assert (worktree / "app/twice.py").read_text() == "x = 1\nx = 1\n"
    rejected = [line for line in lines if line["type"] == "edit_rejected"]
    assert len(rejected) == 3


def test_stream_cut_mid_message_is_retried_and_the_edit_applies_once(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    cut = swedish_edit(chunk_chars=2, cut_after_events=8)
    scripted([cut, *swedish_session()])
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 0
    assert len([line for line in lines if line["type"] == "edit_applied"]) == 1
    assert any(line["type"] == "notice" and "retrying" in str(line["message"]) for line in lines)
    worktree = Path(str(lines[-1]["worktree"]))
    assert (worktree / "app/greeting.py").read_text() == 'GREETING = "Hej"\n'


def test_rate_limit_and_overload_are_retried(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    scripted([
        HttpError(429, "rate_limit_error", "slow down", retry_after=0.01),
        HttpError(529, "overloaded_error", "Overloaded", retry_after=0.01),
        *looked_at_and_verified(),
    ])
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 0 and lines[-1]["state"] == "awaiting_approval"


def test_persistent_overload_fails_clearly_and_keeps_the_change(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    scripted([HttpError(529, "overloaded_error", "Overloaded", retry_after=0.01)] * 12)
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 1
    assert lines[-1]["state"] == "failed"
    assert "overloaded (529)" in str(lines[-1]["reason"])
    assert Path(str(lines[-1]["worktree"])).is_dir()


def test_cost_cap_stops_the_agent(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    configured.write("honk.toml", CONFIG.replace("max_turns = 10", "max_turns = 10\nmax_cost_usd = 0.05"))
    configured.commit_all("cap")
    expensive = Usage(input_tokens=20_000, output_tokens=100)  # $0.0615 at Sonnet prices
    api = scripted([
        Turn([ToolUseBlock(EDITOR, {"command": "view", "path": "app"})], usage=expensive),
        *looked_at_and_verified(),
    ])
    code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 1
    assert any(line["type"] == "cost_cap_reached" for line in lines)
    assert "cost cap" in str(lines[-1]["reason"])
    assert len(api.message_requests()) == 1  # no turn was started past the cap


def test_non_utf8_file_is_reported_to_the_model_not_a_crash(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (configured.path / "app/latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    configured.commit_all("latin-1 file")
    api = scripted([tool_turn(EDITOR, {"command": "view", "path": "app/latin1.txt"}),
                             *looked_at_and_verified()])
    code, _lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    assert code == 0
    first_result = api.requests[1].body["messages"][-1]["content"][0]
    assert first_result["is_error"] and "UTF-8" in str(first_result["content"])


def test_text_output_is_readable(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    scripted(looked_at_and_verified())
    assert main(["run", "Swedish please", "--repo", str(configured.path)]) == 0
    out = capsys.readouterr().out
    assert "▶ agent" in out and "✔ verify" in out
    assert '+GREETING = "Hej"' in out
    assert "done: change" in out and "$" in out


def test_git_sees_disclosed_ai_authorship(configured: RepoWithRemote, scripted: StartScripted,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    scripted(looked_at_and_verified())
    _code, lines, _ = cli(capsys, "run", "Swedish", "--repo", str(configured.path), "--json")
    trailers = subprocess.run(
        ["git", "log", "-1", "--format=%(trailers:only,unfold)", str(lines[-1]["commit"])],
        cwd=configured.path, capture_output=True, text=True, check=True).stdout
    assert "Assisted-by: Claude (claude-sonnet-4-6) via Honk Desktop" in trailers




def test_an_insert_streams_its_line_first_so_the_window_can_place_it(
    configured: RepoWithRemote, scripted: StartScripted,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    added = 'FAREWELL = "Hej då"\n'
    scripted([
        tool_turn(EDITOR, {"command": "insert", "path": "app/greeting.py", "insert_line": 1,
                           "insert_text": added}, chunk_chars=4),
        text_turn("Added a Swedish farewell."),
    ])
    code, lines, err = cli(capsys, "run", "Add a farewell in Swedish",
                           "--repo", str(configured.path), "--json")
    assert code == 0, err
    previews = [line for line in lines if line["type"] == "edit_preview"]
    placing = [p for p in previews if p["field"] == "insert_line"]
    assert [p["delta"] for p in placing] == ["1"]  # once, as digits
    assert previews.index(placing[0]) < next(
        i for i, p in enumerate(previews) if p["field"] == "insert_text")
    assert all(p["command"] == "insert" and p["path"] == "app/greeting.py" for p in previews)
    assert "".join(str(p["delta"]) for p in previews if p["field"] == "insert_text") == added
    (applied,) = [line for line in lines if line["type"] == "edit_applied"]
    assert f"+{added.strip()}" in str(applied["diff"])
