"""Remote build: the desk machine's own cost of a build on GitHub Actions, runner time aside.

    python -m bench.remote_build [--reps 5] [--quick] [--json FILE] [--github-in-process]

Honk: ``RemoteBuildStep`` against the loopback GitHub (a bare git remote behind it; runs that
complete at once, so the runner costs nothing): push the change's branch, dispatch, follow
the run, fetch the job log and the artifact zip through the redirect host, unpack, sha256,
and journal-shaped events. One change alone, then ten at once on one event loop, with the
loop's longest stall measured by a 1 ms ticker (after freezing the warmed-up heap, as the
window and `honk slack` do). The step's blocking work (git push, unzip, sha256) runs on
background threads at a lower CPU priority, as ``AppContext.offload`` runs it.

The loopback GitHub runs in a process of its own at the lowest CPU priority, as GitHub is
never on the desk machine: in Honk's process its request threads would take the GIL from
Honk's loop, and at normal priority its CPU (and its git) would push the loop's thread down
the run queue of a two-core machine, handicaps only the bench has (`--github-in-process`
measures that setup anyway).

Floor, same run, same servers: the same protocol work done by hand with no Honk logic: one
``git push`` and plain httpx calls (dispatch, one GET of the run, jobs, log, artifacts, zip,
each redirect followed) plus the unzip and sha256. Honk - floor is what Honk adds.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import io
import multiprocessing
import os
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import httpx

from bench.common import FRAME_MS, Figure, median, write_figures
from desktop.adapters.process.loop_priority import background_pool
from desktop.core.config import load_config
from desktop.core.events import Event
from desktop.core.pipeline import ChangeContext
from desktop.sim.github_actions import honk_toml
from desktop.sim.github_api import FakeGitHub

TOKEN = "ghp_BenchToken0123456789abcdefABCDEFGH"
APK = b"PK-bench-apk" + bytes(range(256)) * 4096  # ~1 MB, the size of a small debug APK


# The loopback GitHub's CPU priority in its own process: the lowest, as GitHub uses none of
# this machine's CPU (as bench.load runs the scripted Messages API).
SIM_NICE = 19
T = TypeVar("T")
BACKGROUND_THREADS = min(8, (os.cpu_count() or 2) + 2)  # as AppContext.offload's pool


def _build(sha: str, inputs: dict[str, str]) -> tuple[str, dict[str, dict[str, bytes]]]:
    """Every run: this log and one artifact holding the APK."""
    return "BUILD SUCCESSFUL\n", {"app-debug": {"app-debug.apk": APK}}


def _start_github(remote: Path) -> FakeGitHub:
    github = FakeGitHub(git_dir=remote, token=TOKEN, owner="acme", repo="app")
    github.actions.queued_s = github.actions.running_s = 0.0
    github.actions.build = _build
    github.start()
    return github


def _serve_github(remote: Path, pipe: Connection) -> None:
    """The loopback GitHub's own process: serve until the pipe says stop."""
    os.nice(SIM_NICE)
    github = _start_github(remote)
    pipe.send(github.base_url)
    pipe.recv()
    github.stop()


@contextmanager
def github_server(remote: Path, in_process: bool) -> Iterator[str]:
    """The loopback GitHub's base URL, served in this process (threads) or its own."""
    if in_process:
        github = _start_github(remote)
        try:
            yield github.base_url
        finally:
            github.stop()
        return
    ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
    pipe, child = ctx.Pipe()
    proc = ctx.Process(target=_serve_github, args=(remote, child), daemon=True)
    proc.start()
    try:
        if not pipe.poll(60):
            raise RuntimeError(f"the loopback GitHub did not start (exit code {proc.exitcode})")
        yield str(pipe.recv())
    finally:
        if proc.is_alive():
            pipe.send(None)
        proc.join(10)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_repo(root: Path) -> tuple[Path, Path]:
    remote, repo = root / "remote.git", root / "repo"
    _git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(root, "init", "-q", "-b", "main", str(repo))
    (repo / "app.txt").write_text("v0\n")
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-q", "-m", "init")
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    return repo, remote


def new_commit(repo: Path, n: int) -> str:
    """A commit of its own for change ``n`` (not on any branch yet)."""
    (repo / "app.txt").write_text(f"v{n}\n")
    _git(repo, "add", ".")
    tree = _git(repo, "write-tree")
    return _git(repo, "-c", "user.name=b", "-c", "user.email=b@x", "commit-tree", tree,
                "-p", "main", "-m", f"change {n}")


