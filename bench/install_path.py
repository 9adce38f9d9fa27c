"""Honk's Android install path against a plain `adb install` of the same file.

Both go to the same virtual device through the same private adb server, interleaved,
in one run (plain: the adb client, a process per install; Honk: the same streamed install
spoken over the server's socket, sendfile for the bytes); prints the median seconds per
size and the ratio Honk / plain (goal <= 1.10).

    python -m bench.install_path [--sizes 1,20,100] [--reps 5] [--quick] [--json FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import socket
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import adbutils

from desktop.adapters.android import AndroidDevices
from desktop.sim.adb_device import DeviceThread, VirtualAdbDevice

MANIFEST = '<manifest package="com.example.bench"><application><activity ' \
    'android:name=".Main"/></application></manifest>'


def make_apk(path: Path, megabytes: int) -> Path:
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", MANIFEST)
        apk.writestr("classes.dex", os.urandom(megabytes * 1_000_000),
                     compress_type=zipfile.ZIP_STORED)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def bench(sizes: list[int], reps: int, work: Path) -> list[dict[str, float]]:
    adb, port = adbutils.adb_path(), free_port()
    (work / "home").mkdir()
    env = {**os.environ, "HOME": str(work / "home"), "ADB_MDNS": "0", "ADB_EMU": "0",
           "ADB_LIBUSB": "0", "TMPDIR": str(work), "ANDROID_ADB_SERVER_PORT": str(port)}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([adb, "-P", str(port), *args], env=env, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)

    device = VirtualAdbDevice()
    thread = DeviceThread(device)
    thread.start()
    run("start-server")
    rows: list[dict[str, float]] = []
    try:
        run("connect", device.address)
        run("-s", device.address, "wait-for-device")
        honk = AndroidDevices(server_port=port, env=env)
        version = run("version").stdout.splitlines()[1]
        print(f"adb {version}; virtual device {device.address}; {reps} reps per size")
        print(f"{'size':>7} {'plain adb install':>18} {'Honk install':>13} {'ratio':>6}")
        for mb in sizes:
            apk = make_apk(work / f"app-{mb}mb.apk", mb)
            # As in the pipeline: the build already hashed the artifact (ArtifactBuilt), and
            # the install stage checked it, so the install itself does not hash it again.
            sha256 = hashlib.sha256(apk.read_bytes()).hexdigest()
            plain_t: list[float] = []
            honk_t: list[float] = []
            for i in range(reps + 1):  # the first round warms the page cache and is dropped
                start = time.perf_counter()
                out = run("-s", device.address, "install", str(apk))
                plain = time.perf_counter() - start
                assert "Success" in out.stdout, out
                start = time.perf_counter()
                await honk.install(device.address, apk, sha256=sha256)
                ours = time.perf_counter() - start
                assert device.packages["com.example.bench"].sha256 == sha256
                if i:
                    plain_t.append(plain)
                    honk_t.append(ours)
            p, h = statistics.median(plain_t), statistics.median(honk_t)
            print(f"{mb:>5}MB {p:>17.3f}s {h:>12.3f}s {h / p:>6.2f}")
            rows.append({"mb": mb, "plain_s": p, "honk_s": h})
            apk.unlink()
    finally:
        run("kill-server")
        thread.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,20,100", help="APK sizes in MB, comma-separated")
    parser.add_argument("--reps", type=int, default=5, help="timed repetitions per size")
    parser.add_argument("--quick", action="store_true", help="2 reps, 1 and 20 MB (smoke run)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.quick:
        args.reps, args.sizes = min(args.reps, 2), "1,20"
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="honk-bench-") as work:
        rows = asyncio.run(bench(sizes, args.reps, Path(work)))
    from bench.common import Figure, write_figures

    write_figures(args.json, "install_path", [
        Figure("install_path", f"install {r['mb']:.0f} MB apk", r["honk_s"] * 1000, "ms",
               r["plain_s"] * 1000, goal="ratio <= 1.10",
               ok=r["honk_s"] <= 1.10 * r["plain_s"],
               note="floor: plain `adb install` of the same file, same device, interleaved")
        for r in rows], {"rows": rows})


if __name__ == "__main__":
    main()
