"""The shared GitHub HTTP core: paging, rate limits and where the token may go.

Shapes the loopback GitHub does not play (check-runs over several pages, an off-host Link, a
GitHub Enterprise that refuses ``return_run_details``) are answered by httpx's MockTransport,
written from GitHub's documentation.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import certifi
import httpx
import pytest

from desktop.adapters.forge import http as forge_http
from desktop.adapters.forge.actions import ActionsClient
from desktop.adapters.forge.errors import GitHubForbidden, GitHubUnreachable
from desktop.adapters.forge.github import GitHubClient
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
    sleeps, seen = Sleeps(), list[httpx.Request]()
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


class _Json(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b'{"resources": {}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def plain_api() -> Iterator[str]:
    """A bare HTTP server answering ``{}``-ish JSON: a client with no test transport."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Json)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def tls_builds(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads that built TLS settings (CA certificates parsed), from now on."""
    monkeypatch.setattr(forge_http, "_TLS", {})
    built: list[str] = []
    real = ssl.create_default_context

    def counted(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        built.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(ssl, "create_default_context", counted)
    return built


async def test_tls_settings_are_built_once_off_the_loop_and_shared(
        plain_api: str, tls_builds: list[str]) -> None:
    clients: list[GitHubClient | ActionsClient] = [GitHubClient(TOKEN, base_url=plain_api),
                                                   ActionsClient(TOKEN, base_url=plain_api)]
    assert tls_builds == []  # making a client (on the loop, as the merge route does) builds none
    for client in clients:
        async with client:
            assert await client._core.json("GET", "/rate_limit") == {"resources": {}}
    assert len(tls_builds) == 1  # not one per client, nor per host a client talks to
    assert tls_builds[0] != threading.current_thread().name


async def test_the_tls_settings_follow_ssl_cert_file(monkeypatch: pytest.MonkeyPatch,
                                                     tls_builds: list[str]) -> None:
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(var, raising=False)
    default = forge_http.tls_context()  # certifi's CAs, as httpx uses by default
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    chosen = forge_http.tls_context()
    assert chosen is not default and forge_http.tls_context() is chosen
    monkeypatch.delenv("SSL_CERT_FILE")
    assert forge_http.tls_context() is default
    assert len(tls_builds) == 2


async def test_a_closed_client_sends_nothing(plain_api: str) -> None:
    gh = GitHubClient(TOKEN, base_url=plain_api)
    await gh.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await gh._core.json("GET", "/rate_limit")


async def test_a_large_answer_is_parsed_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    run = {"id": 1, "status": "completed", "conclusion": "success", "head_sha": SHA,
           "created_at": "2026-01-01T00:00:00Z", "padding": "x" * forge_http.LARGE_BODY}
    parsed_on: list[str] = []
    real = json.loads

    def loads(*args: Any, **kwargs: Any) -> Any:
        parsed_on.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(json, "loads", loads)
    async with ActionsClient(TOKEN, base_url=API,
                             transport=mock(lambda r: httpx.Response(200, json=run), [])) as gh:
        got = await gh.get_run("acme", "app", 1)
    assert got.head_sha == SHA and got.conclusion == "success"
    assert parsed_on and threading.current_thread().name not in parsed_on
