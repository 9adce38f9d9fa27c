"""The adb transport a device speaks: 24-byte messages, streams, flow control.

One :class:`Connection` is one TCP connection from the adb server; each OPEN starts a
:class:`Stream` that a device's service handler reads from and writes to.
"""

from __future__ import annotations

import asyncio
import hashlib
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["AUTH", "CLSE", "CNXN", "OKAY", "OPEN", "WRTE", "Connection", "Device", "Handler",
           "Offline",
           "Stream"]

def _cmd(name: bytes) -> int:
    return int.from_bytes(name, "little")


CNXN, AUTH, OPEN, OKAY = _cmd(b"CNXN"), _cmd(b"AUTH"), _cmd(b"OPEN"), _cmd(b"OKAY")
WRTE, CLSE = _cmd(b"WRTE"), _cmd(b"CLSE")
_AUTH_TOKEN, _AUTH_SIGNATURE, _AUTH_RSAPUBLICKEY = 1, 2, 3
_VERSION_SKIP_CHECKSUM = 0x01000001
_MAX_PAYLOAD = 1024 * 1024


Handler = Callable[["Stream"], Awaitable[None]]


class Device(Protocol):
    """What a connection needs from the device behind it."""

    services_seen: list[str]

    @property
    def require_auth(self) -> bool: ...

    def banner(self) -> str: ...

    def handler_for(self, service: str) -> Handler | None: ...


class Offline(Exception):
    """Raised inside a service to drop the whole connection (the cable was pulled)."""


@dataclass
class Stream:
    conn: Connection
    local_id: int
    remote_id: int
    inbox: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    pending: bytearray = field(default_factory=bytearray)

    async def write(self, data: bytes) -> None:
        """Send data; one WRTE in flight until the host OKAYs it."""
        step = self.conn.max_payload
        for start in range(0, len(data), step):
            if self.closed:
                return
            self.acked.clear()
            self.conn.send(WRTE, self.local_id, self.remote_id, data[start : start + step])
            await self.acked.wait()

    async def read(self) -> bytes | None:
        """The next host WRTE (acknowledged once taken), or None once the host closed."""
        item = await self.inbox.get()
        if item is not None and not self.closed:
            self.conn.send(OKAY, self.local_id, self.remote_id)
        return item

    async def read_exact(self, n: int) -> bytes | None:
        while len(self.pending) < n:
            more = await self.read()
            if more is None:
                return None
            self.pending.extend(more)
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.acked.set()
            self.conn.send(CLSE, self.local_id, self.remote_id)
            self.conn.streams.pop(self.local_id, None)


class Connection:
    """One adb transport: the host server on the other end of one TCP connection."""

    def __init__(self, dev: Device, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.dev, self.reader, self.writer = dev, reader, writer
        self.version = _VERSION_SKIP_CHECKSUM
        self.max_payload = 4096
        self.streams: dict[int, Stream] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.next_id = 1
        self.online = False

    def send(self, command: int, arg0: int, arg1: int, data: bytes = b"") -> None:
        check = 0 if self.version >= _VERSION_SKIP_CHECKSUM else sum(data) & 0xFFFFFFFF
        header = struct.pack("<6I", command, arg0, arg1, len(data), check, command ^ 0xFFFFFFFF)
        if not self.writer.is_closing():
            self.writer.write(header + data)

    def go_online(self) -> None:
        self.online = True
        self.send(CNXN, self.version, self.max_payload, self.dev.banner().encode())

    async def run(self) -> None:
        try:
            while True:
                header = await self.reader.readexactly(24)
                command, arg0, arg1, length, _check, magic = struct.unpack("<6I", header)
                if magic != command ^ 0xFFFFFFFF:
                    break  # garbage on the line: a real adbd drops the transport too
                data = await self.reader.readexactly(length) if length else b""
                self.dispatch(command, arg0, arg1, data)
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, Offline):
            pass
        finally:
            for stream in list(self.streams.values()):
                stream.closed = True
                stream.acked.set()
                stream.inbox.put_nowait(None)
            self.writer.close()

    def dispatch(self, command: int, arg0: int, arg1: int, data: bytes) -> None:
        if command == CNXN:
            self.version = min(arg0, _VERSION_SKIP_CHECKSUM)
            self.max_payload = min(arg1, _MAX_PAYLOAD)
            if self.dev.require_auth:
                self.send(AUTH, _AUTH_TOKEN, 0, hashlib.sha1(b"token").digest())
            else:
                self.go_online()
        elif command == AUTH:
            if arg0 == _AUTH_SIGNATURE:  # never accept the key: ask again, like a locked phone
                self.send(AUTH, _AUTH_TOKEN, 0, hashlib.sha1(b"again").digest())
            # _AUTH_RSAPUBLICKEY: the phone would now show its "Allow USB debugging?" dialog.
        elif command == OPEN and self.online:
            self.open(arg0, data.rstrip(b"\0").decode("utf-8", "replace"))
        elif command == OKAY and (stream := self.streams.get(arg1)):
            stream.acked.set()
        elif command == WRTE and (stream := self.streams.get(arg1)):
            stream.inbox.put_nowait(data)
        elif command == CLSE and (stream := self.streams.pop(arg1, None)):
            stream.closed = True
            stream.acked.set()
            stream.inbox.put_nowait(None)

    def open(self, remote_id: int, service: str) -> None:
        self.dev.services_seen.append(service)
        handler = self.dev.handler_for(service)
        if handler is None:
            self.send(CLSE, 0, remote_id)  # unknown service (e.g. abb_exec): client falls back
            return
        stream = Stream(self, self.next_id, remote_id)
        self.next_id += 1
        self.streams[stream.local_id] = stream
        self.send(OKAY, stream.local_id, remote_id)
        task = asyncio.get_running_loop().create_task(self.serve(handler, stream))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve(self, handler: Handler, stream: Stream) -> None:
        try:
            await handler(stream)
            stream.close()
        except Offline:
            self.writer.transport.abort()  # the cable is pulled: no goodbye

