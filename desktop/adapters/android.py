"""Android test devices through the real adb: discover, install, launch, screenshot.

Talks to the adb server's socket directly (its host protocol is a few lines and stays
cancellable on the event loop) and runs the adb binary bundled with adbutils for
`start-server` and `install`: the adb client's streamed install is the fastest path to
the device, so Honk's install costs what a plain `adb install` costs.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import os
import re
import shlex
import shutil
import struct
import tempfile
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "AndroidDevice",
    "AndroidDevices",
    "DeviceError",
    "InstallResult",
    "failure_in_words",
    "hint_for",
]

Progress = Callable[[float, str], None]

_HINTS = {
    "device": "",
    "unauthorized": "Unlock the phone and accept the 'Allow USB debugging?' prompt "
    "for this computer, then retry.",
    "authorizing": "The phone is deciding whether to trust this computer: check its screen.",
    "offline": "The device does not answer: unplug and plug it back in "
    "(or `adb reconnect`), then retry.",
    "connecting": "adb is still connecting to the device: wait a moment.",
    "no permissions": "adb may not open this USB device: add a udev rule for it "
    "(developer.android.com/studio/run/device) and plug it in again.",
    "bootloader": "The device is in its bootloader: boot it into Android.",
    "recovery": "The device is in recovery mode: boot it into Android.",
    "sideload": "The device is in sideload mode: boot it into Android.",
    "rescue": "The device is in rescue mode: boot it into Android.",
}

# The installer's codes people actually meet, in plain words.
_FAILURES = {
    "INSTALL_FAILED_INSUFFICIENT_STORAGE": "the device is out of storage space; free some "
    "space on it (or uninstall old builds) and retry",
    "INSTALL_FAILED_UPDATE_INCOMPATIBLE": "a copy of the app signed with a different key is "
    "installed; uninstall it from the device first",
    "INSTALL_FAILED_VERSION_DOWNGRADE": "the device has a newer version of the app; uninstall "
    "it first or raise the build's versionCode",
    "INSTALL_FAILED_ALREADY_EXISTS": "the app is already installed and may not be replaced",
    "INSTALL_FAILED_OLDER_SDK": "the app needs a newer Android version than the device has",
    "INSTALL_FAILED_NO_MATCHING_ABIS": "the app has no native code for this device's CPU",
    "INSTALL_FAILED_TEST_ONLY": "the build is marked test-only; the device refuses it "
    "without `-t`",
    "INSTALL_FAILED_USER_RESTRICTED": "installing over USB is switched off on the phone "
    "(Developer options → Install via USB)",
    "INSTALL_FAILED_INVALID_APK": "the device says the APK is invalid",
    "INSTALL_FAILED_ABORTED": "the install was aborted before it finished",
    "INSTALL_PARSE_FAILED_NOT_APK": "the device could not read the file as an APK",
    "INSTALL_PARSE_FAILED_NO_CERTIFICATES": "the APK is not signed",
    "INSTALL_PARSE_FAILED_UNEXPECTED_EXCEPTION": "the device could not parse the APK",
    "INSTALL_PARSE_FAILED_MANIFEST_MALFORMED": "the APK's AndroidManifest.xml is malformed",
}

_FAILURE_RE = re.compile(r"Failure \[(\w+)(?::\s*([^\]]*))?\]")
_NAME_RE = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")
_ACTIVITY_RE = re.compile(r"^\.?[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*)*$")


class DeviceError(Exception):
    """A device operation failed; ``str()`` says what happened and what to do, in plain words.

    ``code`` is machine-readable: an installer code such as
    ``INSTALL_FAILED_INSUFFICIENT_STORAGE`` or one of Honk's own (``NO_DEVICE``, ...).
    """

    def __init__(self, message: str, code: str = "ADB_ERROR") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class AndroidDevice:
    """One device as adb sees it; ``hint`` says what to do when it is not ready."""

    serial: str
    state: str  # device | unauthorized | offline | authorizing | no permissions | ...
    model: str
    android_version: str
    hint: str

    @property
    def ready(self) -> bool:
        return self.state == "device"


@dataclass(frozen=True)
class InstallResult:
    """What went onto the device: the artifact's exact size and sha256."""

    serial: str
    package: str | None
    seconds: float
    bytes: int
    sha256: str


def hint_for(state: str) -> str:
    """What to do about a device in ``state`` (empty when it is ready)."""
    return _HINTS.get(state, f"adb reports the device as '{state}'.")


def failure_in_words(code: str, detail: str = "") -> str:
    """An installer failure code in plain words (the code itself stays in the message)."""
    words = _FAILURES.get(code, "the device's installer refused the APK")
    return f"{words} ({code}{': ' + detail if detail else ''})"


