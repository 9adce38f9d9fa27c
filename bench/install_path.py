"""Honk's Android install path against a plain `adb install` of the same file.

Both go to the same virtual device through the same private adb server, interleaved,
in one run (plain: the adb client, a process per install; Honk: the same streamed install
spoken over the server's socket, sendfile for the bytes); prints the median seconds per
size and the ratio Honk / plain (goal <= 1.10).

The virtual phone runs in a process of its own, as a real phone is never inside Honk's
process: in Honk's process its Python work would take the GIL from Honk's event loop,
a handicap only the bench has (`--device-in-process` measures that setup anyway).

    python -m bench.install_path [--sizes 1,20,100] [--reps 5] [--quick] [--json FILE]
                                 [--device-in-process] [--samples]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import adbutils

from desktop.adapters.android.devices import AndroidDevices
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.adb_thread import DeviceThread
from desktop.sim.stand_ins import free_port, write_apk

PACKAGE = "com.example.bench"


class Phone:
    """The virtual device, in this process (a thread) or in its own process."""

    def __init__(self, in_process: bool) -> None:
        self._thread: DeviceThread[VirtualAdbDevice] | None = None
        self._device: VirtualAdbDevice | None = None
        self._pipe: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        if in_process:
            self._device = VirtualAdbDevice()
            self._thread = DeviceThread(self._device)
            self._thread.start()
            self.address = self._device.address
        else:
            ctx = multiprocessing.get_context("spawn")  # no fork of a threaded process
            self._pipe, child = ctx.Pipe()
            self._proc = ctx.Process(target=_serve_phone, args=(child,), daemon=True)
            self._proc.start()
            self.address = str(self._pipe.recv())

    def sha256_of(self, package: str) -> str:
        """The sha256 of the bytes the device installed as ``package`` ('' if none)."""
        if self._device is not None:
            installed = self._device.packages.get(package)
            return installed.sha256 if installed else ""
        assert self._pipe is not None
        self._pipe.send(package)
        return str(self._pipe.recv())

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
        if self._pipe is not None and self._proc is not None:
            self._pipe.send(None)
            self._proc.join(10)


def _serve_phone(pipe: Connection) -> None:
    """The device's process: serve adb on loopback; answer sha256 queries on the pipe."""

    async def main() -> None:
        device = VirtualAdbDevice()
        await device.start()
        pipe.send(device.address)
        loop = asyncio.get_running_loop()
        while (package := await loop.run_in_executor(None, pipe.recv)) is not None:
            installed = device.packages.get(package)
            pipe.send(installed.sha256 if installed else "")
        await device.stop()

    asyncio.run(main())


Run = Callable[..., "subprocess.CompletedProcess[str]"]


def timed_plain(run: Run, phone: Phone, apk: Path, sha256: str) -> float:
    """Seconds for `adb -s SERIAL install APK` (the adb client, as a person runs it)."""
    start = time.perf_counter()
    out = run("-s", phone.address, "install", str(apk))
    seconds = time.perf_counter() - start
    assert "Success" in out.stdout and phone.sha256_of(PACKAGE) == sha256, out
    return seconds


async def timed_honk(honk: AndroidDevices, phone: Phone, apk: Path, sha256: str) -> float:
    """Seconds for Honk's install of the same file; the device must hold exactly it."""
    start = time.perf_counter()
    await honk.install(phone.address, apk, sha256=sha256)
    seconds = time.perf_counter() - start
    assert phone.sha256_of(PACKAGE) == sha256
    return seconds


async def bench(sizes: list[int], reps: int, work: Path, *, in_process: bool = False,
                samples: bool = False) -> list[dict[str, float]]:
    adb, port = adbutils.adb_path(), free_port()
    (work / "home").mkdir()
    env = {**os.environ, "HOME": str(work / "home"), "ADB_MDNS": "0", "ADB_EMU": "0",
           "ADB_LIBUSB": "0", "TMPDIR": str(work), "ANDROID_ADB_SERVER_PORT": str(port)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([adb, "-P", str(port), *args], env=env, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)

    phone = Phone(in_process)
    run("start-server")
    rows: list[dict[str, float]] = []
    try:
        run("connect", phone.address)
        run("-s", phone.address, "wait-for-device")
        honk = AndroidDevices(server_port=port, env=env)
        version = run("version").stdout.splitlines()[1]
        where = "in this process" if in_process else "in its own process"
        print(f"adb {version}; virtual device {phone.address} {where}; {reps} reps per size")
        print(f"{'size':>7} {'plain adb install':>18} {'Honk install':>13} {'ratio':>6}")
        for mb in sizes:
            apk = write_apk(work / f"app-{mb}mb.apk", PACKAGE, ".Main", mb * 1_000_000)
            # As in the pipeline: the build already hashed the artifact (ArtifactBuilt), and
            # the install stage checked it, so the install itself does not hash it again.
            sha256 = hashlib.sha256(apk.read_bytes()).hexdigest()
            plain_t: list[float] = []
            honk_t: list[float] = []
            for i in range(reps + 1):  # the first round warms the page cache and is dropped
                # Alternate who goes first, so neither side always meets the other's leftovers
                # (the device's freed buffers, a busy adb server).
                if i % 2:
                    ours = await timed_honk(honk, phone, apk, sha256)
                    plain = timed_plain(run, phone, apk, sha256)
                else:
                    plain = timed_plain(run, phone, apk, sha256)
                    ours = await timed_honk(honk, phone, apk, sha256)
                if i:
                    plain_t.append(plain)
                    honk_t.append(ours)
            if samples:
                print("   ms plain", [round(t * 1000) for t in plain_t],
                      "honk", [round(t * 1000) for t in honk_t])
            p, h = statistics.median(plain_t), statistics.median(honk_t)
            print(f"{mb:>5}MB {p:>17.3f}s {h:>12.3f}s {h / p:>6.2f}")
            rows.append({"mb": mb, "plain_s": p, "honk_s": h})
            apk.unlink()
    finally:
        run("kill-server")
        phone.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100", help="APK sizes in MB, comma-separated")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per size")
    parser.add_argument("--quick", action="store_true", help="2 reps, 1 and 20 MB (smoke run)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--device-in-process", action="store_true",
                        help="run the virtual device on a thread of this process")
    parser.add_argument("--samples", action="store_true", help="print every timing")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.sizes = min(args.reps, 2), "1,20"
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="honk-bench-") as work:
        rows = asyncio.run(bench(sizes, args.reps, Path(work), in_process=args.device_in_process,
                                 samples=args.samples))
    from bench.common import Figure, write_figures

    write_figures(args.json, "install_path", [
        Figure("install_path", f"install {r['mb']:.0f} MB apk", r["honk_s"] * 1000, "ms",
               r["plain_s"] * 1000, goal="ratio <= 1.10",
               ok=r["honk_s"] <= 1.10 * r["plain_s"],
               note="floor: plain `adb install` of the same file, same device, interleaved")
        for r in rows], {"rows": rows})


if __name__ == "__main__":
    main()
