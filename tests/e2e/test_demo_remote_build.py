"""`honk demo --headless --remote-build`: the demo's build goes through the loopback GitHub
Actions (dispatch, queued -> in progress -> completed, artifact download) and the APK its runner
built from the change's commit is the one installed on the virtual phone. Real git, the real
adb binary, the virtual phone, the loopback GitHub; a child process as a newcomer runs it, and
the environment in this process to look at the stand-ins themselves."""

from __future__ import annotations

import asyncio
import io
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from desktop.adapters.git.cli import git
from desktop.cli.main import main
from desktop.core.config import load_config
from desktop.demo.actions import ARTIFACT, OWNER, REPO_NAME, WORKFLOW, remote_build_toml
from desktop.demo.environment import PACKAGE, DemoEnvironment, demo_resources, run_story
from tests.helpers.recording_keyring import BACKEND, LOG_ENV, calls

ROOT = Path(__file__).resolve().parents[2]
SHA = r"[0-9a-f]{64}"


def _honk(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "desktop", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=90,
                          check=False, stdin=subprocess.DEVNULL)


def _one(pattern: str, out: str) -> re.Match[str]:
    found = list(re.finditer(pattern, out, re.MULTILINE))
    assert len(found) == 1, f"{pattern!r} matched {len(found)} times in:\n{out}"
    return found[0]


def test_headless_remote_build_shows_the_run_and_installs_the_artifact_it_built(
        tmp_path: Path) -> None:
    log = tmp_path / "keyring.log"
    # A person's own token in the environment must not be what the demo uses: the loopback
    # GitHub knows only the demo's, so the build would fail with this one.
    done = _honk("demo", "--headless", "--remote-build",
                 env={"GITHUB_TOKEN": "ghp_PersonsOwnToken0123456789abcdefABCD",
                      "PYTHON_KEYRING_BACKEND": BACKEND, LOG_ENV: str(log)})
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    dispatched = _one(rf"^DEMO  dispatched {WORKFLOW} to GitHub Actions: run (\d+) "
                      rf"\((https://\S+/actions/runs/(\d+))\) builds ([0-9a-f]{{10}}) pushed as "
                      r"(honk/\S+)$", out)
    run_id, url, url_run, commit, branch = dispatched.groups()
    assert url_run == run_id and f"/{OWNER}/{REPO_NAME}/" in url
    # Followed: queued, in progress, completed, in that order, before the artifact arrives.
    followed = [_one(rf"^DEMO  run {run_id} {status}$", out).start()
                for status in ("queued", "in progress", "completed: success")]
    uploaded = _one(rf"^DEMO  run log: \[build\] Uploaded app-debug.apk as artifact {ARTIFACT}: "
                    rf"(\d+) bytes, sha256 ({SHA})$", out)
    downloaded = _one(rf"^DEMO  downloaded app-debug.apk from the run \((\d+) bytes, "
                      rf"sha256 ({SHA})\)$", out)
    assert followed == sorted(followed) and followed[-1] < downloaded.start()
    assert "DEMO  run log: [build] BUILD SUCCESSFUL: build/outputs/app-debug.apk" in out
    size, runner_sha = uploaded.groups()
    assert downloaded.groups() == (size, runner_sha)
    # The virtual phone holds exactly what the run's runner produced.
    installed = _one(r"^DEMO  installed on Honk Demo Phone \(\S+\) through adb "
                     r"\(sha256 ([0-9a-f]{12})\)$", out)
    assert runner_sha.startswith(installed.group(1))
    check = _one(rf"^DEMO  check remote build: ok \(run {run_id} on the loopback GitHub built "
                 rf"{commit} \(queued -> in_progress -> completed\); the runner uploaded "
                 rf"app-debug.apk sha256 ({SHA}); the phone holds sha256 ({SHA})\)$", out)
    assert check.groups() == (runner_sha, runner_sha)
    assert re.search(rf"^DEMO  merged into origin/main at {commit}$", out, re.MULTILINE)
    assert "DEMO  check phone: ok" in out
    assert not re.search(r"^DEMO  (check \S+( \S+)?: FAILED|FAILED:)", out, re.MULTILINE)
    assert out.rstrip().endswith("DEMO  OK: edits streamed, verified, judged, built on GitHub "
                                 "Actions, installed, approved, merged, audit verified")
    assert branch.startswith("honk/")
    assert [c for c in calls(log) if c[0] != "init"] == []  # no keyring was asked anything


def test_the_environment_dispatches_to_its_github_and_stops_it_on_exit() -> None:
    out = io.StringIO()
    with DemoEnvironment(remote_build=True) as demo:
        assert demo.actions is not None
        api_url, root = demo.actions.api_url, demo.root
        config = load_config((demo.repo / "honk.toml").read_text("utf-8"))
        assert config.build is not None and config.build.remote
        assert config.build.github_api == api_url and config.merge.via == "git"
        assert demo.env["GITHUB_TOKEN"] == demo.actions.token
        assert git("status", "--porcelain", cwd=demo.repo) == ""  # committed, as the sample
        code = asyncio.run(run_story(demo, demo.suggested_requests[1], out))
        assert code == 0, out.getvalue()
        [dispatch] = demo.actions.dispatches()
        commit, change = dispatch["inputs"]["sha"], dispatch["inputs"]["change"]
        assert dispatch == {"ref": dispatch["ref"], "return_run_details": True,
                            "inputs": {"sha": commit, "change": change}}
        # The change's branch in production is the commit the runner checked out and built.
        assert git("rev-parse", f"refs/heads/{dispatch['ref']}", cwd=demo.remote) == commit
        [built] = demo.actions.builds
        assert built.ok and built.commit == commit and built.file == "app-debug.apk"
        assert demo.device.packages[PACKAGE].sha256 == built.sha256
        merged = git("rev-parse", "main", cwd=demo.remote)
        assert git("merge-base", "--is-ancestor", commit, merged, cwd=demo.remote) == ""
    assert not root.exists()
    port = urlsplit(api_url).port
    assert port is not None
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the loopback GitHub still listens"


def test_the_sample_apps_build_table_is_what_goes_to_github_actions() -> None:
    text = (demo_resources() / "demo" / "app" / "honk.toml").read_text("utf-8")
    local = load_config(text)
    remote = load_config(remote_build_toml(text, "http://127.0.0.1:9", 120))
    assert remote.build is not None and local.build is not None
    assert (remote.build.via, remote.build.workflow, remote.build.actions_artifact,
            remote.build.github_repo) == ("github-actions", WORKFLOW, ARTIFACT,
                                          f"{OWNER}/{REPO_NAME}")
    assert remote.device == local.device and remote.merge == local.merge
    assert remote.verify == local.verify and remote.slack == local.slack
    with pytest.raises(ValueError, match=r"no \[build\] table"):
        remote_build_toml("[agent]\nmax_turns = 3\n", "http://127.0.0.1:9", 120)


def test_request_without_headless_is_refused_clearly(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--request", "Make the title bigger"]) == 2
    err = capsys.readouterr().err
    assert "--request goes with --headless" in err and "honk demo --headless" in err
