"""The warm-up after the window is shown: the first run's imports, the keyring and the API
client, with the loop never held by any of it (a keyring may wait seconds for a person), and
Claude Code's SDK imported exactly when a repository the person uses is configured for it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import types
from collections.abc import Coroutine, Generator, Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.compat import properties

from desktop.app.services import build_services
from desktop.app.warmup import warm_up
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.loop_ticks import TICK_S, counting_ticks

KEYRING_S = 1.0  # a keyring asking for its password
# Waiting on the keyring holds the loop >= KEYRING_S; a loaded machine alone can hold it
# for tens of ms (thread start, GIL), so the limit sits between the two.
HOLD_LIMIT_S = KEYRING_S / 2
# A held loop barely ticks; a free but loaded one may tick far below 1 per TICK_S.
TICK_SHARE = 0.2


class SlowKeyring(KeyringBackend):
    """Answers every read after ``KEYRING_S``, as a locked keyring does once unlocked."""

    @properties.classproperty
    def priority(cls) -> float:
        # Never viable when keyring probes its backends (it sees every subclass in the
        # process): only set_keyring() below picks it.
        raise RuntimeError("the slow keyring is only ever set by hand")

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # keyring is untyped
        self.reads: list[tuple[str, str]] = []  # (key name, thread name)

    def get_password(self, service: str, username: str) -> str | None:
        self.reads.append((username, threading.current_thread().name))
        time.sleep(KEYRING_S)
        return "k-from-the-keyring" if username == "anthropic-api-key" else None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


@pytest.fixture
def slow_keyring() -> Iterator[SlowKeyring]:
    before = keyring.get_keyring()
    slow = SlowKeyring()
    keyring.set_keyring(slow)
    try:
        yield slow
    finally:
        keyring.set_keyring(before)


@types.coroutine
def timed(coro: Coroutine[Any, Any, None], holds: list[float]) -> Generator[Any, Any, None]:
    """Run ``coro`` as the loop would, timing each of its steps: how long it held the loop
    each time the loop handed control to it."""
    value: Any = None
    error: BaseException | None = None
    while True:
        start = time.perf_counter()
        try:
            yielded = coro.send(value) if error is None else coro.throw(error)
        except StopIteration:
            holds.append(time.perf_counter() - start)
            return
        holds.append(time.perf_counter() - start)
        try:
            value, error = (yield yielded), None
        except BaseException as exc:  # handed on to the coroutine
            value, error = None, exc


async def test_a_keyring_that_takes_seconds_never_holds_the_loop(
        slow_keyring: SlowKeyring) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "HONK_DEMO", "PYTHON_KEYRING_BACKEND")}
    services = build_services(env)
    holds: list[float] = []
    started = time.perf_counter()
    try:
        async with counting_ticks() as ticks:
            await timed(warm_up(services.context), holds)
            took = time.perf_counter() - started
        client = services.context.client()
        again = services.context.warm_up_steps()
    finally:
        await services.context.aclose()
        services.close()
    assert slow_keyring.reads, "the warm-up read no key"
    assert all(thread != threading.current_thread().name for _, thread in slow_keyring.reads)
    assert took >= KEYRING_S * len(slow_keyring.reads)
    assert max(holds) < HOLD_LIMIT_S, f"the warm-up held the loop for {max(holds):.3f} s"
    assert ticks.count > TICK_SHARE * took / TICK_S, (
        f"the loop ran only {ticks.count} times in {took:.2f} s")
    assert client.api_key == "k-from-the-keyring"  # made by the warm-up, kept for runs
    assert again == []  # warm: nothing left to do


async def test_a_run_starting_mid_warm_up_leaves_the_keyring_to_it(
        slow_keyring: SlowKeyring) -> None:
    """A run calls the blocking ``AppContext.warm_up()`` on the loop in case nothing warmed
    the app up; while the window's warm-up is at the keyring off the loop, that is a no-op
    instead of a second read of the keyring on the loop."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("ANTHROPIC_API_KEY", "HONK_DEMO", "PYTHON_KEYRING_BACKEND")}
    services = build_services(env)
    warming = asyncio.ensure_future(warm_up(services.context))
    try:
        while not slow_keyring.reads:  # the warm-up is waiting for the keyring now
            await asyncio.sleep(0.01)
        start = time.perf_counter()
        services.context.warm_up()
        blocked = time.perf_counter() - start
        await warming
    finally:
        warming.cancel()
        await services.context.aclose()
        services.close()
    assert blocked < HOLD_LIMIT_S, f"the run's warm-up blocked the loop for {blocked:.3f} s"
    assert all(thread != threading.current_thread().name for _, thread in slow_keyring.reads)


