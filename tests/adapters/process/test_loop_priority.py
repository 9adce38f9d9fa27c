"""A loop pass's shared reading slice, and background threads at a lower CPU priority.
(Behaviour only: the stalls they cut are measured in bench/load.py.)"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest

from desktop.adapters.process.loop_priority import LoopShare, background_pool

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="per-thread nice is Linux's")


async def test_the_slice_is_shared_by_every_reader_of_a_pass_and_renewed_next_pass() -> None:
    share = LoopShare(slice_s=0.0)  # used up as soon as it starts
    assert share.spent() is False  # the first asker starts this pass's slice
    assert share.spent() is True  # ...which every other reader of the same pass sees spent
    assert share.spent() is True
    await asyncio.sleep(0)  # the loop runs a pass: a new slice
    assert share.spent() is False


async def test_readers_take_turns_and_each_makes_progress_every_pass() -> None:
    share = LoopShare(slice_s=0.0)
    order: list[tuple[str, int]] = []

    async def reader(name: str) -> None:
        for i in range(3):
            order.append((name, i))  # one unit of work, then ask
            await share.pause_if_spent()

    await asyncio.gather(reader("a"), reader("b"))
    # Interleaved, nobody starved, each reader's own units in order.
    assert sorted(order) == [("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2)]
    assert [i for n, i in order if n == "a"] == [0, 1, 2]
    assert order.index(("b", 0)) < order.index(("a", 2))


async def test_a_generous_slice_lets_a_reader_run_on_without_yielding() -> None:
    share = LoopShare(slice_s=60.0)
    other_ran = False

    async def other() -> None:
        nonlocal other_ran
        other_ran = True

    task = asyncio.ensure_future(other())
    for _ in range(100):
        await share.pause_if_spent()
    assert not other_ran  # never yielded: the slice was not used up
    await task


@linux_only
def test_background_threads_and_the_processes_they_start_run_at_lower_priority() -> None:
    base = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    pool = background_pool(2, "t-bg", nice=5)
    try:
        thread_nice = pool.submit(
            lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
        child_nice = pool.submit(
            lambda: subprocess.run(["nice"], capture_output=True, text=True, check=True).stdout
        ).result()
    finally:
        pool.shutdown()
    expected = min(19, base + 5)
    assert thread_nice == expected
    assert int(child_nice) == expected  # git started from there inherits it
    # The caller's thread (the loop's, in the app) keeps its priority.
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == base
