"""Keeping the window's event loop first while changes run: a shared reading slice per loop
pass, and background threads (with the git they start) at a lower CPU priority.

A stream whose bytes are already buffered is read without ever suspending. Each reader
yielding after its own few milliseconds is not enough: ten readers in one pass of the loop
add up to ten slices before the loop gets back to its timers and I/O (the window shares the
loop, so that is a frozen frame). With :class:`LoopShare` the slice is the loop's, not the
task's: the first reader to ask in a pass starts the clock; once it runs out, every reader
yields at its next check (having handled at least one event), and a new pass starts anew.

On a busy machine (ten changes: hundreds of short git processes, worker threads) the loop's
thread waits in the kernel's run queue behind that work. :func:`background_pool` threads lower
their own priority (Linux sets nice per thread, and a process a thread starts inherits it),
so the window's thread is scheduled first and the background work takes the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

__all__ = ["BACKGROUND_NICE", "LoopShare", "Offload", "background_pool", "lower_this_thread"]

T = TypeVar("T")

# Of loop time per pass spent reading streams, all readers together. A busy loop's stall is
# about three passes (a timer is seen one pass, its task woken the next, run the one after),
# so a pass must stay well under a third of a frame: 1.5 ms, not 3 (ten streams at once:
# longest stall 14 -> 11 ms in bench.load; wall time within noise).
SLICE_S = 0.0015
BACKGROUND_NICE = 10  # added to a background thread's nice value (0 normal .. 19 lowest)


class Offload(Protocol):
    """Runs ``fn(*args)`` off the loop thread (``asyncio.to_thread`` is one)."""

    def __call__(self, fn: Callable[..., T], /, *args: Any) -> Awaitable[T]: ...


class LoopShare:
    """The reading budget of one loop pass. Give every reader on a loop the same one."""

    def __init__(self, slice_s: float = SLICE_S) -> None:
        self._slice_s = slice_s
        self._deadline: float | None = None

    def spent(self) -> bool:
        """Whether this pass's slice is used up (call after each unit of work)."""
        now = time.perf_counter()
        if self._deadline is None:
            self._deadline = now + self._slice_s
            # Runs in the next pass: after the readers that yield in this one were queued,
            # and after the loop polled its I/O and timers.
            asyncio.get_running_loop().call_soon(self._new_pass)
            return False
        return now >= self._deadline

    async def pause_if_spent(self) -> None:
        """Let the loop run its other work when this pass's slice is used up."""
        if self.spent():
            await asyncio.sleep(0)

    def _new_pass(self) -> None:
        self._deadline = None


def lower_this_thread(increment: int = BACKGROUND_NICE) -> None:
    """Lower the calling thread's CPU priority by ``increment`` (Linux: per thread; where
    priority is per process, or not allowed, nothing changes)."""
    if not hasattr(os, "setpriority") or os.uname().sysname != "Linux":
        return
    tid = threading.get_native_id()
    with contextlib.suppress(OSError):
        current = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, current + increment))


def background_pool(workers: int, name: str, nice: int = BACKGROUND_NICE) -> ThreadPoolExecutor:
    """Threads for work the window need not wait for (git, file edits, the journal), at a
    lower CPU priority than the loop's thread. Its threads stay lowered: raising a priority
    back needs privileges, so use them for nothing else."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name, initializer=lower_this_thread,
                              initargs=(nice,))
