"""The adb server's socket protocol: host requests, device services and the shell.

The host protocol is a few lines (a 4-hex-digit length, the request, then OKAY or FAIL
and a message) and stays cancellable on the event loop; the adb binary is only run to
start the server when nothing answers on its port.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict

from desktop.adapters.android.errors import DeviceError

__all__ = ["AdbHost", "AdbSettings", "Stream", "close_stream", "read_block"]

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class AdbSettings(TypedDict, total=False):
    """Which adb server: `AdbHost`'s keyword arguments, which `AndroidDevices` passes on."""

    adb_path: str | None  # the adb binary; None: the one bundled with adbutils
    server_port: int | None  # None: ANDROID_ADB_SERVER_PORT, else 5037
    env: Mapping[str, str] | None  # None: this process's environment


class AdbHost:
    """One adb server (its port) and the adb binary that starts it."""

    def __init__(
        self,
        *,
        adb_path: str | None = None,
        server_port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.env = dict(os.environ if env is None else env)
        self._adb_setting = adb_path
        self.port = server_port if server_port is not None else self._port_from_env()
        self._server_checked = False

    def _port_from_env(self) -> int:
        raw = self.env.get("ANDROID_ADB_SERVER_PORT", "").strip()
        if not raw:
            return 5037
        if not raw.isdigit() or not 0 < int(raw) < 65536:
            raise DeviceError(
                f"ANDROID_ADB_SERVER_PORT is {raw!r}; expected a TCP port number (1-65535).",
                "BAD_SETTING",
            )
        return int(raw)

    @property
    def adb(self) -> str:
        """The adb binary: the explicit setting, else the one bundled with adbutils."""
        if self._adb_setting is not None:
            path = Path(self._adb_setting)
            if not (path.is_file() and os.access(path, os.X_OK)):
                raise DeviceError(
                    f"adb not found at {self._adb_setting} (the adb path setting): point it "
                    "at an executable adb, or clear it to use the bundled one.",
                    "ADB_NOT_FOUND",
                )
            return str(path)
        try:
            import adbutils

            return str(adbutils.adb_path())
        except Exception:  # adbutils missing or without its binary: fall back to PATH
            found = shutil.which("adb", path=self.env.get("PATH"))
            if found is None:
                raise DeviceError(
                    "adb not found: install Android platform-tools or set the adb path.",
                    "ADB_NOT_FOUND",
                ) from None
            return found

    async def run_adb(self, *args: str) -> tuple[int, str, str]:
        """Run the adb client against this server: (exit code, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            self.adb, "-P", str(self.port), *args, env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")

    async def open(self) -> Stream:
        """A connection to the server, starting it (once) if nothing listens."""
        try:
            return await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            if self._server_checked:
                raise DeviceError(f"The adb server on port {self.port} went away.") from None
        code, _, err = await self.run_adb("start-server")
        self._server_checked = True
        if code != 0:
            raise DeviceError(f"Could not start the adb server on port {self.port}: {err.strip()}")
        return await asyncio.open_connection("127.0.0.1", self.port)

    @staticmethod
    async def request(stream: Stream, request: str) -> None:
        """Send one request; a FAIL becomes a DeviceError carrying the server's message."""
        reader, writer = stream
        payload = request.encode()
        writer.write(b"%04x" % len(payload) + payload)
        await writer.drain()
        status = await reader.readexactly(4)
        if status != b"OKAY":
            raise DeviceError(f"adb: {await read_block(reader)}")

    async def host(self, request: str) -> str:
        """A host request (`host:devices-l`, ...) and its one answer."""
        stream = await self.open()
        try:
            await self.request(stream, request)
            return await read_block(stream[0])
        finally:
            await close_stream(stream)

    async def open_service(self, serial: str, service: str) -> Stream:
        """A stream to ``service`` on the device; the caller closes it."""
        stream = await self.open()
        try:
            await self.request(stream, f"host:transport:{serial}")
            await self.request(stream, service)
        except BaseException:
            await close_stream(stream)
            raise
        return stream

    async def service(self, serial: str, service: str) -> bytes:
        """Open ``service`` on the device and read until it closes."""
        stream = await self.open_service(serial, service)
        try:
            return await stream[0].read()
        finally:
            await close_stream(stream)

    async def features(self, serial: str) -> frozenset[str]:
        """What the device and this server both support (`cmd`, `shell_v2`, `abb_exec`...)."""
        answer = await self.host(f"host-serial:{serial}:features")
        return frozenset(f for f in answer.strip().split(",") if f)

    async def shell(self, serial: str, *argv: str) -> tuple[str, int | None]:
        """Run a command on the device; exit code is None where the device cannot tell."""
        command = " ".join(shlex.quote(a) for a in argv)
        if "shell_v2" not in await self.features(serial):
            raw = await self.service(serial, f"shell:{command}")
            return raw.decode(errors="replace"), None
        raw = await self.service(serial, f"shell,v2,raw:{command}")
        out, code, pos = bytearray(), None, 0
        while pos + 5 <= len(raw):
            ident, size = raw[pos], struct.unpack("<I", raw[pos + 1 : pos + 5])[0]
            body = raw[pos + 5 : pos + 5 + size]
            pos += 5 + size
            if ident in (1, 2):
                out.extend(body)
            elif ident == 3 and body:
                code = body[0]
        return out.decode(errors="replace"), code


async def read_block(reader: asyncio.StreamReader) -> str:
    """One length-prefixed (4 hex digits) block of the host protocol."""
    size = int(await reader.readexactly(4), 16)
    return (await reader.readexactly(size)).decode(errors="replace")


async def close_stream(stream: Stream) -> None:
    """Close a stream; a peer that already went away is not an error here."""
    writer = stream[1]
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
