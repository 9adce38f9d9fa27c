"""A virtual Android device that speaks the adb wire protocol over TCP.

The real adb server connects to it exactly as to a phone (`adb connect 127.0.0.1:PORT`).
It stores installed packages (with the sha256 of the exact bytes received) and answers
`pm`, `getprop`, `am start` and `screencap -p`, and takes streamed installs
(`exec:cmd package install -S SIZE`, or `abb_exec:package\0install\0-S\0SIZE` when it
advertises the `abb_exec` feature) as a real package manager does. Fault knobs (`DeviceFaults`) let tests
reach the unhappy paths: going offline mid-install, a refused install, an unauthorized key.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import shlex
import struct
import zipfile
from dataclasses import dataclass

from desktop.sim.adb_transport import (
    CLSE,
    CNXN,
    OKAY,
    OPEN,
    Connection,
    Handler,
    Offline,
    Stream,
)
from desktop.sim.phone_screen import AppScreen, app_screen, draw_screen
from desktop.sim.stand_ins import free_port

__all__ = ["CLSE", "CNXN", "OKAY", "OPEN", "DeviceFaults", "InstalledPackage",
           "VirtualAdbDevice"]


_TMP_DIR = "/data/local/tmp"
_PORT_TRIES = 20


@dataclass(frozen=True)
class InstalledPackage:
    """A package the device holds, with the digest of exactly the bytes it received."""

    name: str
    sha256: str
    size: int
    activities: tuple[str, ...]


@dataclass
class DeviceFaults:
    """Knobs a test turns to make the device misbehave like a real one can."""

    offline_after_bytes: int | None = None  # drop the USB/TCP link after N install bytes (once)
    install_failure: str | None = None  # e.g. "INSTALL_FAILED_INSUFFICIENT_STORAGE"
    require_auth: bool = False  # ask for a key and never accept it: adb shows "unauthorized"


ShellResult = tuple[bytes, int]


class VirtualAdbDevice:
    """The device: an asyncio TCP server on 127.0.0.1, port 0 unless given."""

    def __init__(
        self,
        *,
        model: str = "Honk Virtual Phone",
        product: str = "honk_sim",
        device: str = "honksim",
        android_version: str = "14",
        sdk: int = 34,
        features: tuple[str, ...] = ("shell_v2", "cmd"),
        port: int = 0,
    ) -> None:
        self.model, self.product, self.device = model, product, device
        self.android_version, self.sdk, self.features = android_version, sdk, features
        self.faults = DeviceFaults()
        self.packages: dict[str, InstalledPackage] = {}
        self.files: dict[str, bytes] = {}  # pushed with sync:, by device path
        self.services_seen: list[str] = []
        self.foreground: str | None = None
        self._apks: dict[str, bytes] = {}  # what each package was installed from: its screen
        self._screens: dict[str, AppScreen | None] = {}  # by the APK's sha256
        self._port = port
        self._server: asyncio.Server | None = None
        self._conns: set[Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Listen on 127.0.0.1 (port 0 picks a free one; read it from `.port`).

        A free one below the kernel's ephemeral range: adb keeps reconnecting to a device
        that stopped, and an ephemeral port could be handed to adb as its own source port
        (TCP then connects adb to itself)."""
        for attempt in range(_PORT_TRIES):
            try:
                self._server = await asyncio.start_server(self._accept, "127.0.0.1",
                                                          self._port or free_port())
                break
            except OSError:  # taken between free_port's check and this bind
                if self._port or attempt == _PORT_TRIES - 1:
                    raise
        assert self._server is not None
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every connection; returns when all are closed."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.writer.transport.abort()
        services = [t for c in self._conns for t in c.tasks]
        for task in services:
            task.cancel()
        # Connection tasks end by themselves once their socket is aborted; cancelling them
        # would make asyncio's stream callback log the CancelledError.
        await asyncio.gather(*services, *self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> VirtualAdbDevice:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def address(self) -> str:
        """What to pass to `adb connect`; adb then uses exactly this string as the serial."""
        return f"127.0.0.1:{self._port}"

    def authorize(self) -> None:
        """The user tapped "Allow": waiting connections come online."""
        self.faults.require_auth = False
        for conn in self._conns:
            if not conn.online:
                conn.go_online()

    def banner(self) -> str:
        return (
            f"device::ro.product.name={self.product};ro.product.model={self.model};"
            f"ro.product.device={self.device};features={','.join(self.features)}"
        )

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self._conns.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.run()
        finally:
            self._conns.discard(conn)
            if task is not None:
                self._tasks.discard(task)

    # -- services ----------------------------------------------------------------------------
    @property
    def require_auth(self) -> bool:
        return self.faults.require_auth

    def handler_for(self, service: str) -> Handler | None:
        """The service's handler; None refuses it (the host then falls back)."""
        if service == "sync:":
            return self._sync
        kind, _, command = service.partition(":")
        if kind == "abb_exec" and "abb_exec" in self.features:
            return lambda s: self._abb_exec(s, command.split("\0"))
        if kind.startswith("shell,v2"):
            return lambda s: self._shell(s, command, v2=True)
        if kind in ("shell", "exec"):
            return lambda s: self._shell(s, command, v2=False)
        return None

    async def _shell(self, stream: Stream, command: str, *, v2: bool) -> None:
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = command.split()
        out, code = await self.run_command(stream, argv)
        if not v2:
            await stream.write(out)
            return
        if out:
            await stream.write(bytes([1]) + struct.pack("<I", len(out)) + out)
        await stream.write(bytes([3]) + struct.pack("<I", 1) + bytes([code & 0xFF]))

    async def _abb_exec(self, stream: Stream, argv: list[str]) -> None:
        """A binder service's command (`cmd SERVICE ARGS...` without a shell): raw stdout."""
        out, _ = await self.run_command(stream, ["cmd", *argv])
        await stream.write(out)

    async def run_command(self, stream: Stream, argv: list[str]) -> ShellResult:
        """What the device's shell answers for one command line."""
        if not argv:
            return b"", 0
        prog, args = argv[0], argv[1:]
        if prog == "cmd" and args[:2] == ["package", "install"]:
            return await self._streamed_install(stream, args[2:])
        if prog == "pm" and args[:1] == ["install"]:
            path = args[-1] if len(args) > 1 else ""
            if path not in self.files:
                return f"Failure [INSTALL_FAILED_INVALID_URI: {path}]\n".encode(), 1
            return self._install(self.files[path], hashlib.sha256(self.files[path]).hexdigest())
        if argv[:3] == ["pm", "list", "packages"] or argv[:4] == ["cmd", "package", "list",
                                                                   "packages"]:
            lines = "".join(f"package:{name}\n" for name in sorted(self.packages))
            return lines.encode(), 0
        if prog == "getprop":
            return self._getprop(args), 0
        if prog == "am" and args[:1] == ["start"]:
            return self._am_start(args[1:])
        if prog == "screencap":
            return await self.screencap(), 0
        if prog == "rm":
            for path in args:
                self.files.pop(path, None)
            return b"", 0
        return f"/system/bin/sh: {prog}: inaccessible or not found\n".encode(), 127

    async def _streamed_install(self, stream: Stream, args: list[str]) -> ShellResult:
        """Read exactly the -S SIZE bytes announced, then install them like `pm install`."""
        raw = args[args.index("-S") + 1] if "-S" in args[:-1] else ""
        if not raw.isdigit() or int(raw) == 0:
            return (f"Error: a streamed install needs the APK's size in bytes (-S SIZE), "
                    f"got {raw!r}\n").encode(), 1
        size = int(raw)
        digest, data = hashlib.sha256(), bytearray()
        while len(data) < size:
            chunk = await stream.read()
            if chunk is None:
                return b"Failure [INSTALL_FAILED_ABORTED: stream closed]\n", 1
            chunk = chunk[: size - len(data)]
            self._maybe_go_offline(len(data) + len(chunk))
            digest.update(chunk)
            data.extend(chunk)
        return self._install(bytes(data), digest.hexdigest())

    def _maybe_go_offline(self, received: int) -> None:
        limit = self.faults.offline_after_bytes
        if limit is not None and received >= limit:
            self.faults.offline_after_bytes = None  # once: the device can be plugged back in
            raise Offline

    def _install(self, data: bytes, sha256: str) -> ShellResult:
        tmp = "/data/app/vmdl1073741824.tmp/base.apk"
        if self.faults.install_failure:
            return f"Failure [{self.faults.install_failure}]\n".encode(), 1
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as apk:
                manifest = apk.read("AndroidManifest.xml").decode("utf-8", "replace")
        except (zipfile.BadZipFile, ValueError):
            return (f"Failure [INSTALL_PARSE_FAILED_NOT_APK: Failed to parse {tmp}: "
                    f"Failed to load asset path {tmp}]\n").encode(), 1
        except KeyError:
            return (f"Failure [INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION: Failed to parse {tmp}: "
                    "AndroidManifest.xml]\n").encode(), 1
        found = re.search(r'<manifest[^>]*\bpackage="([\w.]+)"', manifest)
        if found is None:
            return (f"Failure [INSTALL_PARSE_FAILED_MANIFEST_MALFORMED: Failed to parse {tmp}: "
                    "<manifest> does not specify package]\n").encode(), 1
        name = found.group(1)
        activities = tuple(
            _qualify(name, a) for a in re.findall(r'<activity[^>]*\bandroid:name="([\w.$]+)"',
                                                  manifest)
        )
        self.packages[name] = InstalledPackage(name, sha256, len(data), activities)
        self._apks[name] = data
        return b"Success\n", 0

    def _getprop(self, args: list[str]) -> bytes:
        props = {
            "ro.build.version.release": self.android_version,
            "ro.build.version.sdk": str(self.sdk),
            "ro.product.model": self.model,
            "ro.product.name": self.product,
            "ro.product.device": self.device,
            "ro.serialno": f"HONKSIM{self._port}",
        }
        if args:
            return f"{props.get(args[0], '')}\n".encode()
        return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(props.items())).encode()

    def _am_start(self, args: list[str]) -> ShellResult:
        component = args[args.index("-n") + 1] if "-n" in args[:-1] else ""
        package, _, activity = component.partition("/")
        shown = f"Starting: Intent {{ cmp={component} }}\n"
        pkg = self.packages.get(package)
        full = _qualify(package, activity)
        if pkg is None or (pkg.activities and full not in pkg.activities):
            # What real am prints; it exits 0 on many Android versions, so read the text.
            return (shown + "Error type 3\n"
                    f"Error: Activity class {{{package}/{full}}} does not exist.\n").encode(), 1
        self.foreground = package
        return shown.encode(), 0

    async def screencap(self) -> bytes:
        """`screencap -p`: the screen as a PNG, drawn from the app in the foreground (the
        sample app's real layout, from the build installed; see ``phone_screen``)."""
        app = None
        package = self.packages.get(self.foreground or "")
        if package is not None:
            if package.sha256 not in self._screens:
                self._screens[package.sha256] = await app_screen(self._apks[package.name])
            app = self._screens[package.sha256]
        return draw_screen(self.foreground, app)

    # -- sync: (push) for devices without the `cmd` feature ----------------------------------
    async def _sync(self, stream: Stream) -> None:
        while (head := await stream.read_exact(8)) is not None:
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"QUIT":
                return
            body = await stream.read_exact(length)
            if body is None:
                return
            if ident == b"STAT":
                await stream.write(b"STAT" + self._stat(body.decode()))
            elif ident == b"SEND":
                path = body.decode().rsplit(",", 1)[0]
                if not await self._receive_file(stream, path):
                    return
            else:
                msg = b"unsupported sync request"
                await stream.write(b"FAIL" + struct.pack("<I", len(msg)) + msg)

    def _stat(self, path: str) -> bytes:
        if path.rstrip("/") == _TMP_DIR:
            return struct.pack("<III", 0o40771, 4096, 0)
        if path in self.files:
            return struct.pack("<III", 0o100644, len(self.files[path]), 0)
        return struct.pack("<III", 0, 0, 0)

    async def _receive_file(self, stream: Stream, path: str) -> bool:
        data = bytearray()
        while (head := await stream.read_exact(8)) is not None:
            ident, length = head[:4], struct.unpack("<I", head[4:])[0]
            if ident == b"DONE":
                self.files[path] = bytes(data)
                await stream.write(b"OKAY" + struct.pack("<I", 0))
                return True
            chunk = await stream.read_exact(length)
            if chunk is None:
                return False
            self._maybe_go_offline(len(data) + len(chunk))
            data.extend(chunk)
        return False


def _qualify(package: str, activity: str) -> str:
    return package + activity if activity.startswith(".") else activity
