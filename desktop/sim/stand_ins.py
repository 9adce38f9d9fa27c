"""Small things the stand-ins' users share (the demo, the tests, the benchmarks): a free
loopback port and a minimal real APK for the virtual phone to install."""

from __future__ import annotations

import os
import socket
import zipfile
from pathlib import Path

__all__ = ["free_port", "write_apk"]

_MANIFEST = (
    '<?xml version="1.0" encoding="utf-8"?>\n'
    '<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="{package}">\n'
    '  <application android:label="Honk sample">\n'
    '    <activity android:name="{activity}" android:exported="true"/>\n'
    "  </application>\n"
    "</manifest>\n"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_apk(path: Path, package: str = "com.example.honk", activity: str = ".MainActivity",
              payload: int = 64 * 1024) -> Path:
    """A zip with AndroidManifest.xml and ``payload`` bytes of incompressible 'dex'."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as apk:
        apk.writestr("AndroidManifest.xml", _MANIFEST.format(package=package, activity=activity))
        apk.writestr("classes.dex", os.urandom(payload), compress_type=zipfile.ZIP_STORED)
    return path
