"""The writer thread journals a run's events; each is reported, in order, only once stored.
(Behaviour only: how long the loop stalls is measured in bench/load.py.)"""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from desktop.adapters.store.journal import ChangeJournal, JournalError
from desktop.adapters.store.journal_writer import OrderedEmitter
from desktop.app.services import build_services
from desktop.core.bus import EventBus
from desktop.core.events import AgentTextDelta, Event, Notice, StageStarted
from desktop.core.options import RunOptions
from desktop.core.stages import Stage
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_routing import numbered_request, numbered_routes, route_by
from desktop.sim.messages_script import create_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote


def stored_types(path: Path, change: str) -> list[str]:
    """What another connection sees committed (so: durable), in journal order."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT type FROM events WHERE change=? ORDER BY seq", (change,))
        return [r[0] for r in rows]


async def test_each_event_is_stored_before_it_is_reported_in_emit_order(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = ChangeJournal(path)
    bus = EventBus(journal)
    reported: list[tuple[Event, list[str], bool]] = []
    loop_thread = threading.get_ident()
    bus.subscribe(lambda e: reported.append(
        (e, stored_types(path, e.change), threading.get_ident() == loop_thread)))
    events: list[Event] = []
    for i in range(20):
        events.append(Notice(change="c1", level="info", message=f"note {i}"))
        events.append(AgentTextDelta(change="c1", text=f"delta {i}"))  # ephemeral, in between
    with ThreadPoolExecutor(1) as writer:
        emitter = OrderedEmitter(journal, bus.emit, writer, asyncio.get_running_loop())
        for i, event in enumerate(events):
            emitter.emit(event)
            if i % 7 == 0:
                await asyncio.sleep(0)  # some batches of one, some of several
        await emitter.flush()
    assert [r[0] for r in reported] == events  # every event, in the order emitted
    assert all(on_loop for _, _, on_loop in reported)
    for event, seen_stored, _ in reported:
        if not event.ephemeral:  # durable before any subscriber saw it
            notices_so_far = sum(1 for e in events[: events.index(event) + 1]
                                 if not e.ephemeral)
            assert len(seen_stored) >= notices_so_far
    # Stored once each (the bus's own append of a stored event is a no-op), in order.
    assert [e.message for e in journal.events("c1") if isinstance(e, Notice)] == [
        f"note {i}" for i in range(20)]
    assert journal.view("c1") == journal.replay("c1")
    journal.close()


async def test_a_failed_write_reports_nothing_of_it_and_stays_failed(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = ChangeJournal(path, busy_timeout_s=0.1)
    bus = EventBus(journal)
    reported: list[Event] = []
    bus.subscribe(reported.append)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with ThreadPoolExecutor(1) as writer:
            emitter = OrderedEmitter(journal, bus.emit, writer, asyncio.get_running_loop())
            emitter.emit(StageStarted(change="c1", stage=Stage.AGENT))
            emitter.emit(AgentTextDelta(change="c1", text="after the failed event"))
            with pytest.raises(JournalError, match=re.escape(f"could not write to the journal {path}")):
                await emitter.flush()
            with pytest.raises(JournalError, match=re.escape("locked for more than 0.1 s")):
                emitter.emit(Notice(change="c1", level="info", message="later"))
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert reported == []  # nothing the journal lost was ever shown
    assert journal.events("c1") == []
    journal.close()


async def test_an_event_emitted_from_another_thread_keeps_its_place(tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "j.sqlite3")
    bus = EventBus(journal)
    reported: list[str] = []
    bus.subscribe(lambda e: reported.append(e.message) if isinstance(e, Notice) else None)
    with ThreadPoolExecutor(1) as writer:
        emitter = OrderedEmitter(journal, bus.emit, writer, asyncio.get_running_loop())
        emitter.emit(Notice(change="c1", level="info", message="first"))
        await asyncio.to_thread(emitter.emit, Notice(change="c1", level="info", message="second"))
        await asyncio.sleep(0)  # the thread's event reaches the loop
        emitter.emit(Notice(change="c1", level="info", message="third"))
        await emitter.flush()
    assert reported == ["first", "second", "third"]
    assert [e.message for e in journal.events("c1") if isinstance(e, Notice)] == reported
    journal.close()


async def test_changes_at_once_each_journal_their_run_in_order(
        repo: RepoWithRemote, tmp_path: Path) -> None:
    n = 4
    repo.write("honk.toml", "[judge]\nenabled = false\n")
    repo.commit_all("honk.toml")
    scripts = {f"c{i}": [create_turn(f"app/file{i}.txt", f"line {i}\n" * 300, chunk_chars=64),
                         text_turn("done")] for i in range(n)}
    router = route_by(numbered_routes(n))
    with ScriptedMessagesAPI(scripts, router) as api:
        env = {**os.environ, "ANTHROPIC_API_KEY": "k-test-writer",
               "ANTHROPIC_BASE_URL": api.base_url}
        services = build_services(env)
        services.context.warm_up()
        reported: dict[str, list[str]] = {}
        services.bus.subscribe(lambda e: None if e.ephemeral else
                               reported.setdefault(e.change, []).append(e.type))

        async def one(i: int) -> str:
            ctx, ws, wt = await asyncio.to_thread(
                services.changes.create, numbered_request(i, "add a file"), repo.path,
                RunOptions())
            await services.changes.run(ctx, ws, wt)
            # run() returns once its events are stored: the journal already says so.
            assert services.context.view(ctx.change_id).state.value == "awaiting_approval"
            return ctx.change_id

        try:
            ids = await asyncio.gather(*(one(i) for i in range(n)))
        finally:
            await services.context.aclose()
            services.close()
    path = services.home / "journal.sqlite3"
    for cid in ids:
        stored = stored_types(path, cid)
        assert stored == reported[cid]  # journal order is the order people saw
        assert stored[:3] == ["change_created", "run_attached", "stage_started"]
        assert stored[-1] == "change_finished"
        assert stored.count("edit_applied") == 1 and stored.count("committed") == 1


def test_reporting_a_stored_event_does_not_wait_for_the_writers_transaction(
        tmp_path: Path) -> None:
    # The bus appends every durable event it reports (on the loop thread); for one the
    # writer thread already stored, that must not queue behind the writer's next
    # transaction, which holds the journal's lock for its SQLite work.
    journal = ChangeJournal(tmp_path / "j.sqlite3")
    event = Notice(change="c1", level="info", message="stored")
    [seq] = journal.store([event])
    done = threading.Event()
    with journal._lock:  # a transaction in progress on another thread
        worker = threading.Thread(target=lambda: (journal.append(event), done.set()))
        worker.start()
        assert done.wait(5), "append waited for the journal's transaction lock"
    worker.join()
    assert journal.append(Notice(change="c1", level="info", message="next")) == seq + 1
    journal.close()
