"""Run a virtual device on its own event loop in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Protocol, TypeVar

__all__ = ["DeviceThread", "LoopService"]


class LoopService(Protocol):
    """What runs on the thread's loop: a stand-in with async start and stop."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


D = TypeVar("D", bound=LoopService)


class DeviceThread(Generic[D]):
    """Run a VirtualAdbDevice on its own event loop in a background thread.

    Tests and benchmarks that call adb synchronously would otherwise block the very loop
    the device answers on.
    """

    def __init__(self, device: D) -> None:
        self.device = device
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> D:
        ready = threading.Event()
        failure: list[BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.device.start())
            except BaseException as exc:  # handed to the starting thread below
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=main, name="virtual-adb-device", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            raise failure[0]
        return self.device

    def call(self, fn: Callable[[], None]) -> None:
        """Run fn on the device's loop (to turn knobs that touch live connections)."""
        assert self._loop is not None
        done = threading.Event()

        def wrapped() -> None:
            try:
                fn()
            finally:
                done.set()

        self._loop.call_soon_threadsafe(wrapped)
        done.wait()

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.device.stop(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop = self._thread = None

    def __enter__(self) -> D:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        with contextlib.suppress(Exception):
            self.stop()
