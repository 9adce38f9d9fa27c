"""`honk run` with ``engine = "claude-code"``: the real claude-agent-sdk and its bundled CLI
against the scripted Messages API (the script in Claude Code's own tool vocabulary), real
git, the real journal. Live previews, the box, the cost cap, a cut stream, cancel, resume.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.sim.messages_api import SIDE_CALL_KEY, ScriptedMessagesAPI
from desktop.sim.messages_claude_code import (
    bash_turn,
    claude_edit_turn,
    read_turn,
    verify_turn,
    write_turn,
)
from desktop.sim.messages_routing import Route, route_by
from desktop.sim.messages_script import Turn, Usage, text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import SWEDISH, configure, honk_toml
from tests.helpers.scripted_api import KEY, StartScripted, cli
from tests.helpers.sessions import GREETING_FILE, SWEDISH_GREETING

pytestmark = pytest.mark.slow

ENGINE = '[agent]\nengine = "claude-code"\nmax_turns = 12\n'
GREETING = 'GREETING = "Hello"\n'
HONK_TOOLS = ["Edit", "Glob", "Grep", "Read", "Write", "mcp__honk__run_verifiers"]


def swedish_by_claude_code(**edit_knobs: object) -> list[Turn]:
    """The Swedish edit as Claude Code makes it: read the file, edit it, check, say so."""
    return [
        read_turn(GREETING_FILE, "Let me look."),
        claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', **edit_knobs),  # type: ignore[arg-type]
        verify_turn(),
        text_turn("The greeting now says hello in Swedish."),
    ]


def types(lines: list[dict[str, object]]) -> list[object]:
    return [line["type"] for line in lines]


def running_clis(home: Path) -> list[int]:
    """The Claude Code CLIs the changes' ledgers say are running."""
    run = home / "run"
    return [int(p.name) for p in run.glob("*/*") if p.name.isdigit()] if run.exists() else []


def gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


def test_an_edit_streams_live_lands_once_and_the_repo_instructions_reach_the_model(
        repo: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    hook_ran, mcp_ran = tmp_path / "hook-ran", tmp_path / "mcp-ran"
    repo.write("CLAUDE.md", "Keep greetings short. MARKER-FROM-CLAUDE-MD\n")
    # A repo's own Claude Code settings and MCP servers run commands: never loaded.
    repo.write(".claude/settings.json", json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "*", "hooks": [{"type": "command", "command": f"touch {hook_ran}"}]}]}}))
    repo.write(".mcp.json", json.dumps({"mcpServers": {"evil": {
        "command": "sh", "args": ["-c", f"touch {mcp_ran}"]}}}))
    configure(repo, honk_toml(SWEDISH, extra=ENGINE))
    api = scripted(swedish_by_claude_code(chunk_chars=3, delay_s=0.05))

    code, lines, err = cli(capsys, "run", "Make the greeting Swedish", "--repo",
                           str(repo.path), "--json")

    assert code == 0, err
    kinds = types(lines)
    previews = [line for line in lines if line["type"] == "edit_preview"]
    [applied] = [line for line in lines if line["type"] == "edit_applied"]
    # The edit formed live, in the previews' own language, before it landed, and landed once.
    assert len(previews) > 2
    assert {(p["command"], p["path"]) for p in previews} == {("str_replace", GREETING_FILE)}
    assert "".join(str(p["delta"]) for p in previews if p["field"] == "old_str") == '"Hello"'
    assert "".join(str(p["delta"]) for p in previews if p["field"] == "new_str") == '"Hej"'
    assert {p["tool_use_id"] for p in previews} == {applied["tool_use_id"]}
    assert kinds.index("edit_preview") < kinds.index("edit_applied")
    # Live: the previews came as the stream did (an event every 50 ms), not in one batch.
    assert float(str(previews[-1]["at"])) - float(str(previews[0]["at"])) > 0.15
    assert (applied["command"], applied["path"]) == ("str_replace", GREETING_FILE)
    assert '+GREETING = "Hej"' in str(applied["diff"])
    calls = [(c["tool"], c["summary"], c["is_error"]) for c in lines if c["type"] == "tool_call"]
    assert calls == [("Read", f"Read {GREETING_FILE}", False),
                     ("Edit", f"Edit {GREETING_FILE}", False),
                     ("run_verifiers", "run_verifiers", False)]
    assert "agent_text" in kinds and "usage" in kinds
    result = lines[-1]
    assert result["state"] == "awaiting_approval"
    assert (Path(str(result["worktree"])) / GREETING_FILE).read_text() == SWEDISH_GREETING
    assert repo.git("rev-parse", str(result["branch"])) == result["commit"]
    [committed] = [line for line in lines if line["type"] == "committed"]
    assert committed["files"] == [GREETING_FILE]  # the CLI left nothing else in the worktree
    # What the CLI sent: its own endpoint, headers and tools; Honk's rules and CLAUDE.md.
    requests = api.requests
    assert {(r.method, r.path, r.query, r.auth_scheme) for r in requests} == {
        ("POST", "/v1/messages", "beta=true", "x-api-key")}
    first = requests[0]
    assert "claude-code-" in first.headers["anthropic-beta"]
    assert first.headers["user-agent"].startswith("claude-cli/")
    assert first.body["stream"] is True
    assert sorted(t["name"] for t in first.body["tools"]) == HONK_TOOLS
    system = json.dumps(first.body["system"])
    assert "MARKER-FROM-CLAUDE-MD" in system and "working for Honk" in system
    assert api.remaining() == {"default": 0}
    assert not hook_ran.exists() and not mcp_ran.exists()
    # Claude Code's state lives under HONK_HOME, and the key never reached the journal.
    home = tmp_path / "honk-home"
    assert any((home / "claude-code" / "config").iterdir())
    assert KEY.encode() not in (home / "journal.sqlite3").read_bytes()
    assert running_clis(home) == []


