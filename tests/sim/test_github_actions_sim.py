"""The loopback GitHub's Actions on the wire, spoken to with plain httpx."""

# The loopback GitHub's fixtures are imported by name from tests.helpers.github_actions; their
# parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from desktop.sim.github_api import FakeGitHub
from tests.helpers.github_actions import (  # noqa: F401
    BRANCH,
    TOKEN,
    Clock,
    clock,
    pushed,
    sim,
)

ACTIONS = "/repos/acme/app/actions"
WORKFLOW = f"{ACTIONS}/workflows/honk-build.yml"


@pytest.fixture
def http(sim: FakeGitHub) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.base_url,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        yield client


def dispatch(http: httpx.Client, ref: str = BRANCH, details: bool = True,
             workflow: str = WORKFLOW) -> httpx.Response:
    return http.post(f"{workflow}/dispatches",
                     json={"ref": ref, "inputs": {"sha": "x", "change": "c1"},
                           "return_run_details": details})


def every_page(http: httpx.Client, url: str, key: str) -> list[list[Any]]:
    pages = []
    next_url: str | None = url
    while next_url:
        response = http.get(next_url)
        assert response.status_code == 200
        pages.append(response.json()[key])
        next_url = response.links.get("next", {}).get("url")
    return pages


def test_dispatch_200_names_the_run_whose_head_is_the_branch(
        sim: FakeGitHub, http: httpx.Client, pushed: str) -> None:
    answer = dispatch(http)
    assert answer.status_code == 200
    run_id = answer.json()["workflow_run_id"]
    assert answer.json()["run_url"] == f"{sim.base_url}{ACTIONS}/runs/{run_id}"
    assert answer.json()["html_url"].endswith(f"/acme/app/actions/runs/{run_id}")
    assert sim.actions.dispatches == [{"ref": BRANCH, "inputs": {"sha": "x", "change": "c1"},
                                       "return_run_details": True}]
    run = http.get(f"{ACTIONS}/runs/{run_id}").json()
    assert (run["head_sha"], run["head_branch"], run["event"]) == (pushed, BRANCH,
                                                                  "workflow_dispatch")
    assert (run["status"], run["conclusion"], run["run_attempt"]) == ("queued", None, 1)
    assert run["created_at"] == "2026-01-01T00:00:00Z"


def test_runs_move_from_queued_to_in_progress_to_completed(
        sim: FakeGitHub, http: httpx.Client, clock: Clock, pushed: str) -> None:
    sim.actions.queued_s, sim.actions.running_s = 5, 60
    sim.actions.next_conclusion = "failure"
    run_id = dispatch(http).json()["workflow_run_id"]
    seen = []
    for step in (0, 5, 59, 1):
        clock.now += step
        run = http.get(f"{ACTIONS}/runs/{run_id}").json()
        seen.append((run["status"], run["conclusion"]))
    assert seen == [("queued", None), ("in_progress", None), ("in_progress", None),
                    ("completed", "failure")]


def test_204_answers_unknown_workflows_and_refs(sim: FakeGitHub, http: httpx.Client,
                                                pushed: str) -> None:
    plain = dispatch(http, details=False)
    assert (plain.status_code, plain.content) == (204, b"")
    sim.actions.dispatch_answers_204 = True
    assert dispatch(http).status_code == 204
    assert dispatch(http, workflow=f"{ACTIONS}/workflows/4001").status_code == 204  # by id
    missing = dispatch(http, workflow=f"{ACTIONS}/workflows/nope.yml")
    assert (missing.status_code, missing.json()["message"]) == (404, "Not Found")
    bad_ref = dispatch(http, ref="no-such-branch")
    assert bad_ref.status_code == 422 and "No ref found for: no-such-branch" in bad_ref.text
    assert len(sim.actions.dispatches) == 5  # every body is recorded, refused ones too
    listed = http.get(f"{WORKFLOW}/runs").json()
    assert listed["total_count"] == 3


def test_fake_head_sha_is_what_runs_claim(sim: FakeGitHub, http: httpx.Client,
                                          pushed: str) -> None:
    sim.actions.fake_head_sha = "f" * 40
    run_id = dispatch(http).json()["workflow_run_id"]
    assert http.get(f"{ACTIONS}/runs/{run_id}").json()["head_sha"] == "f" * 40


def test_runs_list_filters_and_pages_with_link_headers(
        sim: FakeGitHub, http: httpx.Client, clock: Clock, pushed: str) -> None:
    ids = []
    for _ in range(5):
        ids.append(dispatch(http).json()["workflow_run_id"])
        clock.now += 1
    dispatch(http, ref="main")
    first = http.get(f"{WORKFLOW}/runs", params={"event": "workflow_dispatch",
                                                 "branch": BRANCH, "per_page": "2"})
    assert first.json()["total_count"] == 5
    assert 'rel="next"' in first.headers["link"] and 'rel="last"' in first.headers["link"]
    pages = every_page(http, str(first.url), "workflow_runs")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [r["id"] for p in pages for r in p] == ids[::-1]  # newest first
    assert http.get(f"{WORKFLOW}/runs", params={"event": "push"}).json()["total_count"] == 0
    assert http.get(f"{WORKFLOW}/runs", params={"head_sha": pushed}).json()["total_count"] == 5