async def honk_builds(repo: Path, api: str, commits: list[tuple[str, str]],
                      artifacts: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, longest loop stall ms) for Honk building ``commits`` at once."""
    from desktop.adapters.forge.actions import ActionsClient
    from desktop.adapters.git.merge import GitMerger
    from desktop.steps.remote_build import RemoteBuildStep

    config = load_config(honk_toml(api))
    assert config.build is not None
    events: list[Event] = []
    pool = background_pool(BACKGROUND_THREADS, "honk-work")
    loop = asyncio.get_running_loop()

    async def offload(fn: Callable[..., T], /, *args: Any) -> T:
        return await loop.run_in_executor(pool, partial(fn, *args))  # as AppContext.offload

    step = RemoteBuildStep(
        config.build, client=lambda on_wait: ActionsClient(TOKEN, base_url=api, on_wait=on_wait),
        pusher=GitMerger(repo, artifacts / "scratch"), remote="origin",
        artifacts_dir=artifacts, history=lambda _change: [], poll_s=(0.01, 0.01),
        offload=offload)
    contexts = [ChangeContext(change_id=branch.split("/")[-1], request="bench",
                              worktree=str(repo), branch=branch, base_commit="", config=config,
                              emit=events.append, model="bench", commit=commit)
                for branch, commit in commits]
    stall = 0.0
    ticking = True

    async def ticker() -> None:
        nonlocal stall
        last = time.perf_counter()
        while ticking:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stall = max(stall, (now - last) * 1000 - 1.0)
            last = now

    tick = asyncio.ensure_future(ticker())
    cpu, start = time.process_time(), time.perf_counter()
    try:
        results = await asyncio.gather(*(step.run(ctx) for ctx in contexts))
    finally:
        pool.shutdown()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    ticking = False
    await tick
    failed = [r.reason for r in results if not r.ok]
    if failed:
        raise RuntimeError(f"remote builds failed: {failed[:3]}")
    return wall, cpu, stall


def floor_build(repo: Path, base_url: str, branch: str, commit: str, into: Path) -> float:
    """The same work by hand: push, then the Actions calls in a row; wall seconds."""
    start = time.perf_counter()
    _git(repo, "push", "-q", "--force", "origin", f"{commit}:refs/heads/{branch}")
    api = "/repos/acme/app/actions"
    with httpx.Client(base_url=base_url,
                      headers={"Authorization": f"Bearer {TOKEN}"}) as gh, httpx.Client() as blob:
        run_id = gh.post(f"{api}/workflows/honk-build.yml/dispatches",
                         json={"ref": branch, "inputs": {"sha": commit, "change": branch},
                               "return_run_details": True}).json()["workflow_run_id"]
        while gh.get(f"{api}/runs/{run_id}").json()["status"] != "completed":
            pass
        for job in gh.get(f"{api}/runs/{run_id}/jobs").json()["jobs"]:
            log = blob.get(gh.get(f"{api}/jobs/{job['id']}/logs").headers["location"])
            assert log.status_code == 200
        [artifact] = gh.get(f"{api}/runs/{run_id}/artifacts").json()["artifacts"]
        data = blob.get(gh.get(f"{api}/artifacts/{artifact['id']}/zip")
                        .headers["location"]).content
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        archive.extractall(into)
    hashlib.sha256((into / "app-debug.apk").read_bytes()).hexdigest()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--github-in-process", action="store_true",
                        help="serve the loopback GitHub from threads of this process")
    args = parser.parse_args(argv)
    reps = 2 if args.quick else args.reps
    with tempfile.TemporaryDirectory(prefix="honk-bench-remote-") as tmp:
        root = Path(tmp)
        repo, remote = make_repo(root)
        with github_server(remote, args.github_in_process) as api:
            n = 0

            def commits(count: int) -> list[tuple[str, str]]:
                nonlocal n
                out = []
                for _ in range(count):
                    n += 1
                    out.append((f"honk/c{n:04d}", new_commit(repo, n)))
                return out

            one, one_cpu, floors = [], [], []
            for rep in range(reps):
                [(branch, commit)] = commits(1)
                floors.append(floor_build(repo, api, branch + "-floor", commit,
                                          root / f"floor{rep}"))
                wall, cpu, _ = asyncio.run(honk_builds(repo, api, commits(1),
                                                       root / f"honk{rep}"))
                one.append(wall)
                one_cpu.append(cpu)
            # The window and `honk slack` freeze their start-up heap once warmed up
            # (MainThreadCollector.freeze); the runs above were this process's warm-up, so
            # it does the same. Unfrozen, a full collection here stalled the loop ~20 ms.
            gc.freeze()
            ten, stalls = [], []
            for rep in range(max(1, reps // 2)):
                wall, _cpu, stall = asyncio.run(honk_builds(repo, api, commits(10),
                                                            root / f"ten{rep}"))
                ten.append(wall)
                stalls.append(stall)
    floor = median(floors)
    figures = [
        Figure("remote_build", "one change, desk cost", median(one) * 1000, "ms", floor * 1000),
        Figure("remote_build", "one change, Honk over floor", (median(one) - floor) * 1000,
               "ms", goal="< 250 ms", ok=(median(one) - floor) < 0.25),
        Figure("remote_build", "one change, CPU", median(one_cpu) * 1000, "ms"),
        Figure("remote_build", "ten at once, wall", median(ten) * 1000, "ms", floor * 10000,
               goal="ratio < 1 (not serialised)", ok=median(ten) < floor * 10),
        Figure("remote_build", "ten at once, longest loop stall", median(stalls), "ms",
               FRAME_MS, goal="< 1 frame", ok=median(stalls) < FRAME_MS),
    ]
    for f in figures:
        ratio = f" ({f.ratio:.2f}x)" if f.ratio is not None else ""
        print(f"{f.name:<36} {f.value:10.2f} {f.unit}{ratio} {f.goal}")
    write_figures(args.json, "remote_build", figures,
                  {"reps": reps, "github_in_process": args.github_in_process})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
