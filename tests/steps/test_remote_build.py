"""The remote build step's use of the event loop: its blocking work goes to the threads it is
handed, and a long job log reaches the build log in order while the loop keeps running.

GitHub is a small in-memory stand-in for the ActionsApi protocol (the client itself is tested
against the loopback GitHub in tests/adapters/forge)."""

from __future__ import annotations

import asyncio
import hashlib
import threading
import zipfile
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest

from desktop.adapters.process.loop_priority import LoopShare
from desktop.core.build_events import ArtifactBuilt, BuildLog
from desktop.core.config import load_config
from desktop.core.events import Event
from desktop.core.pipeline import ChangeContext
from desktop.core.text import REDACTED
from desktop.sim.github_actions import honk_toml
from desktop.steps import remote_build
from desktop.steps.remote_build import RemoteBuildStep

T = TypeVar("T")
COMMIT = "c" * 40
SECRET = "sk-remote-build-secret-0123456789"
APK = b"PK-apk" + bytes(range(256)) * 64
POOL = "test-offload"


@dataclass(frozen=True)
class Run:
    id: int = 7
    status: str = "completed"
    conclusion: str | None = "success"
    head_sha: str = COMMIT
    html_url: str = "https://github.example/acme/app/actions/runs/7"


@dataclass(frozen=True)
class Job:
    id: int
    name: str


@dataclass(frozen=True)
class Artifact:
    id: int = 3
    name: str = "app-debug"
    size_in_bytes: int = 1
    expired: bool = False


class Actions:
    """A run that is done at once: ``logs`` per job, one artifact zip holding the APK."""

    def __init__(self, logs: dict[str, str]) -> None:
        self.logs = logs

    async def dispatch(self, owner: str, repo: str, workflow: str, ref: str,
                       inputs: dict[str, str]) -> int | None:
        return 7

    async def find_dispatched_run(self, *args: str) -> Run | None:
        return None

    async def get_run(self, owner: str, repo: str, run_id: int) -> Run:
        return Run()

    async def jobs(self, owner: str, repo: str, run_id: int) -> list[Job]:
        return [Job(i, name) for i, name in enumerate(self.logs)]

    async def job_log(self, owner: str, repo: str, job_id: int) -> str:
        return list(self.logs.values())[job_id]

    async def artifacts(self, owner: str, repo: str, run_id: int) -> list[Artifact]:
        return [Artifact()]

    async def download_artifact(self, owner: str, repo: str, artifact_id: int,
                                dest: Path) -> int:
        with zipfile.ZipFile(dest, "w") as archive:
            archive.writestr("app-debug.apk", APK)
        return dest.stat().st_size

    async def cancel_run(self, owner: str, repo: str, run_id: int) -> None:
        pass

    async def aclose(self) -> None:
        pass


class Threads:
    """Where each piece of blocking work ran: (what, thread name)."""

    def __init__(self) -> None:
        self.ran: list[tuple[str, str]] = []

    def note(self, what: str) -> None:
        self.ran.append((what, threading.current_thread().name))


class Pusher:
    def __init__(self, threads: Threads) -> None:
        self.threads = threads

    def push_branch_with_lease(self, *, branch: str, sha: str, remote: str,
                               expected: str | None) -> None:
        self.threads.note("push")


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2, thread_name_prefix=POOL) as threads:
        yield threads


def offload_to(pool: ThreadPoolExecutor) -> Callable[..., Awaitable[Any]]:
    async def offload(fn: Callable[..., T], /, *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, partial(fn, *args))
    return offload


def make_step(tmp_path: Path, actions: Actions, threads: Threads,
              pool: ThreadPoolExecutor, share: LoopShare | None = None) -> RemoteBuildStep:
    config = load_config(honk_toml())
    assert config.build is not None

    def client(on_wait: Callable[[float, str], None]) -> Actions:
        threads.note("client")  # reads the token from the keyring
        return actions

    def history(change: str) -> list[Event]:
        threads.note("history")  # reads the journal
        return []

    def secrets() -> list[str]:
        threads.note("secrets")  # may read the keyring
        return [SECRET]

    return RemoteBuildStep(config.build, client=client, pusher=Pusher(threads), remote="origin",
                           artifacts_dir=tmp_path / "artifacts", history=history,
                           secrets=secrets, poll_s=(0.01, 0.01), offload=offload_to(pool),
                           share=share)


def context(events: list[Event]) -> ChangeContext:
    return ChangeContext(change_id="c1", request="r", worktree=".", branch="honk/c1",
                         base_commit="", config=load_config(honk_toml()), emit=events.append,
                         model="m", commit=COMMIT)


async def test_the_blocking_work_runs_on_the_threads_it_is_handed(
        tmp_path: Path, pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    threads = Threads()
    for name in ("safe_unzip", "sha256_of"):
        real = getattr(remote_build, name)

        def noted(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            threads.note(_name)
            return _real(*args)

        monkeypatch.setattr(remote_build, name, noted)
    events: list[Event] = []
    step = make_step(tmp_path, Actions({"build": "BUILD SUCCESSFUL\n"}), threads, pool)
    result = await step.run(context(events))
    assert result.ok, result.reason
    [built] = [e for e in events if isinstance(e, ArtifactBuilt)]
    assert built.sha256 == hashlib.sha256(APK).hexdigest() and built.size == len(APK)
    assert {what for what, _ in threads.ran} == {"client", "history", "push", "secrets",
                                                 "safe_unzip", "sha256_of"}
    assert all(name.startswith(POOL) for _, name in threads.ran), threads.ran


async def test_a_long_log_reaches_the_build_log_in_order_while_the_loop_runs(
        tmp_path: Path, pool: ThreadPoolExecutor) -> None:
    lines = [f"line {i}" for i in range(2000)]
    lines[1500] = f"token={SECRET}"
    events: list[Event] = []
    # No time to spare: every few lines, the rest of the loop gets its turn.
    step = make_step(tmp_path, Actions({"build": "\n".join(lines), "test": "ok\n"}),
                     Threads(), pool, share=LoopShare(slice_s=0.0))
    ticks: list[int] = []  # how many events had been emitted at each turn of another task
    done = False

    async def other_task() -> None:
        while not done:
            ticks.append(len(events))
            await asyncio.sleep(0)

    other = asyncio.ensure_future(other_task())
    result = await step.run(context(events))
    done = True
    await other
    assert result.ok, result.reason
    logged = [(i, e.line) for i, e in enumerate(events) if isinstance(e, BuildLog)]
    expected = [f"[build] {line}" for line in lines]
    expected[1500] = f"[build] token={REDACTED}"
    assert [line for _, line in logged] == [*expected, "[test] ok"]
    build = [i for i, line in logged if line.startswith("[build]")]
    assert any(build[0] < n <= build[-1] for n in ticks)  # other work ran amid the lines
