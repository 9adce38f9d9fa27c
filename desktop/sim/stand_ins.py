"""Small things the stand-ins' users share (the demo, the tests, the benchmarks): a free
loopback port and a minimal real APK for the virtual phone to install."""

from __future__ import annotations

import os
import random
import socket
import zipfile
from pathlib import Path

__all__ = ["ephemeral_floor", "free_port", "write_apk"]

_MANIFEST = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="{package}">\n'
    '  <application android:label="Honk sample">\n'
    '    <activity android:name="{activity}" android:exported="true"/>\n'
    "  </application>\n"
    "</manifest>\n"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now, below the ephemeral range.

    Why not bind port 0: that hands out an ephemeral port, and a client that connects to it
    before its server listens (``adb start-server`` does) can be given the same number as its
    own source port. TCP then connects the socket to itself, and adb reads back its own
    request ("protocol fault (status 30 30 30 63?!)"; it failed CI once).
    """
    top = ephemeral_floor()
    for _ in range(200):
        port = random.randrange(_FIRST_UNPRIVILEGED, top)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError(f"no free TCP port on 127.0.0.1 in {_FIRST_UNPRIVILEGED}-{top - 1}")


_FIRST_UNPRIVILEGED = 1024
_IANA_DYNAMIC = 49152  # the ephemeral range's start where the kernel does not say
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_floor() -> int:
    """The first port the kernel may hand a client (Linux says; elsewhere IANA's 49152)."""
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _IANA_DYNAMIC
    # A range that starts near 1024 leaves too few ports below it: take IANA's instead.
    return low if low > _FIRST_UNPRIVILEGED + 1000 else _IANA_DYNAMIC


def write_apk(path: Path, package: str = "com.example.honk", activity: str = ".MainActivity",
              payload: int = 64 * 1024) -> Path:
    """A zip with AndroidManifest.xml and ``payload`` bytes of incompressible 'dex'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", _MANIFEST.format(package=package, activity=activity))
        apk.writestr("classes.dex", os.urandom(payload), compress_type=zipfile.ZIP_STORED)
    return path
