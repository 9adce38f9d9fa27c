"""Which Android SDK a repo's commands build with, when the environment does not say.

Android Studio records the SDK in ``local.properties`` (``sdk.dir=...``) in the engineer's
checkout, and that file is git-ignored: a change's fresh worktree has none, so Gradle would
fail with "SDK location not found". The commands get ``ANDROID_HOME`` from the checkout's
file instead; nothing is written into the worktree.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from desktop.adapters.process.sandbox import git_common_dir

__all__ = ["SDK_VARS", "read_sdk_dir", "with_android_sdk"]

SDK_VARS = ("ANDROID_HOME", "ANDROID_SDK_ROOT")
_KEY = re.compile(r"^\s*sdk\.dir\s*[=:]\s*(.*?)\s*$")


def read_sdk_dir(properties: Path) -> str | None:
    """``sdk.dir`` from a Java properties file, unescaped (``C\\:\\\\sdk`` is ``C:\\sdk``)."""
    try:
        text = properties.read_text(encoding="latin-1")  # the properties format's encoding
    except OSError:
        return None
    for line in text.splitlines():
        if line.lstrip().startswith(("#", "!")):
            continue
        found = _KEY.match(line)
        if found:
            return re.sub(r"\\(.)", r"\1", found.group(1)) or None
    return None


def with_android_sdk(env: Mapping[str, str], worktree: Path) -> dict[str, str]:
    """``env``, plus ``ANDROID_HOME`` from the checkout's local.properties when neither SDK
    variable is set and the worktree has no local.properties of its own."""
    out = dict(env)
    if any(out.get(name) for name in SDK_VARS) or (worktree / "local.properties").exists():
        return out
    common = git_common_dir(worktree)
    if common is None or common.name != ".git":
        return out
    sdk = read_sdk_dir(common.parent / "local.properties")
    if sdk and os.path.isabs(sdk) and os.path.isdir(sdk):
        out["ANDROID_HOME"] = sdk
    return out