def test_edits_outside_the_worktree_are_refused_and_nothing_outside_is_written(
        repo: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("do not touch\n")
    os.symlink(outside, repo.path / "outside-link")  # committed: the worktree has them too
    os.symlink(secret, repo.path / "secret-link")
    configure(repo, honk_toml(extra=ENGINE))
    api = scripted([
        write_turn("../escaped.txt", "pwned"),
        write_turn(str(outside / "absolute.txt"), "pwned"),
        write_turn("outside-link/through-a-link.txt", "pwned"),
        read_turn("secret-link"),
        claude_edit_turn(str(secret), "do not touch", "pwned"),
        text_turn("I could not reach those files."),
    ])

    code, lines, _ = cli(capsys, "run", "Escape", "--repo", str(repo.path), "--json")

    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert secret.read_text() == "do not touch\n"
    worktree = Path(str(lines[-1]["worktree"]))
    assert not (worktree.parent / "escaped.txt").exists()
    calls = [c for c in lines if c["type"] == "tool_call"]
    assert [(c["tool"], c["is_error"]) for c in calls] == [
        ("Write", True), ("Write", True), ("Write", True), ("Read", True), ("Edit", True)]
    honk_refused = [str(c["result"]) for c in calls if str(c["result"]).startswith("Honk refused")]
    assert len(honk_refused) == 4, calls  # the Edit never got that far: the CLI wants a Read
    # The CLI makes ../escaped.txt absolute before it asks: both are plainly outside.
    assert sum("is outside the worktree" in r for r in honk_refused) == 2
    assert sum("is a symbolic link that points outside the worktree" in r
               for r in honk_refused) == 2
    notices = [str(n["message"]) for n in lines if n["type"] == "notice"]
    assert sum(n.startswith("Honk refused") for n in notices) == 4
    rejected = [line for line in lines if line["type"] == "edit_rejected"]
    assert len(rejected) == 4 and not any(line["type"] == "edit_applied" for line in lines)
    # The model read each refusal as its tool's error.
    results = [b for m in api.requests[-1].body["messages"] if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert all(b.get("is_error") for b in results) and len(results) == 5
    assert "Honk refused Write" in json.dumps(results[0])
    assert code != 0 and lines[-1]["reason"] == "the agent finished without changing any file"


def test_a_bash_call_is_refused_and_runs_nothing(
        repo: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "bash-ran"
    configure(repo, honk_toml(extra=ENGINE))
    api = scripted([bash_turn(f"touch {marker}"), text_turn("No shell here.")])
    code, lines, _ = cli(capsys, "run", "Run a command", "--repo", str(repo.path), "--json")
    assert code != 0  # nothing changed, so nothing to commit
    [call] = [c for c in lines if c["type"] == "tool_call"]
    assert (call["tool"], call["is_error"]) == ("Bash", True)
    assert "Bash" in str(call["result"])
    assert not marker.exists()
    assert "Bash" not in [t["name"] for t in api.requests[0].body["tools"]]
    assert api.remaining() == {"default": 0}


def test_the_cost_cap_stops_the_run_before_the_turn_that_passed_it_does_anything(
        repo: RepoWithRemote, scripted: StartScripted, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, honk_toml(extra=ENGINE + "max_cost_usd = 0.05\n"))
    # 10,000 output tokens at Sonnet's $15 per million: $0.15, three times the cap.
    expensive = write_turn("app/new.py", "x = 1\n", usage=Usage(output_tokens=10_000))
    api = scripted([expensive, *swedish_by_claude_code()])

    code, lines, _ = cli(capsys, "run", "Spend", "--repo", str(repo.path), "--json")

    [cap] = [line for line in lines if line["type"] == "cost_cap_reached"]
    assert cap["cap_usd"] == 0.05 and float(str(cap["total_cost_usd"])) >= 0.15
    result = lines[-1]
    assert code != 0 and result["state"] == "failed"
    assert result["reason"] == "cost cap of $0.05 reached"
    assert not (Path(str(result["worktree"])) / "app/new.py").exists()  # its Write never ran
    assert api.remaining()["default"] == 4  # no second turn was asked for
    assert running_clis(tmp_path / "honk-home") == []


def test_a_cut_stream_is_retried_and_the_edit_lands_once(
        repo: RepoWithRemote, scripted: StartScripted,
        capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, honk_toml(SWEDISH, extra=ENGINE))
    cut = claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=2, cut_after_events=30,
                           delay_s=0.02)  # slow enough to be read before the reset
    turns = swedish_by_claude_code()
    api = scripted([turns[0], cut, *turns[1:]])

    code, lines, err = cli(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")

    assert code == 0, err
    notices = [str(n["message"]) for n in lines if n["type"] == "notice"]
    assert "Claude Code: the stream broke off; retrying (attempt 1 of 3)" in notices, notices
    assert len([line for line in lines if line["type"] == "edit_applied"]) == 1
    cut_previews = {p["tool_use_id"] for p in lines if p["type"] == "edit_preview"}
    assert len(cut_previews) == 2  # the cut edit streamed in part, then again in whole
    assert (Path(str(lines[-1]["worktree"])) / GREETING_FILE).read_text() == SWEDISH_GREETING
    assert api.remaining() == {"default": 0}


def honk_env(home: Path, api: ScriptedMessagesAPI) -> dict[str, str]:
    return {**os.environ, "HONK_HOME": str(home), "ANTHROPIC_API_KEY": KEY,
            "ANTHROPIC_BASE_URL": api.base_url, "HONK_RETRY_BACKOFF_S": "0.01"}


def start_run(repo: RepoWithRemote, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "desktop", "run", "Swedish greeting",
                             "--repo", str(repo.path), "--json"], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def read_until(proc: subprocess.Popen[str], kind: str) -> list[dict[str, object]]:
    assert proc.stdout is not None
    seen: list[dict[str, object]] = []
    for line in proc.stdout:
        if line.startswith("{"):
            seen.append(json.loads(line))
            if seen[-1]["type"] == kind:
                return seen
    raise AssertionError(f"no {kind} line; saw {types(seen)}")


def test_ctrl_c_cancels_the_change_and_leaves_no_cli_running(
        repo: RepoWithRemote, tmp_path: Path) -> None:
    configure(repo, honk_toml(extra=ENGINE))
    slow = claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=4, delay_s=0.1)
    home = tmp_path / "honk-home"
    with ScriptedMessagesAPI([read_turn(GREETING_FILE), slow, text_turn("Done.")],
                             expected_api_key=KEY) as api:
        proc = start_run(repo, honk_env(home, api))
        seen = read_until(proc, "edit_preview")
        [pid] = running_clis(home)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines[-1]["state"] == "cancelled"
    assert gone(pid) and running_clis(home) == []
    change = seen[0]["change"]
    worktree = home / "worktrees" / str(change)
    assert (worktree / GREETING_FILE).read_text() == GREETING


def test_after_honk_is_killed_resume_continues_the_change_from_the_journal(
        repo: RepoWithRemote, tmp_path: Path) -> None:
    configure(repo, honk_toml(SWEDISH, extra=ENGINE))
    home = tmp_path / "honk-home"
    first_session = [
        read_turn(GREETING_FILE),
        claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"'),
        # ~20 s of streaming: the CLI Honk leaves behind is still at it when resume starts.
        text_turn("Now I will think for a long time." * 20, chunk_chars=8, delay_s=0.25),
    ]
    resumed_session = [
        read_turn(GREETING_FILE),
        claude_edit_turn(GREETING_FILE, '"Hej"', '"Hej hej"'),
        verify_turn(),
        text_turn("Finished: the greeting is Swedish, twice."),
    ]
    routes = [Route("resumed", first_user_contains="You were interrupted")]
    scripts = {"first": first_session, "resumed": resumed_session}
    with ScriptedMessagesAPI(scripts, route_by(routes, default="first"),
                             expected_api_key=KEY) as api:
        env = honk_env(home, api)
        proc = start_run(repo, env)
        seen = read_until(proc, "edit_applied")
        read_until(proc, "agent_text_delta")  # well into the long turn
        [pid] = running_clis(home)
        os.kill(proc.pid, signal.SIGKILL)  # Honk dies; its CLI is left behind
        proc.communicate(timeout=30)
        change = str(seen[0]["change"])
        worktree = home / "worktrees" / change
        assert (worktree / GREETING_FILE).read_text() == SWEDISH_GREETING  # the landed edit

        resumed = subprocess.run([sys.executable, "-m", "desktop", "resume", change, "--json"],
                                 env=env, capture_output=True, text=True, timeout=90,
                                 stdin=subprocess.DEVNULL)
        assert resumed.returncode == 0, resumed.stderr
        lines = [json.loads(line) for line in resumed.stdout.splitlines()
                 if line.startswith("{")]
        prompts = [r for r in api.message_requests("resumed")]
    # The orphaned CLI was stopped before anything touched the worktree again.
    notices = [str(n["message"]) for n in lines if n["type"] == "notice"]
    assert any("Claude Code" in n and "left running by an earlier run that died" in n
               for n in notices), notices
    assert gone(pid) and running_clis(home) == []
    assert lines[-1]["state"] == "awaiting_approval"
    assert (worktree / GREETING_FILE).read_text() == 'GREETING = "Hej hej"\n'
    # The resumed session started from the journal's worktree: it was shown the first edit.
    first_prompt = json.dumps(prompts[0].body["messages"][0])
    assert "You were interrupted" in first_prompt and '+GREETING = \\"Hej\\"' in first_prompt
    assert api.remaining() == {"first": 0, "resumed": 0}
    assert SIDE_CALL_KEY not in {r.key for r in api.requests}