def test_logs_redirect_to_another_host_that_never_needs_the_token(
        sim: FakeGitHub, http: httpx.Client, clock: Clock, pushed: str) -> None:
    sim.actions.build = lambda sha, inputs: ({"build": f"built {sha}\n", "lint": "ok\n",
                                              "test": "3 passed\n"}, {})
    run_id = dispatch(http).json()["workflow_run_id"]
    pages = every_page(http, f"{ACTIONS}/runs/{run_id}/jobs?per_page=2", "jobs")
    jobs = [job for page in pages for job in page]
    assert [len(p) for p in pages] == [2, 1]
    assert [(j["name"], j["status"]) for j in jobs] == [("build", "queued"), ("lint", "queued"),
                                                        ("test", "queued")]
    assert http.get(f"{ACTIONS}/jobs/{jobs[0]['id']}/logs").status_code == 404  # not done yet
    clock.now += 10
    moved = http.get(f"{ACTIONS}/jobs/{jobs[0]['id']}/logs")
    assert moved.status_code == 302 and moved.content == b""
    location = httpx.URL(moved.headers["location"])
    assert location.host == "127.0.0.1" and location.port != httpx.URL(sim.base_url).port
    log = httpx.get(location)
    assert (log.status_code, log.text) == (200, f"built {pushed}\n")
    assert log.headers["content-type"].startswith("text/plain")
    leaked = httpx.get(location, headers={"Authorization": f"Bearer {TOKEN}"})
    assert leaked.status_code == 400  # blob stores refuse a second kind of auth
    assert ["authorization" in r.headers for r in sim.actions.blob_requests] == [False, True]
    clock.now += sim.actions.url_ttl_s + 1
    assert httpx.get(location).status_code == 403  # the signed link expired


def test_artifacts_are_real_zips_and_an_expired_one_is_410(
        sim: FakeGitHub, http: httpx.Client, clock: Clock, pushed: str) -> None:
    sim.actions.build = lambda sha, inputs: (
        "log", {f"a{i}": {"app-debug.apk": f"APK {i} {sha}".encode()} for i in range(3)})
    run_id = dispatch(http).json()["workflow_run_id"]
    assert http.get(f"{ACTIONS}/runs/{run_id}/artifacts").json() == {"total_count": 0,
                                                                      "artifacts": []}
    clock.now += 10
    pages = every_page(http, f"{ACTIONS}/runs/{run_id}/artifacts?per_page=2", "artifacts")
    found = [a for page in pages for a in page]
    assert [a["name"] for a in found] == ["a0", "a1", "a2"] and [len(p) for p in pages] == [2, 1]
    first = found[0]
    assert first["archive_download_url"] == f"{sim.base_url}{ACTIONS}/artifacts/{first['id']}/zip"
    moved = http.get(first["archive_download_url"])
    assert moved.status_code == 302
    data = httpx.get(moved.headers["location"]).content
    assert len(data) == first["size_in_bytes"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("app-debug.apk") == f"APK 0 {pushed}".encode()
    sim.actions.expire_artifact("a0")
    listed = http.get(f"{ACTIONS}/runs/{run_id}/artifacts", params={"name": "a0"}).json()
    assert [a["expired"] for a in listed["artifacts"]] == [True]
    gone = http.get(first["archive_download_url"])
    assert (gone.status_code, gone.json()["message"]) == (410, "Artifact has expired")


def test_cancel_completes_the_run_as_cancelled(sim: FakeGitHub, http: httpx.Client,
                                               clock: Clock, pushed: str) -> None:
    sim.actions.build = lambda sha, inputs: ("log", {"app-debug": {"a.apk": b"x"}})
    run_id = dispatch(http).json()["workflow_run_id"]
    answer = http.post(f"{ACTIONS}/runs/{run_id}/cancel")
    assert answer.status_code == 202
    run = http.get(f"{ACTIONS}/runs/{run_id}").json()
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    again = http.post(f"{ACTIONS}/runs/{run_id}/cancel")
    assert again.status_code == 409 and "completed" in again.json()["message"]
    assert sim.actions.cancels == [run_id, run_id]
    assert http.get(f"{ACTIONS}/runs/{run_id}/artifacts").json()["total_count"] == 0
    assert http.post(f"{ACTIONS}/runs/123/cancel").status_code == 404


def test_rate_limits_and_their_headers_on_every_answer(
        sim: FakeGitHub, http: httpx.Client, clock: Clock, pushed: str) -> None:
    ok = http.get(f"{WORKFLOW}/runs")
    assert ok.headers["x-ratelimit-limit"] == "5000"
    assert ok.headers["x-ratelimit-remaining"] == "4999"
    assert int(ok.headers["x-ratelimit-reset"]) == clock.now + 3600
    sim.actions.rate_limit_next(2, "primary", reset_in_s=12)
    for _ in range(2):
        limited = http.get("/repos/acme/app/pulls")  # every API call counts, not only Actions
        assert limited.status_code == 403
        assert limited.headers["x-ratelimit-remaining"] == "0"
        assert int(limited.headers["x-ratelimit-reset"]) == clock.now + 12
        assert "rate limit exceeded" in limited.json()["message"]
    assert http.get("/repos/acme/app/pulls").status_code == 200
    sim.actions.rate_limit_next(1, "secondary", reset_in_s=3)
    secondary = dispatch(http)
    assert (secondary.status_code, secondary.headers["retry-after"]) == (429, "3")
    assert "secondary rate limit" in secondary.json()["message"]
    assert sim.actions.dispatches == []  # the limited call never reached the route
    assert dispatch(http).status_code == 200


def test_the_api_host_wants_the_token(sim: FakeGitHub, pushed: str) -> None:
    for auth in ({}, {"Authorization": "Bearer ghp_wrong"}):
        answer = httpx.get(f"{sim.base_url}{WORKFLOW}/runs", headers=auth)
        assert answer.status_code == 401 and answer.json()["message"] == "Bad credentials"
        assert "x-ratelimit-remaining" in answer.headers
    assert sim.requests[-1].headers.get("authorization") == "Bearer ghp_wrong"
