"""The GitHub route against the loopback GitHub server backed by a real bare repository."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from desktop.adapters.forge.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubUnreachable,
    GitHubValidation,
    HeadChanged,
    NotMergeable,
)
from desktop.adapters.forge.github import ChecksStatus, GitHubClient
from desktop.adapters.git.merge import GitMerger
from desktop.sim.github_api import FakeGitHub
from desktop.sim.stand_ins import free_port
from tests.helpers.gitrepo import RepoWithRemote, run_git

TOKEN = "ghp_S3cretTokenValue0123456789abcdef"
BRANCH = "honk/c1-greeting"


@pytest.fixture
def approved(repo: RepoWithRemote, tmp_path: Path) -> str:
    """An approved commit on a honk branch, pushed to the remote the way the route does."""
    repo.git("checkout", "-q", "-b", BRANCH)
    repo.write("app/greeting.py", 'GREETING = "Hi"\n')
    sha = repo.commit_all("change greeting")
    repo.git("checkout", "-q", "main")
    GitMerger(repo.path, tmp_path / "scratch").push_branch(branch=BRANCH, sha=sha,
                                                           remote="origin")
    return sha


@pytest.fixture
def sim(repo: RepoWithRemote) -> Iterator[FakeGitHub]:
    with FakeGitHub(git_dir=repo.remote, token=TOKEN, owner="acme", repo="app") as server:
        yield server


@pytest.fixture
async def gh(sim: FakeGitHub) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(TOKEN, base_url=sim.base_url) as client:
        yield client


def remote_main(repo: RepoWithRemote) -> str:
    return run_git(repo.remote, "rev-parse", "refs/heads/main")


async def open_pr(gh: GitHubClient) -> int:
    pr = await gh.create_pull("acme", "app", BRANCH, "main", "Change the greeting",
                              "Request: say Hi\n\nJudge: approve")
    return pr.number


async def test_pr_opened_with_body_headers_and_reused(gh: GitHubClient, sim: FakeGitHub,
                                                     approved: str) -> None:
    pr = await gh.create_pull("acme", "app", BRANCH, "main", "Change the greeting",
                              "Request: say Hi\n\nJudge: approve")
    assert (pr.number, pr.head_sha, pr.base_ref, pr.state) == (1, approved, "main", "open")
    shown = sim.pull(1)
    assert shown["title"] == "Change the greeting"
    assert shown["body"] == "Request: say Hi\n\nJudge: approve"
    post = next(r for r in sim.requests if r.method == "POST")
    assert post.path == "/repos/acme/app/pulls"
    assert post.body == {"title": "Change the greeting", "head": BRANCH, "base": "main",
                         "body": "Request: say Hi\n\nJudge: approve"}
    assert post.headers["accept"] == "application/vnd.github+json"
    assert post.headers["x-github-api-version"] == "2022-11-28"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    again = await gh.create_pull("acme", "app", BRANCH, "main", "other title", "other")
    assert again.number == 1 and again.title == "Change the greeting"
    assert sum(r.method == "POST" for r in sim.requests) == 1
    assert (await gh.get_pull("acme", "app", 1)).mergeable is True


async def test_merge_with_sha_guard_writes_a_real_merge_commit(
    gh: GitHubClient, sim: FakeGitHub, repo: RepoWithRemote, approved: str
) -> None:
    before = remote_main(repo)
    number = await open_pr(gh)
    merged = await gh.merge_pull("acme", "app", number, approved, "merge", "Change the greeting")
    assert remote_main(repo) == merged
    assert run_git(repo.remote, "rev-list", "--parents", "-n1", merged).split()[1:] == [
        before, approved]
    put = next(r for r in sim.requests if r.method == "PUT")
    assert put.path == "/repos/acme/app/pulls/1/merge"
    assert put.body == {"sha": approved, "merge_method": "merge",
                        "commit_title": "Change the greeting"}
    pr = await gh.get_pull("acme", "app", number)
    assert pr.merged and pr.merge_commit_sha == merged
    # A second click: GitHub says 405, the client sees it is merged from that head already.
    assert await gh.merge_pull("acme", "app", number, approved, "merge", "x") == merged
    assert remote_main(repo) == merged


async def test_head_changed_is_409_and_nothing_merges(
    gh: GitHubClient, repo: RepoWithRemote, approved: str
) -> None:
    number = await open_pr(gh)
    before = remote_main(repo)
    repo.git("checkout", "-q", BRANCH)
    repo.write("app/extra.py", "X = 1\n")
    repo.commit_all("a commit nobody approved")
    repo.git("push", "-q", "origin", BRANCH)
    with pytest.raises(HeadChanged) as info:
        await gh.merge_pull("acme", "app", number, approved, "merge", "t")
    assert info.value.status == 409
    assert "Head branch was modified. Review and try the merge again." in str(info.value)
    assert approved[:12] in str(info.value)
    assert remote_main(repo) == before


async def test_not_mergeable_is_405(gh: GitHubClient, sim: FakeGitHub, repo: RepoWithRemote,
                                    approved: str) -> None:
    number = await open_pr(gh)
    sim.set_mergeable(number, False)
    before = remote_main(repo)
    with pytest.raises(NotMergeable, match="Pull Request is not mergeable") as info:
        await gh.merge_pull("acme", "app", number, approved, "merge", "t")
    assert info.value.status == 405 and "Nothing was merged" in str(info.value)
    assert remote_main(repo) == before


async def test_real_conflict_makes_the_pr_unmergeable(
    gh: GitHubClient, repo: RepoWithRemote, approved: str, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    run_git(tmp_path, "clone", "-q", str(repo.remote), str(other))
    (other / "app" / "greeting.py").write_text('GREETING = "Howdy"\n')
    run_git(other, "commit", "-q", "-am", "conflicting")
    run_git(other, "push", "-q", "origin", "main")
    number = await open_pr(gh)
    assert (await gh.get_pull("acme", "app", number)).mergeable is False
    with pytest.raises(NotMergeable):
        await gh.merge_pull("acme", "app", number, approved, "merge", "t")


async def test_checks_pending_failed_and_passed(gh: GitHubClient, sim: FakeGitHub,
                                                approved: str) -> None:
    status = await gh.required_checks("acme", "app", approved)
    assert (status.state, status.summary()) == ("success", "no checks reported")
    status = await gh.required_checks("acme", "app", approved, required=["ci"])
    assert status.state == "pending" and status.pending == ["ci"]
    sim.set_status(approved, "ci", "pending", "running")
    sim.set_check_run(approved, "lint", "in_progress")
    status = await gh.required_checks("acme", "app", approved, required=["ci"])
    assert status.state == "pending" and status.pending == ["ci", "lint"]
    sim.set_check_run(approved, "lint", "completed", "failure")
    status = await gh.required_checks("acme", "app", approved)
    assert status.state == "failure" and status.failed == ["lint"]
    assert status.summary() == "failure: ci pending; lint failure"
    sim.set_status(approved, "ci", "success")
    sim.set_check_run(approved, "lint", "completed", "skipped")
    status = await gh.required_checks("acme", "app", approved, required=["ci", "lint"])
    assert status.state == "success" and status.summary() == "success: ci passed; lint passed"


async def test_required_checks_block_the_merge_until_they_pass(
    repo: RepoWithRemote, approved: str
) -> None:
    with FakeGitHub(git_dir=repo.remote, token=TOKEN, required_checks=["ci"]) as sim:
        async with GitHubClient(TOKEN, base_url=sim.base_url) as gh:
            number = await open_pr(gh)
            with pytest.raises(NotMergeable, match='Required status check "ci" is expected'):
                await gh.merge_pull("acme", "app", number, approved, "merge", "t")
            sim.set_status(approved, "ci", "pending")
            ticks: list[tuple[str, float]] = []

            def tick(status: ChecksStatus, left: float) -> None:
                ticks.append((status.state, left))
                if len(ticks) == 1:  # CI passes only after a pending poll (not on a timer)
                    sim.set_status(approved, "ci", "success")

            final = await gh.wait_for_checks("acme", "app", approved, timeout=10,
                                             interval=0.05, required=["ci"], on_tick=tick)
            assert final.state == "success"
            assert [state for state, _ in ticks] == ["pending", "success"]
            assert 0 < ticks[-1][1] < 10
            merged = await gh.merge_pull("acme", "app", number, approved, "merge", "t")
            assert remote_main(repo) == merged


async def test_wait_for_checks_gives_up_at_the_deadline(gh: GitHubClient, sim: FakeGitHub,
                                                        approved: str) -> None:
    sim.set_status(approved, "ci", "pending")
    final = await gh.wait_for_checks("acme", "app", approved, timeout=0.2, interval=0.05)
    assert final.state == "pending" and final.pending == ["ci"]


async def test_enterprise_base_url(repo: RepoWithRemote, approved: str) -> None:
    with FakeGitHub(git_dir=repo.remote, token=TOKEN, prefix="/api/v3") as sim:
        assert sim.base_url.endswith("/api/v3")
        async with GitHubClient(TOKEN, base_url=sim.base_url + "/") as gh:
            assert await open_pr(gh) == 1
        assert sim.requests[-1].path == "/api/v3/repos/acme/app/pulls"


async def test_bad_token_is_401_and_never_shown(sim: FakeGitHub, approved: str) -> None:
    wrong = "ghp_WrongTokenValue999999999999999"
    async with GitHubClient(wrong, base_url=sim.base_url) as gh:
        with pytest.raises(GitHubAuthError) as info:
            await open_pr(gh)
        assert info.value.status == 401 and "Bad credentials" in str(info.value)
        assert "keyring" in str(info.value)
        for text in (str(info.value), repr(info.value), repr(info.value.args), repr(gh)):
            assert wrong not in text and TOKEN not in text


async def test_token_never_appears_in_any_error(gh: GitHubClient, sim: FakeGitHub,
                                                approved: str) -> None:
    errors: list[GitHubError] = []
    for call in (
        gh.get_pull("acme", "app", 99),
        gh.get_pull("acme", "other", 1),
        gh.create_pull("acme", "app", "no-such-branch", "main", "t", "b"),
        gh.merge_pull("acme", "app", 42, approved, "merge", "t"),
    ):
        with pytest.raises(GitHubError) as info:
            await call
        errors.append(info.value)
    assert isinstance(errors[0], GitHubNotFound) and "github_repo" in str(errors[0])
    assert isinstance(errors[2], GitHubValidation) and "head invalid" in str(errors[2])
    # Nothing listens there; not a port-0 port, which our client could get as its own
    # source port and connect to itself (see free_port).
    dead = f"http://127.0.0.1:{free_port()}"
    async with GitHubClient(TOKEN, base_url=dead, timeout=2) as down:
        with pytest.raises(GitHubUnreachable) as info:
            await down.get_pull("acme", "app", 1)
        errors.append(info.value)
    assert "127.0.0.1" in str(errors[-1])
    for error in errors:
        assert TOKEN not in str(error) and TOKEN not in repr(error)
        assert error.__cause__ is None  # no httpx exception (request, headers) chained
    assert TOKEN not in repr(gh)


@pytest.mark.parametrize(
    ("token", "base_url", "needle"),
    [
        ("", "https://api.github.com", "token is empty"),
        (TOKEN + "\n", "https://api.github.com", "whitespace"),
        (TOKEN, "ftp://ghe.example", "base URL = 'ftp://ghe.example'"),
    ],
)
async def test_bad_client_settings_are_named(token: str, base_url: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle) as info:
        GitHubClient(token, base_url=base_url)
    assert TOKEN not in str(info.value)


async def test_bad_call_arguments_are_named(gh: GitHubClient, approved: str) -> None:
    with pytest.raises(ValueError, match="GitHub owner = 'ac/me'"):
        await gh.get_pull("ac/me", "app", 1)
    with pytest.raises(ValueError, match="merge method = 'ff-only'"):
        await gh.merge_pull("acme", "app", 1, approved, "ff-only", "t")
    with pytest.raises(ValueError, match="approved sha = 'abc'"):
        await gh.merge_pull("acme", "app", 1, "abc", "merge", "t")


async def test_find_merged_pull_knows_a_merge_by_its_head_commit_only(
        gh: GitHubClient, sim: FakeGitHub, repo: RepoWithRemote, approved: str) -> None:
    number = await open_pr(gh)
    assert await gh.find_merged_pull("acme", "app", BRANCH, "main", approved) is None  # open
    await gh.merge_pull("acme", "app", number, approved, "merge", "t")
    listed = await gh._request("GET", "/repos/acme/app/pulls", params={"state": "closed"})
    assert "merged" not in listed[0] and listed[0]["merged_at"]  # GitHub's list shape
    found = await gh.find_merged_pull("acme", "app", BRANCH, "main", approved)
    assert found is not None
    assert (found.number, found.merged, found.merge_commit_sha) == (number, True,
                                                                    remote_main(repo))
    assert await gh.find_merged_pull("acme", "app", BRANCH, "main", "f" * 40) is None
    assert await gh.find_merged_pull("acme", "app", BRANCH, "release", approved) is None
