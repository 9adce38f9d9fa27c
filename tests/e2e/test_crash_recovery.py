"""kill -9 in the middle of a run: the journal and worktree survive, history says
interrupted, and `honk resume` finishes the change."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.sessions import swedish_edit, swedish_session
from tests.reliability.procs import history, honk

KEY = "sk-ant-test-crash-0123456789"


@pytest.mark.slow
def test_kill_9_mid_stream_then_resume(repo: RepoWithRemote, tmp_path: Path) -> None:
    configure(repo, JUDGE_OFF)
    slow = swedish_edit(chunk_chars=3, delay_s=0.1)
    with ScriptedMessagesAPI([slow], expected_api_key=KEY) as first:
        env = {**os.environ, "ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": first.base_url}
        proc = subprocess.Popen([sys.executable, "-m", "desktop", "run", "Swedish greeting",
                                 "--repo", str(repo.path), "--json"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        for line in proc.stdout:  # wait until the edit is visibly streaming
            if json.loads(line)["type"] == "edit_preview":
                break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        assert proc.stderr is not None
        proc.stderr.close()

    [change] = history(env)
    assert change["state"] == "interrupted"
    worktree = Path(str(change["worktree"]))
    assert worktree.is_dir()
    assert (worktree / "app/greeting.py").read_text() == 'GREETING = "Hello"\n'  # no half edit

    with ScriptedMessagesAPI(swedish_session(), expected_api_key=KEY) as second:
        env["ANTHROPIC_BASE_URL"] = second.base_url
        done = honk("resume", str(change["id"]), "--json", env=env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.splitlines()[-1])
        assert result["state"] == "awaiting_approval"
        resumed_prompt = second.requests[0].body["messages"][0]["content"]
        assert "interrupted" in resumed_prompt and "Swedish greeting" in resumed_prompt
    [after] = history(env)
    assert after["state"] == "awaiting_approval"
    assert repo.git("rev-parse", str(after["branch"])) == result["commit"]


def test_resume_refuses_a_change_that_is_not_interrupted(repo: RepoWithRemote) -> None:
    env = {**os.environ, "ANTHROPIC_API_KEY": KEY}
    proc = honk("resume", "nope", env=env)
    assert proc.returncode == 2 and "no change 'nope'" in proc.stderr


def test_history_runs_without_an_event_loop_qt_or_anthropic(tmp_path: Path) -> None:
    # Reading the journal needs none of them; asyncio alone costs ~30 ms of a ~130 ms start.
    code = ("import sys, runpy; sys.argv=['honk','history']\n"
            "try:\n runpy.run_module('desktop', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'asyncio', 'PySide6', 'anthropic'}))")
    env = {**os.environ, "HONK_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout
    assert proc.stdout.startswith("no changes yet")


def test_help_does_not_import_qt_or_anthropic() -> None:
    code = ("import sys, runpy; sys.argv=['honk','--help']\n"
            "try:\n runpy.run_module('desktop', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6','anthropic')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"
    assert "usage: honk" in proc.stdout
