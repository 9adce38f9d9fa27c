"""`honk run --device` with `[build] via = "github-actions"`, end to end: the real CLI, real git
with a bare remote, the loopback GitHub (its Actions endpoints backed by that remote, logs and
artifact zips on a second host behind redirects) and the real adb against the virtual phone."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.github_api import FakeGitHub
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import Turn, edit_turn, text_turn
from desktop.sim.stand_ins import write_apk
from tests.helpers.adb import AdbServer
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.honk_toml import SWEDISH, configure, honk_toml
from tests.helpers.scripted_api import KEY, cli, scripted_api

TOKEN = "ghp_ActionsTestToken0123456789abcdefAB"
PACKAGE = "com.example.honk"


@pytest.fixture
def apk(tmp_path: Path) -> bytes:
    return write_apk(tmp_path / "built" / "app-debug.apk", PACKAGE).read_bytes()


@pytest.fixture
def github(repo: RepoWithRemote, apk: bytes, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[FakeGitHub]:
    with FakeGitHub(git_dir=repo.remote, token=TOKEN, owner="acme", repo="app") as server:
        server.actions.queued_s = server.actions.running_s = 0.05
        server.actions.build = lambda sha, inputs: (
            f"> Task :app:assembleDebug\nBUILD SUCCESSFUL for {sha[:12]}\n",
            {"app-debug": {"app-debug.apk": apk}})
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield server


@pytest.fixture
def phone(adb_server: AdbServer, virtual_device: VirtualAdbDevice,
          monkeypatch: pytest.MonkeyPatch) -> VirtualAdbDevice:
    for key, value in adb_server.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ANDROID_ADB_SERVER_PORT", str(adb_server.port))
    return virtual_device


def remote_toml(github: FakeGitHub) -> str:
    return honk_toml(SWEDISH, require=["verified", "built", "installed"],
                     merge=f'via = "github"\ngithub_repo = "acme/app"\n'
                           f'github_api = "{github.base_url}"\n',
                     extra='[build]\nvia = "github-actions"\nworkflow = "honk-build.yml"\n'
                           'actions_artifact = "app-debug"\nartifact = "*.apk"\ntimeout = 60\n'
                           f'[device]\nkind = "android"\npackage = "{PACKAGE}"\n'
                           'activity = ".MainActivity"\n')


def swedish() -> list[Turn]:
    return [edit_turn("app/greeting.py", '"Hello"', '"Hej"'), text_turn("Done.")]


def run(repo: RepoWithRemote, phone: VirtualAdbDevice, capsys: pytest.CaptureFixture[str]
        ) -> tuple[int, list[dict[str, object]]]:
    code, lines, _ = cli(capsys, "run", "Make the greeting Swedish", "--repo", str(repo.path),
                         "--device", phone.address, "--json")
    return code, lines


def of(lines: list[dict[str, object]], kind: str) -> list[dict[str, object]]:
    return [line for line in lines if line["type"] == kind]


def test_the_runs_exact_bytes_reach_the_phone_and_the_token_stays_on_the_api_host(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, apk: bytes,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, remote_toml(github), push=True)
    with scripted_api(monkeypatch, swedish()):
        code, lines = run(repo, phone, capsys)
    result = lines[-1]
    assert code == 0 and result["state"] == "awaiting_approval", lines[-3:]
    commit, branch, change = result["commit"], result["branch"], result["change"]
    # Pushed as the change's branch, and dispatched with exactly the documented body.
    assert run_git(repo.remote, "rev-parse", f"refs/heads/{branch}") == commit
    assert github.actions.dispatches == [{"ref": branch, "return_run_details": True,
                                          "inputs": {"sha": commit, "change": change}}]
    [started] = of(lines, "remote_build_started")
    assert started["commit"] == commit and started["workflow"] == "honk-build.yml"
    statuses = [s["status"] for s in of(lines, "remote_build_status")]
    assert statuses[-1] == "completed" and len(statuses) >= 2
    assert any("BUILD SUCCESSFUL" in str(line["line"]) for line in of(lines, "build_log"))
    # The artifact: recorded like a local build, and the very bytes on the phone.
    [built] = of(lines, "artifact_built")
    digest = hashlib.sha256(apk).hexdigest()
    assert built["sha256"] == digest and built["size"] == len(apk)
    assert Path(str(built["path"])).read_bytes() == apk
    assert phone.packages[PACKAGE].sha256 == digest
    [installed] = of(lines, "installed")
    assert installed["artifact_sha256"] == digest
    # Logs and the zip came through the second host, which never saw the token.
    assert github.actions.blob_requests
    assert all("authorization" not in r.headers for r in github.actions.blob_requests)
    assert all(TOKEN not in json.dumps(r.headers) for r in github.actions.blob_requests)


def test_a_204_dispatch_is_found_by_listing_the_runs(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    github.actions.dispatch_answers_204 = True
    configure(repo, remote_toml(github), push=True)
    with scripted_api(monkeypatch, swedish()):
        code, lines = run(repo, phone, capsys)
    assert code == 0 and lines[-1]["state"] == "awaiting_approval"
    [started] = of(lines, "remote_build_started")
    assert github.actions.run(int(str(started["run_id"])))["head_sha"] == lines[-1]["commit"]
    assert len(github.actions.dispatches) == 1


def test_a_failed_run_goes_back_to_the_agent_with_its_log(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, apk: bytes,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    built: list[str] = []

    def build(sha: str, inputs: dict[str, str]) -> tuple[str, dict[str, dict[str, bytes]]]:
        built.append(sha)
        if len(built) == 1:
            github.actions.next_conclusion = "failure"
            return "e: PlayerScreen.kt:42: Unresolved reference: PlayButton\nFAILED\n", {}
        github.actions.next_conclusion = "success"
        return "BUILD SUCCESSFUL\n", {"app-debug": {"app-debug.apk": apk}}

    github.actions.build = build
    configure(repo, remote_toml(github), push=True)
    script = [*swedish(), edit_turn("app/greeting.py", '"Hej"', '"Hej!"'), text_turn("Fixed.")]
    with scripted_api(monkeypatch, script) as api:
        code, lines = run(repo, phone, capsys)
        bodies = [json.dumps(r.body) for r in api.message_requests()]
    assert code == 0 and lines[-1]["state"] == "awaiting_approval"
    assert any("Unresolved reference: PlayButton" in body for body in bodies[2:])
    assert len(built) == 2 and built[0] != built[1]
    # The second round moved the change's branch with a lease on what Honk pushed first.
    assert run_git(repo.remote, "rev-parse", f"refs/heads/{lines[-1]['branch']}") == built[1]


def test_a_run_that_built_another_commit_is_refused_naming_both(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    github.actions.fake_head_sha = "f" * 40
    configure(repo, remote_toml(github), push=True)
    with scripted_api(monkeypatch, swedish()):
        code, lines = run(repo, phone, capsys)
    assert code == 1 and lines[-1]["state"] == "failed"
    reason = str(lines[-1]["reason"])
    assert "f" * 40 in reason and str(lines[-1]["commit"]) in reason
    assert PACKAGE not in phone.packages


def test_an_expired_artifact_stops_the_build_with_a_clear_reason(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, apk: bytes,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def build(sha: str, inputs: dict[str, str]) -> tuple[str, dict[str, dict[str, bytes]]]:
        threading.Timer(0.02, github.actions.expire_artifact, ["app-debug"]).start()
        return "BUILD SUCCESSFUL\n", {"app-debug": {"app-debug.apk": apk}}

    github.actions.build = build
    configure(repo, remote_toml(github), push=True)
    with scripted_api(monkeypatch, swedish()):
        code, lines = run(repo, phone, capsys)
    assert code == 1 and lines[-1]["state"] == "failed"
    assert "expired" in str(lines[-1]["reason"])
    assert PACKAGE not in phone.packages


def test_a_rate_limit_is_waited_out_and_said(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, apk: bytes,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    configure(repo, remote_toml(github), push=True)

    def build(sha: str, inputs: dict[str, str]) -> tuple[str, dict[str, dict[str, bytes]]]:
        # Right after the dispatch (the sim's lock is held while it builds): the next two
        # calls, following the run, answer 429 with Retry-After.
        threading.Timer(0.01, github.actions.rate_limit_next, [2],
                        {"kind": "secondary", "reset_in_s": 1.0}).start()
        return "BUILD SUCCESSFUL\n", {"app-debug": {"app-debug.apk": apk}}

    github.actions.build = build
    with scripted_api(monkeypatch, swedish()):
        code, lines = run(repo, phone, capsys)
    assert code == 0 and lines[-1]["state"] == "awaiting_approval", lines[-1]["reason"]
    waits = [line for line in of(lines, "stage_progress") if "rate limit" in str(line["message"])]
    assert waits, "the wait is shown, not silent"


def test_cancelling_the_change_cancels_its_run(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    github.actions.queued_s = 600.0  # a run that would wait for a runner for ten minutes
    configure(repo, remote_toml(github), push=True)
    with ScriptedMessagesAPI(swedish(), expected_api_key=KEY) as api:
        proc, home = start_honk(repo, api, phone, tmp_path)
        run_id = wait_for_run(home)
        proc.send_signal(signal.SIGINT)  # Ctrl+C: `honk run` cancels the change
        assert proc.wait(timeout=30) == 1, proc.stderr.read() if proc.stderr else ""
        close(proc)
    assert github.actions.cancels == [run_id]
    assert github.actions.run(run_id)["conclusion"] == "cancelled"


def test_a_crash_during_the_run_resumes_without_a_second_dispatch(
        repo: RepoWithRemote, github: FakeGitHub, phone: VirtualAdbDevice, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The run waits until the test completes it: Honk is killed while GitHub still builds
    # however long spotting the dispatch takes on a loaded machine.
    github.actions.queued_s = 600.0
    configure(repo, remote_toml(github), push=True)
    with ScriptedMessagesAPI(swedish(), expected_api_key=KEY) as api:
        proc, home = start_honk(repo, api, phone, tmp_path)
        run_id = wait_for_run(home)
        proc.kill()
        proc.wait()
        close(proc)
        assert github.actions.run(run_id)["status"] == "queued"  # killed mid-build
        # GitHub finishes a moment later: the resumed Honk polls the same run, still building
        # when it starts (unless it starts slower than this; then it finds it done).
        finish = threading.Timer(1.0, github.actions.complete, [run_id])
        finish.start()
        try:
            resumed = subprocess.run([sys.executable, "-m", "desktop", "resume",
                                      change_of(home), "--json"], env=honk_env(home, api),
                                     capture_output=True, text=True, timeout=120)
        finally:
            finish.cancel()
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout.splitlines()[-1])
    assert result["state"] == "awaiting_approval"
    assert len(github.actions.dispatches) == 1 and github.actions.cancels == []
    assert f"re-attached to run {run_id}" in resumed.stdout
    assert phone.packages[PACKAGE].sha256


# -- a `honk run` in its own process, for the cancel and crash tests ---------------------------

def honk_env(home: Path, api: ScriptedMessagesAPI) -> dict[str, str]:
    return {**os.environ, "HONK_HOME": str(home), "ANTHROPIC_API_KEY": KEY,
            "ANTHROPIC_BASE_URL": api.base_url, "HONK_RETRY_BACKOFF_S": "0.01"}


def start_honk(repo: RepoWithRemote, api: ScriptedMessagesAPI, phone: VirtualAdbDevice,
               tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "desktop", "run", "Make the greeting Swedish", "--repo",
         str(repo.path), "--device", phone.address, "--json"],
        env=honk_env(home, api), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return proc, home


def show(home: Path, change: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "desktop", "show", change, "--json"],
                         env={**os.environ, "HONK_HOME": str(home)}, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    data: dict[str, object] = json.loads(out)
    return data


def change_of(home: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "desktop", "history", "--json"],
                         env={**os.environ, "HONK_HOME": str(home)}, capture_output=True,
                         text=True, timeout=30, check=True).stdout
    return str(json.loads(out.splitlines()[0])["id"])


def wait_for_run(home: Path, timeout: float = 60) -> int:
    """The run id once the journal records the dispatch."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (home / "journal.sqlite3").exists():
            try:
                events = show(home, change_of(home))["events"]
            except (subprocess.CalledProcessError, IndexError, json.JSONDecodeError):
                events = []
            assert isinstance(events, list)
            started = [e for e in events if e["type"] == "remote_build_started"]
            if started:
                return int(started[-1]["run_id"])
        time.sleep(0.1)
    raise AssertionError("no run was dispatched")


def close(proc: subprocess.Popen[str]) -> None:
    if proc.stderr is not None:
        proc.stderr.close()