def test_the_blocking_warm_up_does_it_all_on_this_thread(tmp_path: Path) -> None:
    """Where a pause does not matter (the CLI, a benchmark): imports, keyring and client
    at once, then nothing left to do."""
    services = build_services({**os.environ, "ANTHROPIC_API_KEY": "k-block"})
    try:
        services.context.warm_up()
        made = services.context._client  # the client exists before any run asks for it
        left = services.context.warm_up_steps()
    finally:
        services.close()
    assert made is not None and made.api_key == "k-block"
    assert left == []


_CHILD = textwrap.dedent("""
    import asyncio, json, os, sys
    from pathlib import Path

    from desktop.app.services import build_services
    from desktop.app.warmup import warm_up
    from desktop.core.events import ChangeCreated

    services = build_services()
    for i, repo in enumerate(json.loads(os.environ["JOURNAL_REPOS"])):
        services.bus.emit(ChangeCreated(
            change=f"c{i}", request="r", repo=repo, branch=f"honk/c{i}-r",
            worktree=str(services.context.worktrees / f"c{i}"), base="main",
            base_commit="0" * 40, model="claude-sonnet-4-6", device=None))
    named = [Path(p) for p in json.loads(os.environ["NAMED_REPOS"])]
    assert "claude_agent_sdk" not in sys.modules
    asyncio.run(warm_up(services.context, named))
    services.close()
    print(json.dumps({name: name in sys.modules for name in (
        "anthropic", "claude_agent_sdk", "desktop.steps.claude_code_agent")}))
""")


def warmed_modules(journal_repos: list[Path], named: list[Path]) -> dict[str, bool]:
    """Which modules a fresh process has imported after the warm-up."""
    env = {**os.environ, "ANTHROPIC_API_KEY": "k-warm",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
           "JOURNAL_REPOS": json.dumps([str(p) for p in journal_repos]),
           "NAMED_REPOS": json.dumps([str(p) for p in named])}
    done = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, bool] = json.loads(done.stdout.splitlines()[-1])
    return result


def engine_repo(root: Path, engine: str) -> Path:
    root.mkdir(parents=True)
    (root / "honk.toml").write_text(f'[agent]\nengine = "{engine}"\n')
    return root


def test_claude_code_is_warmed_for_a_repository_configured_for_it(tmp_path: Path) -> None:
    messages = engine_repo(tmp_path / "messages", "messages")
    claude = engine_repo(tmp_path / "claude", "claude-code")
    from_history = warmed_modules([claude, messages], [])
    named = warmed_modules([], [claude])
    assert from_history == named == {"anthropic": True, "claude_agent_sdk": True,
                                     "desktop.steps.claude_code_agent": True}


def test_claude_code_is_not_imported_when_no_repository_uses_it(
        tmp_path: Path, repo: RepoWithRemote) -> None:
    messages = engine_repo(tmp_path / "messages", "messages")
    gone = tmp_path / "deleted-since"  # a repository of an old change, no longer there
    assert warmed_modules([messages, gone], [repo.path]) == {
        "anthropic": True, "claude_agent_sdk": False, "desktop.steps.claude_code_agent": False}
