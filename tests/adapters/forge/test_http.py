"""The shared GitHub HTTP core: paging, rate limits and where the token may go.

Shapes the loopback GitHub does not play (check-runs over several pages, an off-host Link, a
GitHub Enterprise that refuses ``return_run_details``) are answered by httpx's MockTransport,
written from GitHub's documentation.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from desktop.adapters.forge.actions import ActionsClient
from desktop.adapters.forge.github import GitHubClient, GitHubForbidden, GitHubUnreachable
from desktop.sim.github_api import FakeGitHub
from tests.helpers.gitrepo import RepoWithRemote

TOKEN = "ghp_CoreToken0123456789abcdefABCDEF"
API = "https://ghe.example/api/v3"
SHA = "a" * 40


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def mock(answer: Callable[[httpx.Request], httpx.Response],
         seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)
    return httpx.MockTransport(handler)


async def test_required_checks_reads_every_page_of_check_runs() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/status"):
            return httpx.Response(200, json={"state": "success", "statuses": []})
        page = int(request.url.params.get("page", "1"))
        runs = [{"name": f"check{page}-{i}", "status": "completed", "conclusion": "success"}
                for i in range(2)]
        if page == 3:
            runs[1]["conclusion"] = "failure"
        link = f'<{API}/repos/acme/app/commits/{SHA}/check-runs?per_page=2&page={page + 1}>; ' \
               'rel="next"' if page < 3 else ""
        return httpx.Response(200, json={"total_count": 6, "check_runs": runs},
                              headers={"Link": link} if link else {})

    async with GitHubClient(TOKEN, base_url=API, transport=mock(answer, seen)) as gh:
        status = await gh.required_checks("acme", "app", SHA, required=["check3-0"])
    assert [c.name for c in status.checks] == [f"check{p}-{i}" for p in (1, 2, 3)
                                               for i in (0, 1)]
    assert status.state == "failure" and status.failed == ["check3-1"]
    assert len(seen) == 4
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in seen)


async def test_a_link_to_another_host_is_not_followed_with_the_token() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total_count": 4, "jobs": [
            {"id": 1, "name": "build", "status": "queued", "conclusion": None}]},
            headers={"Link": '<https://evil.example/next?page=2>; rel="next"'})

    async with ActionsClient(TOKEN, base_url=API, transport=mock(answer, seen)) as gh:
        with pytest.raises(GitHubUnreachable, match="a Link to the same host"):
            await gh.jobs("acme", "app", 7)
    assert [r.url.host for r in seen] == ["ghe.example"]


async def test_an_enterprise_that_refuses_return_run_details_is_asked_without_it() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        if "return_run_details" in json.loads(request.content):
            return httpx.Response(422, json={
                "message": "Invalid request.\n\n\"return_run_details\" is not a permitted key."})
        return httpx.Response(204)

    async with ActionsClient(TOKEN, base_url=API, transport=mock(answer, seen)) as gh:
        assert await gh.dispatch("acme", "app", "honk-build.yml", "honk/c1", {"sha": SHA}) is None
    assert [json.loads(r.content) for r in seen] == [
        {"ref": "honk/c1", "inputs": {"sha": SHA}, "return_run_details": True},
        {"ref": "honk/c1", "inputs": {"sha": SHA}}]


async def test_which_403s_and_429s_are_waited_for() -> None:
    answers = iter([
        httpx.Response(429, json={"message": "Too many requests"}),  # no hint: a minute
        httpx.Response(403, json={"message": "You have exceeded a secondary rate limit."}),
        httpx.Response(200, json={"id": 1, "status": "queued", "conclusion": None,
                                  "head_sha": SHA, "created_at": "2026-01-01T00:00:00Z"}),
        httpx.Response(403, json={"message": "Resource not accessible by integration"}),
    ])
    sleeps, seen = Sleeps(), []
    async with ActionsClient(TOKEN, base_url=API, sleep=sleeps,
                             transport=mock(lambda r: next(answers), seen)) as gh:
        assert (await gh.get_run("acme", "app", 1)).head_sha == SHA
        with pytest.raises(GitHubForbidden, match="actions: write") as info:
            await gh.get_run("acme", "app", 1)
    assert sleeps.waits == [60.0, 60.0]
    assert "Resource not accessible by integration" in str(info.value)


async def test_the_merge_route_client_waits_out_a_rate_limit_too(repo: RepoWithRemote) -> None:
    sleeps = Sleeps()
    told: list[str] = []
    with FakeGitHub(git_dir=repo.remote, token=TOKEN) as sim:
        sim.actions.clock = lambda: 1_767_225_600.0
        sim.actions.rate_limit_next(1, "secondary", reset_in_s=7)
        async with GitHubClient(TOKEN, base_url=sim.base_url, sleep=sleeps,
                                on_wait=lambda s, why: told.append(why)) as gh:
            status = await gh.required_checks("acme", "app", repo.git("rev-parse", "HEAD"))
    assert status.summary() == "no checks reported"
    assert sleeps.waits == [7.0] and told == ["GitHub rate limit (secondary): waiting 7 s"]
