"""Gradle's and Android's per-user homes for boxed commands: Honk's own persistent copies
under its tool cache, so builds keep their downloads between runs and the debug key stays
the same, while the engineer's ``~/.gradle`` and ``~/.android`` stay out of the box."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from desktop.core.config import SandboxPolicy

__all__ = ["tool_homes"]

# Per-user tool homes a boxed command gets as Honk's own copies: (variable, default under
# HOME, directory name under the tool cache).
_TOOL_HOMES = (("GRADLE_USER_HOME", ".gradle", "gradle"),
               ("ANDROID_USER_HOME", ".android", "android"))
_DEBUG_KEYSTORE = "debug.keystore"


def tool_homes(
    env: Mapping[str, str], home: str, policy: SandboxPolicy, cache: Path
) -> tuple[list[str], dict[str, str]]:
    """Gradle's and Android's per-user homes as Honk's copies under ``cache``: the dirs to
    mount writable and the variables that point there.

    A home the engineer opened to the box on purpose (its path under ``[sandbox] writable``)
    is used as it is. The engineer's debug key is copied in, so Honk's builds are signed as
    theirs and install over an earlier build of their own.
    """
    opened = {os.path.normpath(os.path.expanduser(p)) for p in policy.writable}
    mounts: list[str] = []
    variables: dict[str, str] = {}
    for name, default, dirname in _TOOL_HOMES:
        own = os.path.normpath(env.get(name) or os.path.join(home, default))
        if own in opened:
            continue
        copy = cache / dirname
        copy.mkdir(parents=True, exist_ok=True, mode=0o700)
        mounts.append(str(copy))
        variables[name] = str(copy)
        if name == "ANDROID_USER_HOME":
            _copy_debug_key(Path(own) / _DEBUG_KEYSTORE, copy / _DEBUG_KEYSTORE)
    return mounts, variables


def _copy_debug_key(source: Path, target: Path) -> None:
    """Copy the engineer's debug key into Honk's Android home, unless it is there already.

    ``target`` lives in a directory boxed builds may write: it is never followed if it is a
    link (a planted link would make this copy write or chmod a file outside the box), and
    it is replaced by a rename, not written through.
    """
    try:
        data = source.read_bytes()
    except OSError:
        return  # none yet: the first boxed build makes one in Honk's copy, and keeps it
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        pass  # missing, or a link: replaced below
    else:
        with os.fdopen(fd, "rb") as present:
            if present.read() == data:
                return
    # mkstemp: an unguessable name, created exclusively, mode 0600.
    fd, fresh = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(fresh, target)
