"""`honk approve` over the GitHub route, end to end: the real CLI, real git with a bare remote,
and the loopback GitHub server (backed by that remote) in place of GitHub itself.

A retry after GitHub merged the pull request but the first `honk approve` was killed before
it heard so finds that pull request merged with the approved commit and records it once:
nothing is pushed, opened or merged a second time."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from desktop.sim.github_api import FakeGitHub
from desktop.sim.messages_api import ScriptedMessagesAPI
from tests.helpers.approvals import Capsys, audit_actions, journal, start_change
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.helpers.scripted_api import cli

TOKEN = "ghp_RouteTestToken0123456789abcdefABCD"


@pytest.fixture
def github(repo: RepoWithRemote, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub(git_dir=repo.remote, token=TOKEN, owner="acme", repo="app") as server:
        monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
        yield server


def via_github(github: FakeGitHub) -> str:
    return f'via = "github"\ngithub_repo = "acme/app"\ngithub_api = "{github.base_url}"\n'


def merges(github: FakeGitHub) -> list[object]:
    """The sha guard of every merge request GitHub received."""
    return [r.body.get("sha") for r in github.requests
            if r.method == "PUT" and r.path.endswith("/merge") and isinstance(r.body, dict)]


def test_approve_merges_through_a_pull_request_guarded_by_the_commit(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, github: FakeGitHub,
        capsys: Capsys) -> None:
    change, commit = start_change(repo, capsys, merge=via_github(github))
    code, lines, out = cli(capsys, "approve", change, "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    [merged] = [x for x in lines if x["type"] == "merged"]
    assert merged["pull_request"] == "https://github.invalid/acme/app/pull/1"
    assert merged["already_merged"] is False
    assert merges(github) == [commit]
    tip = run_git(repo.remote, "rev-parse", "main")
    assert merged["merged_commit"] == tip
    assert commit in run_git(repo.remote, "rev-list", "main").split()
    assert github.pull(1)["body"].startswith(f"Honk change `{change}`")
    assert audit_actions(change) == [("approved", commit), ("merged", commit)]
    assert TOKEN not in out


def test_a_retry_after_github_merged_but_the_approval_was_cut_records_that_merge_once(
        repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, github: FakeGitHub,
        capsys: Capsys) -> None:
    change, commit = start_change(repo, capsys, merge=via_github(github))
    approving: list[int] = []  # its pid; the cut is armed before it can reach GitHub
    github.after_merge = lambda _number: os.kill(approving[0], signal.SIGKILL)
    proc = subprocess.Popen([sys.executable, "-m", "desktop", "approve", change],
                            env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    approving.append(proc.pid)
    try:
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        github.after_merge = None
    tip = run_git(repo.remote, "rev-parse", "main")
    assert github.pull(1)["merged"] is True and merges(github) == [commit]
    assert [e["type"] for e in journal(change)].count("merged") == 0  # never heard of it
    assert audit_actions(change) == [("approved", commit)]
    requests_before = len(github.requests)

    code, lines, out = cli(capsys, "approve", change, "--json")
    assert code == 0, out
    assert lines[-1]["state"] == "merged"
    [merged] = [x for x in lines if x["type"] == "merged"]
    assert merged["already_merged"] is True
    assert merged["merged_commit"] == tip
    assert merged["pull_request"] == "https://github.invalid/acme/app/pull/1"
    assert any("already merged" in str(x.get("message")) for x in lines if x["type"] == "notice")
    # One look at the closed pull requests: no push, no new pull request, no second merge.
    retry = github.requests[requests_before:]
    assert [(r.method, r.path) for r in retry] == [("GET", "/repos/acme/app/pulls")]
    assert retry[0].headers.get("authorization") == f"Bearer {TOKEN}"
    assert run_git(repo.remote, "rev-parse", "main") == tip
    assert merges(github) == [commit]
    assert [e["type"] for e in journal(change)].count("merged") == 1
    assert audit_actions(change) == [("approved", commit), ("merged", commit)]
