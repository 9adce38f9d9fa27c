"""Build the sample app's debug APK: a zip with a manifest, the sources and a 'dex'.

A stand-in for Gradle so the demo needs no Android SDK; adb and the virtual device
accept it like a real APK.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

PACKAGE = "com.example.honkplayer"
ACTIVITY = ".MainActivity"
MANIFEST = f"""<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android" package="{PACKAGE}">
  <application android:label="Honk Player">
    <activity android:name="{ACTIVITY}" android:exported="true"/>
  </application>
</manifest>
"""


def main() -> None:
    root = Path(__file__).resolve().parent
    out = root / "build" / "outputs" / "app-debug.apk"
    out.parent.mkdir(parents=True, exist_ok=True)
    sources = sorted((root / "player").glob("*.py"))
    print(f"> Task :app:compileDebugSources ({len(sources)} files)")
    dex = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).digest() * 64
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as apk:
        apk.writestr("AndroidManifest.xml", MANIFEST)
        apk.writestr("classes.dex", dex)
        for path in sources:
            apk.write(path, f"assets/{path.relative_to(root).as_posix()}")
    print("> Task :app:packageDebug 100%")
    print(f"BUILD SUCCESSFUL: {out.relative_to(root)} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
