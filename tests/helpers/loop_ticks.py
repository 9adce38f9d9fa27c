"""How often the event loop got a turn while something ran: a loop held by blocking work
counts few ticks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

__all__ = ["LoopTicks", "counting_ticks"]

TICK_S = 0.01


@dataclass
class LoopTicks:
    count: int = 0


@contextlib.asynccontextmanager
async def counting_ticks() -> AsyncIterator[LoopTicks]:
    """Count loop turns (one per ``TICK_S`` when the loop is free) until the block ends."""
    ticks = LoopTicks()

    async def tick() -> None:
        while True:
            ticks.count += 1
            await asyncio.sleep(TICK_S)

    ticker = asyncio.ensure_future(tick())
    try:
        yield ticks
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
