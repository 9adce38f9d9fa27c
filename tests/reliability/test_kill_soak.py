"""kill -9 at random points of `honk run` and `honk approve`: nothing is lost, every change
is finished by `honk resume` / `honk approve`, nothing is merged twice.

HONK_KILL_ROUNDS sets the number of rounds (default 6: one per phase but "anywhere";
`bench/kill_soak.py` runs 50)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.demo.environment import DemoEnvironment
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import OK, Verifier, configure, honk_toml
from tests.helpers.sessions import swedish_edit, swedish_session
from tests.reliability.killsoak import soak
from tests.reliability.procs import KEY, base_env, history, honk, journal_events


@pytest.fixture(scope="module")
def phone() -> Iterator[DemoEnvironment]:
    """A virtual Android phone behind a private real adb server, shared by the rounds."""
    with DemoEnvironment() as demo:
        yield demo


def device_env(phone: DemoEnvironment) -> dict[str, str]:
    """This test's environment plus the way to the phone's private adb server."""
    adb = ("ANDROID_ADB_SERVER_PORT", "HONK_ADB", "HOME", "ADB_MDNS", "ADB_EMU", "ADB_LIBUSB")
    return {**os.environ, **{k: phone.env[k] for k in adb if k in phone.env}}


@pytest.mark.slow
@pytest.mark.timeout(300)  # ~39 s idle, several times that on a loaded CI box
def test_random_kills_lose_nothing(phone: DemoEnvironment, tmp_path: Path) -> None:
    rounds = int(os.environ.get("HONK_KILL_ROUNDS", "6"))
    results = soak(rounds, tmp_path / "soak", device_env(phone), phone.serial, seed=rounds,
                   log=True)
    lost = [(r.phase, r.problems) for r in results if not r.lost_nothing]
    assert not lost, lost
    assert any(r.killed_in == "interrupted" for r in results)


@pytest.mark.slow
def test_kill_between_merge_push_and_journal_write(repo: RepoWithRemote, tmp_path: Path) -> None:
    """A post-receive hook kills `honk approve` right after the remote took the push."""
    configure(repo, honk_toml(OK, require=["verified"]), push=True)
    env = base_env(tmp_path / "honk-home")
    with ScriptedMessagesAPI(swedish_session(), expected_api_key=KEY) as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        done = honk("run", "Swedish", "--repo", str(repo.path), "--json", env=env)
    assert done.returncode == 0, done.stderr
    [row] = history(env)
    change, commit = str(row["id"]), str(row["commit"])

    pidfile = tmp_path / "approve.pid"
    hook = repo.remote / "hooks" / "post-receive"
    hook.write_text(f"#!/bin/sh\nkill -9 $(cat {pidfile})\n")
    hook.chmod(0o755)
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "approve", change], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pidfile.write_text(str(proc.pid))
    assert proc.wait(timeout=60) == -9
    hook.unlink()

    assert run_git(repo.remote, "rev-parse", "main") == commit  # pushed ...
    types = [e["type"] for e in journal_events(tmp_path / "honk-home", change)]
    assert "approved" in types and "merged" not in types  # ... but never journalled
    [row] = history(env)
    assert row["state"] == "interrupted"
    resume = honk("resume", change, env=env)
    assert resume.returncode == 2 and f"honk approve {change}" in resume.stderr
    again = honk("approve", change, "--json", env=env)
    assert again.returncode == 0, again.stderr
    [row] = history(env)
    assert row["state"] == "merged"
    assert run_git(repo.remote, "rev-parse", "main") == commit
    assert run_git(repo.remote, "log", "--format=%B", "main").count(f"Honk-Change: {change}") == 1
    merged = [e for e in journal_events(tmp_path / "honk-home", change) if e["type"] == "merged"]
    assert len(merged) == 1 and merged[0]["already_merged"] is True


def test_kill_during_edit_writes_never_leaves_a_partial_file(tmp_path: Path) -> None:
    """The editor writes temp + rename: a kill at any moment leaves the old or the new text."""
    root = tmp_path / "wt"
    root.mkdir()
    a, b = "a" * 4_000_000 + "\n", "b" * 4_000_000 + "\n"
    (root / "big.txt").write_text(a)
    code = ("import sys; from pathlib import Path; from desktop.adapters.editor.tool import "
            "EditorTool; tool = EditorTool(Path(sys.argv[1])); a, b = 'a' * 4_000_000 + '\\n', "
            "'b' * 4_000_000 + '\\n'; print('go', flush=True)\n"
            "while True:\n"
            " for text in (b, a):\n"
            "  out = tool.run({'command': 'create', 'path': 'big.txt', 'file_text': text})\n"
            "  assert not out.is_error, out.content\n")
    import random
    import time
    rng = random.Random(7)
    for _ in range(12):
        proc = subprocess.Popen([sys.executable, "-c", code, str(root)], stdout=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None and proc.stdout.readline() == "go\n"
        time.sleep(rng.uniform(0, 0.2))
        proc.kill()
        proc.wait()
        proc.stdout.close()
        assert (root / "big.txt").read_text() in (a, b)
    # A kill between the temp file's creation and the rename leaves only the temp file;
    # `honk resume` removes those before anything can commit them (see the soak test).
    assert {p.name for p in root.iterdir()} - {"big.txt"} <= {
        p.name for p in root.glob(".honk-edit-*.tmp")}


@pytest.mark.slow
def test_resume_after_a_kill_between_git_commit_and_its_record(
        repo: RepoWithRemote, tmp_path: Path) -> None:
    """The commit landed in git but not in the journal, with an editor temp file and git's
    index.lock left behind: resume adopts the commit, commits no temp file, and goes on."""
    from desktop.adapters.git.workspace import GitWorkspace
    from desktop.adapters.store.journal import ChangeJournal
    from desktop.core.events import StageFinished, StageStarted
    from desktop.core.stages import Stage
    from tests.reliability.procs import read_until, start

    configure(repo, honk_toml(Verifier("hej", ["grep", "-q", "Hej", "app/greeting.py"])))
    home = tmp_path / "honk-home"
    slow = swedish_edit(chunk_chars=1, delay_s=0.05)
    with ScriptedMessagesAPI([slow], expected_api_key=KEY) as api:
        env = base_env(home, api.base_url)
        proc = start("run", "Swedish", "--repo", str(repo.path), "--json", env=env)
        change = str(read_until(proc, lambda x: x["type"] == "edit_preview")[0]["change"])
        proc.kill()
        proc.communicate()
    [row] = history(env)
    worktree = Path(str(row["worktree"]))
    # What a run killed inside the commit step leaves: the edit, a commit git made ...
    (worktree / "app/greeting.py").write_text('GREETING = "Hej"\n')
    workspace = GitWorkspace.open(repo.path, home / "worktrees")
    wt = workspace.attach(worktree, str(row["branch"]), "main", str(row["base_commit"]))
    sha = workspace.commit(wt, request="Swedish", change_id=change, model="m")
    # ... a temp file of an edit that never landed, and git's lock of the index.
    (worktree / "app/.honk-edit-0123456789abcdef.tmp").write_text('GREETING = "Hej')
    lock = Path(run_git(worktree, "rev-parse", "--path-format=absolute", "--git-path",
                        "index.lock"))
    lock.write_text("")
    journal = ChangeJournal(home / "journal.sqlite3")
    for event in (StageFinished(change=change, stage=Stage.AGENT),
                  StageStarted(change=change, stage=Stage.VERIFY),
                  StageFinished(change=change, stage=Stage.VERIFY),
                  StageStarted(change=change, stage=Stage.COMMIT)):
        journal.append(event)
    journal.close()
    [row] = history(env)
    assert row["state"] == "interrupted"

    done = honk("resume", change, "--json", env=env)
    assert done.returncode == 0, done.stderr
    [row] = history(env)
    assert row["state"] == "awaiting_approval" and row["commit"] == sha
    assert not list(worktree.rglob(".honk-edit-*")) and not lock.exists()
    assert ".honk-edit" not in run_git(repo.path, "ls-tree", "-r", "--name-only", sha)
    assert run_git(repo.path, "rev-parse", str(row["branch"])) == sha  # no second commit
