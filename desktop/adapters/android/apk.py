"""What an APK says about itself, read before any device is touched.

Only the zip's central directory and AndroidManifest.xml are read, so checking a 100 MB
APK costs a few small reads. The manifest may be plain XML (test builds) or the binary
AXML that aapt2 writes; the package name is taken from either.
"""

from __future__ import annotations

import re
import struct
import zipfile
from pathlib import Path

from desktop.adapters.android.errors import DeviceError

__all__ = ["check_apk", "manifest_package"]


def check_apk(apk: Path) -> str | None:
    """Refuse a missing file or a non-APK with a clear error; return its package (or None)."""
    if not apk.exists():
        raise DeviceError(f"The artifact {apk} does not exist; build it first.",
                          "ARTIFACT_MISSING")
    if not apk.is_file():
        raise DeviceError(f"The artifact {apk} is not a file.", "NOT_AN_APK")
    try:
        with zipfile.ZipFile(apk) as archive:
            manifest = archive.read("AndroidManifest.xml")
    except (zipfile.BadZipFile, OSError, EOFError):
        raise DeviceError(
            f"The artifact {apk} is not an APK (not a readable zip archive: truncated or "
            "corrupt?); build it again.", "NOT_AN_APK") from None
    except KeyError:
        raise DeviceError(f"The artifact {apk} is not an APK: it has no AndroidManifest.xml.",
                          "NOT_AN_APK") from None
    return manifest_package(manifest)


def manifest_package(manifest: bytes) -> str | None:
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
