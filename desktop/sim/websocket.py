"""RFC 6455 WebSocket framing for the loopback stand-ins: the handshake key, frames out, frames in.

Servers never mask, clients always do (5.1); control frames may arrive between the
fragments of a message (5.4). Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import struct
from typing import Protocol

__all__ = ["OP_BINARY", "OP_CLOSE", "OP_CONT", "OP_PING", "OP_PONG", "OP_TEXT", "Stream",
           "accept_key", "encode_frame", "read_frame"]

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a client's ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + _GUID).encode("ascii")).digest()).decode("ascii")


def encode_frame(opcode: int, payload: bytes, *, mask: bool = False) -> bytes:
    """One final frame. Servers never mask (RFC 6455 5.1); clients always do."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    bit = 0x80 if mask else 0
    if size < 126:
        head += bytes([bit | size])
    elif size < 65536:
        head += struct.pack("!BH", bit | 126, size)
    else:
        head += struct.pack("!BQ", bit | 127, size)
    if not mask:
        return head + payload
    key = secrets.token_bytes(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class Stream(Protocol):
    """The reading side of a socket (``socket.makefile("rb")``, a handler's ``rfile``)."""

    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


def _read_exact(stream: Stream, size: int) -> bytes:
    data = stream.read(size) if size else b""
    if len(data) != size:
        raise EOFError("the peer closed the connection")
    return data


def read_frame(stream: Stream, *, from_client: bool = False) -> tuple[int, bytes]:
    """(opcode, unmasked payload) of the next message, joining continuation frames.
    ``from_client``: an unmasked frame is a protocol error (RFC 6455 5.1), ValueError."""
    opcode, parts = -1, []
    while True:
        b1, b2 = _read_exact(stream, 2)
        if from_client and not b2 & 0x80:
            raise ValueError("unmasked frame from a client")
        size = b2 & 0x7F
        if size == 126:
            size = struct.unpack("!H", _read_exact(stream, 2))[0]
        elif size == 127:
            size = struct.unpack("!Q", _read_exact(stream, 8))[0]
        key = _read_exact(stream, 4) if b2 & 0x80 else b""
        data = _read_exact(stream, size)
        if key:
            data = bytes(b ^ key[i % 4] for i, b in enumerate(data))
        if b1 & 0x0F >= OP_CLOSE:  # control frames may arrive between fragments
            return b1 & 0x0F, data
        if b1 & 0x0F != OP_CONT:
            opcode = b1 & 0x0F
        parts.append(data)
        if b1 & 0x80:
            return opcode, b"".join(parts)

