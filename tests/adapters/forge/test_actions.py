"""The Actions client against the loopback GitHub (a real bare repository behind it)."""

# The loopback GitHub's fixtures are imported by name from tests.helpers.github_actions; their
# parameters then look like redefinitions to ruff.
# ruff: noqa: F811

from __future__ import annotations

import re
import threading
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import httpx
import pytest

from desktop.adapters.forge.actions import ActionsClient, ArtifactExpired, Job, WorkflowRun
from desktop.adapters.forge.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubNotFound,
    GitHubRateLimited,
    GitHubValidation,
)
from desktop.sim.github_api import FakeGitHub
from tests.helpers.github_actions import (  # noqa: F401
    BRANCH,
    STARTED,
    TOKEN,
    Clock,
    clock,
    pushed,
    sim,
)

WORKFLOW = "honk-build.yml"


class Sleeps:
    """A sleep that only records how long it was asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def gh(sim: FakeGitHub, clock: Clock, sleeps: Sleeps) -> AsyncIterator[ActionsClient]:
    async with ActionsClient(TOKEN, base_url=sim.base_url, sleep=sleeps, clock=clock,
                             per_page=2) as client:
        yield client


async def start(gh: ActionsClient, sha: str) -> int:
    run_id = await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {"sha": sha, "change": "c1"})
    assert run_id is not None
    return run_id


async def test_dispatch_200_gives_the_run_that_moves_to_completed(
        gh: ActionsClient, sim: FakeGitHub, clock: Clock, pushed: str) -> None:
    run_id = await start(gh, pushed)
    assert sim.actions.dispatches == [{"ref": BRANCH, "inputs": {"sha": pushed, "change": "c1"},
                                       "return_run_details": True}]
    post = next(r for r in sim.requests if r.method == "POST")
    assert post.path == "/repos/acme/app/actions/workflows/honk-build.yml/dispatches"
    assert post.headers["authorization"] == f"Bearer {TOKEN}"
    assert post.headers["x-github-api-version"] == "2022-11-28"
    run = await gh.get_run("acme", "app", run_id)
    assert run == WorkflowRun(run_id, "queued", None, pushed, BRANCH, run.html_url, STARTED)
    clock.now += 1
    assert (await gh.get_run("acme", "app", run_id)).status == "completed"
    assert (await gh.get_run("acme", "app", run_id)).conclusion == "success"


async def test_a_204_dispatch_is_found_by_listing_over_pages(
        gh: ActionsClient, sim: FakeGitHub, clock: Clock, pushed: str) -> None:
    sim.actions.dispatch_answers_204 = True
    old = sim.actions.fake_head_sha = "e" * 40
    for _ in range(3):  # older runs of the same branch, one of them on the same commit
        assert await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {}) is None
        clock.now += 10
    sim.actions.fake_head_sha = None
    assert await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {}) is None  # an earlier round
    clock.now += 1
    assert await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {"sha": pushed}) is None
    since = "2026-01-01T00:00:30.250000+00:00"
    for _ in range(4):  # newer runs on the same branch that are not this commit's
        clock.now += 1
        sim.actions.fake_head_sha = old
        await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {})
    found = await gh.find_dispatched_run("acme", "app", WORKFLOW, BRANCH, pushed, since)
    assert found is not None and found.head_sha == pushed
    assert found.created_at == "2026-01-01T00:00:31Z"  # the newer of the two on this commit
    assert sim.actions.dispatches[4] == {"ref": BRANCH, "inputs": {"sha": pushed},
                                         "return_run_details": True}
    listing = [r for r in sim.requests if r.path.endswith("/runs")]
    assert len(listing) == 4  # pages of 2 (of 9 runs) until one older than `since`: stop
    assert await gh.find_dispatched_run("acme", "app", WORKFLOW, BRANCH, "a" * 40,
                                        since) is None
    assert await gh.find_dispatched_run("acme", "app", WORKFLOW, BRANCH, pushed,
                                        "2026-01-01T00:01:00Z") is None


async def test_jobs_and_artifacts_read_every_page(gh: ActionsClient, sim: FakeGitHub,
                                                  clock: Clock, pushed: str) -> None:
    sim.actions.build = lambda sha, inputs: ({f"job{i}": f"log {i}\n" for i in range(5)},
                                             {f"art{i}": {"f.txt": b"x" * i} for i in range(5)})
    run_id = await start(gh, pushed)
    clock.now += 1
    jobs = await gh.jobs("acme", "app", run_id)
    assert [j.name for j in jobs] == [f"job{i}" for i in range(5)]
    assert jobs[0] == Job(jobs[0].id, "job0", "completed", "success")
    artifacts = await gh.artifacts("acme", "app", run_id)
    assert [a.name for a in artifacts] == [f"art{i}" for i in range(5)]
    assert not any(a.expired for a in artifacts) and all(a.size_in_bytes > 0 for a in artifacts)
    pages = [r for r in sim.requests if r.path.endswith(("/jobs", "/artifacts"))]
    assert len(pages) == 6  # 3 pages of 2 each
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in pages)


async def test_log_and_zip_come_through_the_redirect_without_the_token(
        gh: ActionsClient, sim: FakeGitHub, clock: Clock, pushed: str, tmp_path: Path) -> None:
    apk = bytes(range(256)) * 400
    sim.actions.build = lambda sha, inputs: (f"Checking out {sha}\nBUILD SUCCESSFUL ✓\n",
                                             {"app-debug": {"app-debug.apk": apk}})
    run_id = await start(gh, pushed)
    clock.now += 1
    [job] = await gh.jobs("acme", "app", run_id)
    assert await gh.job_log("acme", "app", job.id) == (f"Checking out {pushed}\n"
                                                       "BUILD SUCCESSFUL ✓\n")
    [artifact] = await gh.artifacts("acme", "app", run_id)
    (tmp_path / "out").mkdir()
    dest = tmp_path / "out" / "app-debug.zip"
    written = await gh.download_artifact("acme", "app", artifact.id, dest)
    assert written == dest.stat().st_size == artifact.size_in_bytes
    with zipfile.ZipFile(dest) as archive:
        assert archive.read("app-debug.apk") == apk
    assert [p.name for p in dest.parent.iterdir()] == ["app-debug.zip"]  # no .part left behind
    assert len(sim.actions.blob_requests) == 2
    for request in sim.actions.blob_requests:
        assert "authorization" not in request.headers
        assert TOKEN not in str(request.headers)
        assert "x-github-api-version" not in request.headers


async def test_an_expired_artifact_or_link_is_named(gh: ActionsClient, sim: FakeGitHub,
                                                    clock: Clock, pushed: str,
                                                    tmp_path: Path) -> None:
    sim.actions.build = lambda sha, inputs: ("log", {"app-debug": {"a.apk": b"apk"}})
    run_id = await start(gh, pushed)
    clock.now += 1
    [artifact] = await gh.artifacts("acme", "app", run_id)
    out = tmp_path / "out"
    out.mkdir()
    sim.actions.url_ttl_s = -1  # every link is already stale when the client uses it
    with pytest.raises(GitHubError, match=re.escape("download from 127.0.0.1 failed (403)")) as stale:
        await gh.download_artifact("acme", "app", artifact.id, out / "a.zip")
    assert "sig=" not in str(stale.value)  # the signed link is a credential too
    assert len([r for r in sim.requests if r.path.endswith("/zip")]) == 2  # asked again once
    sim.actions.expire_artifact("app-debug")
    assert [a.expired for a in await gh.artifacts("acme", "app", run_id)] == [True]
    with pytest.raises(ArtifactExpired) as info:
        await gh.download_artifact("acme", "app", artifact.id, out / "a.zip")
    assert info.value.status == 410 and "Artifact has expired" in str(info.value)
    assert list(out.iterdir()) == []


async def test_primary_rate_limit_is_waited_until_its_reset(
        sim: FakeGitHub, clock: Clock, sleeps: Sleeps, pushed: str) -> None:
    told: list[tuple[float, str]] = []
    async with ActionsClient(TOKEN, base_url=sim.base_url, sleep=sleeps, clock=clock,
                             on_wait=lambda s, why: told.append((s, why))) as gh:
        sim.actions.rate_limit_next(1, "primary", reset_in_s=12)
        run_id = await start(gh, pushed)
    assert sleeps.waits == [12.0]
    assert told == [(12.0, "GitHub rate limit used up: waiting 12 s for its reset")]
    assert len(sim.actions.dispatches) == 1 and sim.actions.run(run_id)["head_sha"] == pushed


async def test_secondary_rate_limit_waits_retry_after(gh: ActionsClient, sim: FakeGitHub,
                                                      sleeps: Sleeps, pushed: str) -> None:
    run_id = await start(gh, pushed)
    sim.actions.rate_limit_next(2, "secondary", reset_in_s=3)
    assert (await gh.get_run("acme", "app", run_id)).id == run_id
    assert sleeps.waits == [3.0, 3.0]


async def test_a_limit_past_the_max_wait_is_GitHubRateLimited(
        sim: FakeGitHub, clock: Clock, sleeps: Sleeps, pushed: str) -> None:
    async with ActionsClient(TOKEN, base_url=sim.base_url, sleep=sleeps, clock=clock,
                             max_wait=10) as gh:
        sim.actions.rate_limit_next(1, "primary", reset_in_s=60)
        with pytest.raises(GitHubRateLimited) as info:
            await gh.get_run("acme", "app", 1)
    assert info.value.status == 403 and "60 s" in str(info.value)
    assert sleeps.waits == []


async def test_cancel_reaches_github_and_a_finished_run_is_left_alone(
        gh: ActionsClient, sim: FakeGitHub, pushed: str) -> None:
    run_id = await start(gh, pushed)
    await gh.cancel_run("acme", "app", run_id)
    run = await gh.get_run("acme", "app", run_id)
    assert (run.status, run.conclusion) == ("completed", "cancelled")
    await gh.cancel_run("acme", "app", run_id)  # 409 from GitHub: already completed
    assert sim.actions.cancels == [run_id, run_id]
    with pytest.raises(GitHubNotFound):
        await gh.cancel_run("acme", "app", 42)


async def test_refusals_are_named(gh: ActionsClient, pushed: str) -> None:
    with pytest.raises(GitHubNotFound, match=re.escape("no workflow 'nope.yml'")):
        await gh.dispatch("acme", "app", "nope.yml", BRANCH, {})
    with pytest.raises(GitHubValidation, match="No ref found for: gone"):
        await gh.dispatch("acme", "app", WORKFLOW, "gone", {})
    with pytest.raises(ValueError, match=re.escape("GitHub workflow = '../x'")):
        await gh.dispatch("acme", "app", "../x", BRANCH, {})
    with pytest.raises(GitHubNotFound, match="Actions"):
        await gh.get_run("acme", "app", 1)


async def test_bad_token_is_an_auth_error_that_never_shows_it(sim: FakeGitHub,
                                                              pushed: str) -> None:
    wrong = "ghp_WrongActionsToken999999999999999"
    async with ActionsClient(wrong, base_url=sim.base_url) as gh:
        with pytest.raises(GitHubAuthError) as info:
            await gh.dispatch("acme", "app", WORKFLOW, BRANCH, {})
        assert info.value.status == 401 and "Bad credentials" in str(info.value)
        for text in (str(info.value), repr(info.value), repr(info.value.args), repr(gh)):
            assert wrong not in text and TOKEN not in text
    assert sim.actions.dispatches == []


class Chunks(httpx.AsyncByteStream):
    """A blob served in 64 KiB pieces, optionally cut after ``fail_after`` of them."""

    def __init__(self, data: bytes, fail_after: int | None = None) -> None:
        self.data, self.fail_after = data, fail_after

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for n, at in enumerate(range(0, len(self.data), 65536)):
            if n == self.fail_after:
                raise httpx.ReadError("connection reset")
            yield self.data[at:at + 65536]


def blob_host(stream: Chunks) -> httpx.MockTransport:
    """The API answers the zip with a 302 to a blob host, which streams ``stream``."""
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.example":
            return httpx.Response(302, headers={"Location": "https://blobs.example/z?sig=1"})
        return httpx.Response(200, stream=stream)
    return httpx.MockTransport(handler)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(thread name, bytes) of every write to a partial download file."""
    seen: list[tuple[str, int]] = []
    real_open = Path.open

    class Recorded:
        def __init__(self, file: BinaryIO) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            seen.append((threading.current_thread().name, len(data)))
            return self.file.write(data)

        def close(self) -> None:
            self.file.close()

    def spying(self: Path, *args: Any, **kwargs: Any) -> Any:
        opened = real_open(self, *args, **kwargs)
        return Recorded(opened) if self.name.endswith(".part") else opened

    monkeypatch.setattr(Path, "open", spying)
    return seen


