"""A change's git and file work runs on the service's background threads, never on the loop
thread; the commit step reports the files of the commit it made."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

from desktop.adapters.store.locks import FileLock, LockBusy
from desktop.app.services import build_services
from desktop.core.events import Committed, Event
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import create_turn, edit_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote


async def test_a_change_created_and_run_off_the_loop_commits_the_files_it_changed(
        repo: RepoWithRemote) -> None:
    repo.write("honk.toml", "[judge]\nenabled = false\n")
    repo.write("app/old.txt", "keep\nchange me\n")
    repo.commit_all("setup")
    script = [create_turn("app/new.txt", "new\n"), edit_turn("app/old.txt", "change me", "done"),
              text_turn("ok")]
    with ScriptedMessagesAPI(script) as api:
        services = build_services({**os.environ, "ANTHROPIC_API_KEY": "k-bg",
                                   "ANTHROPIC_BASE_URL": api.base_url})
        events: list[Event] = []
        services.bus.subscribe(events.append)
        loop_thread = threading.get_ident()
        try:
            ctx, ws, wt = await services.changes.create_async("touch two files", repo.path)
            state = await services.changes.run(ctx, ws, wt)
            where = await services.context.offload(threading.get_ident)
        finally:
            await services.context.aclose()
            services.close()
    assert state.value == "awaiting_approval"
    assert where != loop_thread
    committed = [e for e in events if isinstance(e, Committed)]
    assert len(committed) == 1
    assert sorted(committed[0].files) == ["app/new.txt", "app/old.txt"]
    assert committed[0].commit == ws.head(wt)


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")
async def test_background_work_runs_below_the_loop_threads_priority(tmp_path: Path) -> None:
    services = build_services({**os.environ, "HONK_HOME": str(tmp_path / "home")})
    try:
        mine = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        theirs = await services.context.offload(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
        writer = await asyncio.get_running_loop().run_in_executor(
            services.context.journal_writer(),
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))
    finally:
        await services.context.aclose()
        services.close()
    assert theirs > mine or mine == 19
    assert writer > mine or mine == 19


async def test_a_runs_lock_is_taken_off_the_loop_and_never_leaked_by_a_cancel(
        tmp_path: Path) -> None:
    services = build_services({**os.environ, "HONK_HOME": str(tmp_path / "home")})
    loop_thread = threading.get_ident()
    taken_on: list[int] = []
    hold = services.context.locks.hold

    taken_c2 = threading.Event()

    def spy(change_id: str, purpose: str) -> FileLock:
        taken_on.append(threading.get_ident())
        lock = hold(change_id, purpose)
        if change_id == "c2":
            taken_c2.set()
        return lock

    services.context.locks.hold = spy  # type: ignore[method-assign]
    try:
        with await services.context.hold_off_loop("c1", "run"):
            assert services.context.locks.is_held("c1")
            with pytest.raises(LockBusy, match="change c1 is busy"):
                await services.context.hold_off_loop("c1", "run")
        assert not services.context.locks.is_held("c1")
        assert taken_on and loop_thread not in taken_on
        # Cancelled while the thread takes it: the lock is released once taken.
        taking = asyncio.ensure_future(services.context.hold_off_loop("c2", "run"))
        await asyncio.sleep(0)
        taking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await taking
        assert await asyncio.to_thread(taken_c2.wait, 10)  # the thread did take it
        for _ in range(500):
            if not services.context.locks.is_held("c2"):
                break
            await asyncio.sleep(0.01)
        assert not services.context.locks.is_held("c2")
        with services.context.locks.hold("c2", "run"):
            pass
    finally:
        await services.context.aclose()
        services.close()
