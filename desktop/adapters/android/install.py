"""Putting an APK on an Android device: the streamed install, spoken over the adb socket.

What the adb client does for `adb install` on a device with the `cmd` feature, without
running the client: open `exec:cmd package 'install' -S SIZE` (or, where the device
offers `abb_exec`, `abb_exec:package\\0install\\0-S\\0SIZE`) through the adb server, write
exactly SIZE bytes of the APK, then read the package manager's `Success` or
`Failure [CODE: detail]`. The bytes go with sendfile(2), so they never pass through
Python; progress is how far the send has got. Devices without `cmd` (Android < 7) get
the adb client's push-then-`pm install` (a subprocess), with progress read from /proc.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from desktop.adapters.android.adb_host import AdbHost, close_stream
from desktop.adapters.android.errors import DeviceError

__all__ = [
    "SENT",
    "Progress",
    "digest",
    "install_service",
    "process_install",
    "stream_install",
]

Progress = Callable[[float, str], None]  # fraction done (0..1), what is happening

STARTED, SENT = 0.02, 0.95  # progress when the send starts and when every byte has gone
_STEPS = 40  # at most this many progress reports per send
_MIN_STEP = 1 << 20  # ... and none for less than 1 MiB
_REPLY_LIMIT = 64 * 1024  # the installer answers a line; never buffer more than this


def install_service(size: int, features: frozenset[str]) -> str:
    """The device service a streamed install of ``size`` bytes opens, as adb 36 names it."""
    if "abb_exec" in features:  # the binder bridge: no shell in between, no quoting
        return "abb_exec:" + "\0".join(("package", "install", "-S", str(size)))
    return f"exec:cmd package 'install' -S {size}"


async def stream_install(host: AdbHost, serial: str, apk: Path, size: int,
                         features: frozenset[str], report: Progress) -> str:
    """Stream ``apk`` to the package manager; its reply ('' when the stream just closed).

    A FAIL from the adb server (device gone, offline, unauthorized) is a DeviceError
    carrying the server's words.
    """
    stream = await host.open_service(serial, install_service(size, features))
    try:
        try:
            sent = await _send(stream[1], apk, size, report)
        except ConnectionError:
            sent = size  # the device hung up: what it said (if anything) is still readable
        if sent < size:  # closing the stream makes the device abort the install
            raise DeviceError(
                f"The artifact {apk} got shorter while it was being sent ({sent} of {size} "
                "bytes): is a build still writing it? Nothing was installed; build again.",
                "ARTIFACT_CHANGED")
        return await _read_reply(stream[0])
    finally:
        await close_stream(stream)


async def _send(writer: asyncio.StreamWriter, apk: Path, size: int, report: Progress) -> int:
    """Write the APK's first ``size`` bytes with sendfile; how many went."""
    loop = asyncio.get_running_loop()
    step = max(_MIN_STEP, -(-size // _STEPS))
    sent = 0
    with apk.open("rb") as file:
        while sent < size:
            n = await loop.sendfile(writer.transport, file, sent, min(step, size - sent))
            if n == 0:
                break  # the file ended early
            sent += n
            report(STARTED + (SENT - STARTED) * sent / size,
                   f"Sent {sent / 1e6:.1f} of {size / 1e6:.1f} MB" if sent < size
                   else f"Sent {size / 1e6:.1f} MB; the device is installing it")
    return sent


async def _read_reply(reader: asyncio.StreamReader) -> str:
    reply = bytearray()
    with contextlib.suppress(ConnectionError):
        while len(reply) < _REPLY_LIMIT and (chunk := await reader.read(4096)):
            reply.extend(chunk)
    return reply.decode(errors="replace")


# -- devices without `cmd`: the adb client pushes, then runs `pm install` -------------------
async def process_install(host: AdbHost, serial: str, apk: Path, size: int,
                          report: Progress) -> tuple[int, str]:
    """`adb install` as a subprocess: (exit code, its output)."""
    if apk.suffix.lower() == ".apk":
        return await _run_install(host, serial, apk, size, report)
    with tempfile.TemporaryDirectory(prefix="honk-apk-") as tmp:
        target = Path(tmp) / (apk.name + ".apk")  # adb insists on the suffix
        target.symlink_to(apk.resolve())
        return await _run_install(host, serial, target, size, report)


async def _run_install(host: AdbHost, serial: str, apk: Path, size: int, report: Progress
                       ) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        host.adb, "-P", str(host.port), "-s", serial, "install", str(apk), env=host.env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    watch = asyncio.ensure_future(_watch_reads(proc.pid, apk.resolve(), size, report))
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch
    return proc.returncode or 0, (out + err).decode(errors="replace")


async def _watch_reads(pid: int, apk: Path, size: int, report: Progress) -> None:
    """Byte progress from how far the adb client has read the APK (Linux /proc).

    adb prints no progress; where /proc is missing, progress stays at the phase level.
    """
    fd_dir = Path(f"/proc/{pid}/fd")
    while True:
        await asyncio.sleep(0.1)
        pos = await asyncio.to_thread(_read_position, fd_dir, apk)
        if pos is not None and size:
            report(STARTED + (SENT - STARTED) * min(pos / size, 1.0),
                   f"Sent {pos / 1e6:.1f} of {size / 1e6:.1f} MB")


def _read_position(fd_dir: Path, apk: Path) -> int | None:
    try:
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == str(apk):
                    info = (fd_dir.parent / "fdinfo" / fd.name).read_text()
                    return int(info.split("pos:", 1)[1].split()[0])
    except OSError:
        return None
    return None


# -- the artifact's sha256 -------------------------------------------------------------------
def digest(path: Path, known: str | None) -> asyncio.Future[str]:
    """``known``, or the file's sha256 on a low-priority thread that yields to the send."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()
    if known:
        future.set_result(known)
        return future

    def work() -> None:
        with contextlib.suppress(OSError, AttributeError):  # per-thread nice: Linux only
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            result = _sha256(path)
        except OSError as exc:
            loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            loop.call_soon_threadsafe(_settle, future, result, None)

    threading.Thread(target=work, name="honk-sha256", daemon=True).start()
    return future


def _settle(future: asyncio.Future[str], result: str | None, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result or "")


def _sha256(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
    return sha.hexdigest()