def _quote(*argv: str) -> str:
    return " ".join(shlex.quote(a) for a in argv)


class AndroidDevices:
    """The adb server on this machine and the devices attached to it."""

    def __init__(
        self,
        *,
        adb_path: str | None = None,
        server_port: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self._env = dict(os.environ if env is None else env)
        self._adb_setting = adb_path
        self.port = server_port if server_port is not None else self._port_from_env()
        self._server_checked = False

    def _port_from_env(self) -> int:
        raw = self._env.get("ANDROID_ADB_SERVER_PORT", "").strip()
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
            found = shutil.which("adb", path=self._env.get("PATH"))
            if found is None:
                raise DeviceError(
                    "adb not found: install Android platform-tools or set the adb path.",
                    "ADB_NOT_FOUND",
                ) from None
            return found

    # -- the adb server's host protocol ------------------------------------------------------
    async def _run_adb(self, *args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            self.adb, "-P", str(self.port), *args, env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            if self._server_checked:
                raise DeviceError(f"The adb server on port {self.port} went away.") from None
        code, _, err = await self._run_adb("start-server")
        self._server_checked = True
        if code != 0:
            raise DeviceError(f"Could not start the adb server on port {self.port}: {err.strip()}")
        return await asyncio.open_connection("127.0.0.1", self.port)

    @staticmethod
    async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                       request: str) -> None:
        payload = request.encode()
        writer.write(b"%04x" % len(payload) + payload)
        await writer.drain()
        status = await reader.readexactly(4)
        if status != b"OKAY":
            raise DeviceError(f"adb: {await _read_block(reader)}")

    async def _host(self, request: str) -> str:
        reader, writer = await self._open()
        try:
            await self._request(reader, writer, request)
            return await _read_block(reader)
        finally:
            writer.close()
            await writer.wait_closed()

    async def _service(self, serial: str, service: str) -> bytes:
        """Open ``service`` on the device and read until it closes."""
        reader, writer = await self._open()
        try:
            await self._request(reader, writer, f"host:transport:{serial}")
            await self._request(reader, writer, service)
            return await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()

    async def shell(self, serial: str, *argv: str) -> tuple[str, int | None]:
        """Run a command on the device; exit code is None where the device cannot tell."""
        features = (await self._host(f"host-serial:{serial}:features")).split(",")
        command = _quote(*argv)
        if "shell_v2" not in features:
            raw = await self._service(serial, f"shell:{command}")
            return raw.decode(errors="replace"), None
        raw = await self._service(serial, f"shell,v2,raw:{command}")
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

    # -- discovery ---------------------------------------------------------------------------
    async def _describe(self, line: str) -> AndroidDevice | None:
        serial, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if not serial or not rest:
            return None
        state = "no permissions" if rest.startswith("no permissions") else rest.split()[0]
        fields = dict(t.split(":", 1) for t in rest.split() if ":" in t)
        model, version = fields.get("model", "").replace("_", " "), ""
        if state == "device":
            with contextlib.suppress(DeviceError, OSError, asyncio.IncompleteReadError):
                props, _ = await self.shell(serial, "getprop")
                found = dict(re.findall(r"^\[([^\]]+)\]: \[([^\]]*)\]", props, re.M))
                model = found.get("ro.product.model", model)
                version = found.get("ro.build.version.release", "")
        return AndroidDevice(serial, state, model, version, hint_for(state))

    async def _parse(self, listing: str) -> list[AndroidDevice]:
        found = await asyncio.gather(*(self._describe(ln) for ln in listing.splitlines()))
        return [d for d in found if d is not None]

    async def list(self) -> list[AndroidDevice]:
        """Every device adb knows, with model and Android version for ready ones."""
        return await self._parse(await self._host("host:devices-l"))

    async def track(self) -> AsyncIterator[builtins.list[AndroidDevice]]:
        """The device list now, then again each time a device comes, goes or changes state."""
        reader, writer = await self._open()
        try:
            await self._request(reader, writer, "host:track-devices-l")
            while True:
                try:
                    listing = await _read_block(reader)
                except asyncio.IncompleteReadError:
                    raise DeviceError(f"The adb server on port {self.port} stopped.") from None
                yield await self._parse(listing)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def connect(self, address: str) -> None:
        """`adb connect ADDRESS` (a device over TCP/IP; its serial is exactly ADDRESS)."""
        answer = await self._host(f"host:connect:{address}")
        if not answer.startswith(("connected to", "already connected")):
            raise DeviceError(f"Could not connect to {address}: {answer}", "CONNECT_FAILED")

    async def choose(self, serial: str | None) -> AndroidDevice:
        """The device to use: ``serial``, or the only one connected; clear errors otherwise."""
        devices = await self.list()
        if serial is not None:
            match = [d for d in devices if d.serial == serial]
            if not match:
                known = ", ".join(d.serial for d in devices) or "none"
                raise DeviceError(
                    f"No device {serial!r} is connected (connected: {known}).", "NO_DEVICE")
            device = match[0]
        elif not devices:
            raise DeviceError(
                "No Android device is connected: plug one in with USB debugging on "
                "(or `adb connect HOST:PORT`), then retry.", "NO_DEVICE")
        elif len(devices) > 1:
            names = ", ".join(f"{d.serial} ({d.model or d.state})" for d in devices)
            raise DeviceError(
                f"{len(devices)} devices are connected: {names}. Choose one "
                "(--device SERIAL or the device picker).", "SEVERAL_DEVICES")
        else:
            device = devices[0]
        if not device.ready:
            raise DeviceError(f"Device {device.serial} is {device.state}. {device.hint}",
                              device.state.upper().replace(" ", "_"))
        return device

    # -- install, launch, screenshot ---------------------------------------------------------
    async def install(self, serial: str, apk: Path, progress: Progress | None = None,
                      *, sha256: str | None = None) -> InstallResult:
        """Install ``apk`` with the adb client's own (streamed) install, reporting progress.

        The device's state is only looked at when adb fails: a check up front would cost
        a round trip on every install (see bench/install_path.py). Pass ``sha256`` when the
        caller already checked the file's hash (the install stage does): it is not read twice.
        """
        report = progress or (lambda _f, _s: None)
        report(0.0, f"Checking {apk.name}")
        package = await asyncio.to_thread(_check_apk, apk)
        size = apk.stat().st_size
        started = time.monotonic()
        digest = _known(sha256) if sha256 else _sha256_in_background(apk)
        report(0.02, f"Sending {size / 1e6:.1f} MB to {serial}")
        try:
            if apk.suffix.lower() == ".apk":
                code, text = await self._install_process(serial, apk, size, report)
            else:
                with tempfile.TemporaryDirectory(prefix="honk-apk-") as tmp:
                    target = Path(tmp) / (apk.name + ".apk")  # adb insists on the suffix
                    target.symlink_to(apk.resolve())
                    code, text = await self._install_process(serial, target, size, report)
        finally:
            sha256 = await digest
        if code == 0 and "Success" in text:
            seconds = time.monotonic() - started
            report(1.0, f"Installed on {serial} in {seconds:.1f} s")
            return InstallResult(serial, package, seconds, size, sha256)
        found = _FAILURE_RE.search(text)
        if found:
            reason = failure_in_words(found.group(1), (found.group(2) or "").strip())
            raise DeviceError(f"Install on {serial} failed: {reason}.", found.group(1))
        raise await self._explain(serial, text)

    async def _explain(self, serial: str, adb_output: str) -> DeviceError:
        """Why adb could not install: the device missing, not ready, or gone mid-way."""
        devices = await self.list()
        device = next((d for d in devices if d.serial == serial), None)
        if device is None and "not found" in adb_output:
            known = ", ".join(d.serial for d in devices) or "none"
            return DeviceError(f"No device {serial!r} is connected (connected: {known}).",
                               "NO_DEVICE")
        if device is None or (device.state == "offline" and "offline" not in adb_output):
            return DeviceError(
                f"Device {serial} disconnected during the install; nothing was installed. "
                "Reconnect it and retry.", "DEVICE_DISCONNECTED")
        if not device.ready:
            return DeviceError(f"Device {device.serial} is {device.state}. {device.hint}",
                               device.state.upper().replace(" ", "_"))
        last = adb_output.strip().splitlines()[-1:] or ["no output"]
        return DeviceError(f"adb install on {serial} failed: {last[0]}", "INSTALL_FAILED")

    async def _install_process(self, serial: str, apk: Path, size: int, report: Progress
                               ) -> tuple[int, str]:
        proc = await asyncio.create_subprocess_exec(
            self.adb, "-P", str(self.port), "-s", serial, "install", str(apk), env=self._env,
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

    async def launch(self, serial: str, package: str, activity: str) -> None:
        """`am start -n package/activity`; a missing app or activity is a clear error."""
        if not _NAME_RE.match(package):
            raise DeviceError(f"Package {package!r} is not a valid Android package name "
                              "(expected e.g. com.example.app).", "BAD_SETTING")
        if not _ACTIVITY_RE.match(activity):
            raise DeviceError(f"Activity {activity!r} is not a valid activity name "
                              "(expected e.g. .MainActivity).", "BAD_SETTING")
        out, code = await self.shell(serial, "am", "start", "-n", f"{package}/{activity}")
        if "Error" in out or (code not in (0, None)):
            detail = next((ln for ln in out.splitlines() if ln.startswith("Error:")), out.strip())
            raise DeviceError(
                f"Could not start {package}/{activity} on {serial}: {detail} Is the app "
                "installed, and do [device] package/activity in honk.toml name it?",
                "LAUNCH_FAILED")

    async def screenshot(self, serial: str) -> bytes:
        """The device's screen as PNG bytes (`screencap -p`)."""
        data = await self._service(serial, "exec:screencap -p")
        if not data.startswith(b"\x89PNG\r\n\x1a\n"):
            raise DeviceError(f"Device {serial} did not return a PNG screenshot.", "SCREENSHOT")
        return data


async def _read_block(reader: asyncio.StreamReader) -> str:
    size = int(await reader.readexactly(4), 16)
    return (await reader.readexactly(size)).decode(errors="replace")


def _check_apk(apk: Path) -> str | None:
    """Refuse a missing file or a non-APK before any device is touched; return the package."""
    if not apk.exists():
        raise DeviceError(f"The artifact {apk} does not exist; build it first.",
                          "ARTIFACT_MISSING")
    if not apk.is_file():
        raise DeviceError(f"The artifact {apk} is not a file.", "NOT_AN_APK")
    try:
        with zipfile.ZipFile(apk) as archive:
            manifest = archive.read("AndroidManifest.xml")
    except (zipfile.BadZipFile, OSError):
        raise DeviceError(f"The artifact {apk} is not an APK (not a zip archive).",
                          "NOT_AN_APK") from None
    except KeyError:
        raise DeviceError(f"The artifact {apk} is not an APK: it has no AndroidManifest.xml.",
                          "NOT_AN_APK") from None
    return _manifest_package(manifest)


def _manifest_package(manifest: bytes) -> str | None:
    """The package name from a text or binary (AXML) AndroidManifest.xml; None if unreadable."""
    if manifest.lstrip().startswith(b"<"):
        found = re.search(rb'<manifest[^>]*\bpackage="([\w.]+)"', manifest)
        return found.group(1).decode() if found else None
    try:
        return _axml_package(manifest)
    except (struct.error, IndexError, UnicodeDecodeError):
        return None


def _axml_package(data: bytes) -> str | None:
    strings: list[str] = []
    pos = struct.unpack_from("<H", data, 2)[0]  # skip the file header
    while pos + 8 <= len(data):
        kind, header, size = struct.unpack_from("<HHI", data, pos)
        if kind == 0x0001:  # string pool
            count, _, flags, start = struct.unpack_from("<IIII", data, pos + 8)
            offsets = struct.unpack_from(f"<{count}I", data, pos + header)
            strings = [_pool_string(data, pos + start + o, bool(flags & 0x100)) for o in offsets]
        elif kind == 0x0102:  # start element
            name, attr_start, attr_size, attr_count = struct.unpack_from("<IHHH", data, pos + 20)
            if strings[name] == "manifest":
                for i in range(attr_count):
                    at = pos + header + attr_start + i * attr_size
                    attr_name, raw = struct.unpack_from("<II", data, at + 4)
                    if strings[attr_name] == "package":
                        return str(strings[raw])
                return None
        pos += max(size, 8)
    return None


def _pool_string(data: bytes, at: int, utf8: bool) -> str:
    if utf8:
        at += 2 if data[at] & 0x80 else 1  # length in characters
        n = data[at]
        if n & 0x80:
            n, at = ((n & 0x7F) << 8) | data[at + 1], at + 2
        else:
            at += 1
        return data[at : at + n].decode("utf-8")
    n = struct.unpack_from("<H", data, at)[0]
    if n & 0x8000:
        n, at = ((n & 0x7FFF) << 16) | struct.unpack_from("<H", data, at + 2)[0], at + 4
    else:
        at += 2
    return data[at : at + 2 * n].decode("utf-16-le")


def _sha256_in_background(path: Path) -> asyncio.Future[str]:
    """sha256 on its own low-priority thread, so it yields the CPU to adb during the send."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

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
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


async def _watch_reads(pid: int, apk: Path, size: int, report: Progress) -> None:
    """Byte progress from how far the adb client has read the APK (Linux /proc).

    adb prints no progress for a streamed install; where /proc is missing, progress stays
    at the phase level.
    """
    fd_dir = Path(f"/proc/{pid}/fd")
    while True:
        await asyncio.sleep(0.1)
        pos = await asyncio.to_thread(_read_position, fd_dir, apk)
        if pos is not None and size:
            report(0.02 + 0.93 * min(pos / size, 1.0),
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


async def _known(sha256: str) -> str:
    return sha256