async def test_a_download_is_written_whole_a_mib_at_a_time_off_the_loop(
        tmp_path: Path, writes: list[tuple[str, int]]) -> None:
    data = bytes(range(256)) * (3 * 4096 + 100)  # 3 MiB and a bit: 49 pieces of 64 KiB
    dest = tmp_path / "a.zip"
    async with ActionsClient(TOKEN, base_url="https://api.example",
                             transport=blob_host(Chunks(data))) as gh:
        assert await gh.download_artifact("acme", "app", 7, dest) == len(data)
    assert dest.read_bytes() == data and [p.name for p in tmp_path.iterdir()] == ["a.zip"]
    assert [size for _, size in writes] == [1024 * 1024] * 3 + [len(data) - 3 * 1024 * 1024]
    assert threading.current_thread().name not in {name for name, _ in writes}


async def test_a_download_cut_midway_leaves_no_file(tmp_path: Path,
                                                    writes: list[tuple[str, int]]) -> None:
    data = bytes(range(256)) * 4096 * 2  # 2 MiB: the first MiB is written before the cut
    async with ActionsClient(TOKEN, base_url="https://api.example",
                             transport=blob_host(Chunks(data, fail_after=20))) as gh:
        with pytest.raises(GitHubError, match=re.escape("download from blobs.example failed")):
            await gh.download_artifact("acme", "app", 7, tmp_path / "a.zip")
    assert writes and list(tmp_path.iterdir()) == []


async def test_a_long_log_split_inside_a_character_comes_back_whole() -> None:
    # 420 KB in 64 KiB pieces: 65536 % 3 == 1, so the first cut falls inside a ✓ (3 bytes).
    log = ("✓" * 140_000 + "\nBUILD SUCCESSFUL\n").encode()
    async with ActionsClient(TOKEN, base_url="https://api.example",
                             transport=blob_host(Chunks(log))) as gh:
        assert await gh.job_log("acme", "app", 5) == log.decode()
