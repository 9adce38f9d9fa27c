"""A box for the repo's own commands: verifiers and builds run under bubblewrap (``bwrap``).

Those commands execute code the agent may have written (tests, conftest.py, build scripts).
The scrubbed environment keeps secrets out of their variables; the sandbox keeps them away
from the files and sockets that hold secrets too. Inside it a command sees the system
read-only, the toolchain it needs read-only, the git repository's common dir read-only (so
``git status`` works but hooks, config and refs cannot be planted), its worktree read-write,
an empty private ``/tmp`` and ``HOME``, and no network unless the policy allows one.

Mobile toolchains come along without configuration: the SDK and JDK that ``ANDROID_HOME``,
``ANDROID_SDK_ROOT`` and ``JAVA_HOME`` name are mounted read-only, and Gradle's and Android's
per-user homes (``GRADLE_USER_HOME``, ``ANDROID_USER_HOME``) point at Honk's own persistent
copies under its tool cache (:mod:`desktop.adapters.process.tool_homes`). So builds keep their downloads between runs, the debug key
stays the same (an update installs over the last build), and the engineer's own
``~/.gradle`` (signing passwords in gradle.properties, init scripts) and ``~/.android``
(the adb key) are never seen or written by code the agent wrote.

This module only builds the argv (and probes that bwrap can run); ``commands.run_command``
runs it, so timeouts, process-group kills and the ledger work exactly as without a box.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from desktop.adapters.process.tool_homes import tool_homes
from desktop.core.config import SandboxPolicy

__all__ = [
    "BwrapProbe",
    "Sandboxed",
    "bwrap_argv",
    "describe",
    "exec_failure",
    "find_bwrap",
    "git_common_dir",
    "probe_bwrap",
    "sandbox_command",
    "tool_homes",
    "toolchain_dirs",
]

# The system, read-only. Symlinks among them (/bin -> usr/bin) are recreated as symlinks.
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt",
           "/nix")
# Files under /etc that hold credentials: hidden behind /dev/null or an empty tmpfs.
_ETC_SECRET_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
                     "/etc/sudoers", "/etc/security/opasswd")
_ETC_SECRET_DIRS = ("/etc/ssh", "/etc/ssl/private", "/etc/sudoers.d")
# The session's runtime dir (D-Bus, keyring, agents) is never mounted; do not point at it.
_DROP_ENV = ("XDG_RUNTIME_DIR",)
# Variables naming an installed toolchain: mounted read-only when they name a directory.
_TOOLCHAIN_VARS = ("ANDROID_HOME", "ANDROID_SDK_ROOT", "JAVA_HOME")
_SANDBOX_TMP = "/tmp"
_FALLBACK_HOME = "/tmp/home"
_PROBE_TIMEOUT = 10.0


@dataclass(frozen=True)
class BwrapProbe:
    """Whether bwrap at ``path`` can create the namespaces we ask for, and if not, why."""

    path: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class Sandboxed:
    """What to run: ``argv`` with ``env``; or nothing, when ``error`` says why not."""

    argv: tuple[str, ...]
    env: dict[str, str]
    boxed: bool  # True when argv runs under bwrap
    note: str = ""  # for the stage's log: how it runs, or why it runs without a box
    error: str = ""  # mode "required" and no working bwrap: the command must not run


def find_bwrap(path_env: str | None) -> str | None:
    """The bwrap executable on ``path_env`` (a PATH string), or None."""
    return shutil.which("bwrap", path=path_env if path_env is not None else os.defpath)


@functools.lru_cache(maxsize=8)
def probe_bwrap(bwrap: str) -> BwrapProbe:
    """Run bwrap once with the namespaces a box needs; cached per process and path.

    The cache is deliberate: the answer does not change while Honk runs, and every verifier
    of every change would otherwise pay for the probe again.
    """
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=_PROBE_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return BwrapProbe(bwrap, False, str(exc))
    if done.returncode != 0:
        why = (done.stderr or done.stdout).strip() or f"exit code {done.returncode}"
        return BwrapProbe(bwrap, False, why)
    return BwrapProbe(bwrap, True)


def git_common_dir(worktree: Path) -> Path | None:
    """The repository dir a linked worktree's ``.git`` file leads to (its common dir)."""
    dot_git = worktree / ".git"
    if not dot_git.is_file():
        return None  # a plain checkout keeps .git inside itself: the worktree bind covers it
    try:
        first = dot_git.read_text(encoding="utf-8").splitlines()[0]
    except (OSError, UnicodeDecodeError, IndexError):
        return None
    if not first.startswith("gitdir:"):
        return None
    gitdir = (worktree / first[len("gitdir:"):].strip()).resolve()
    try:
        common = (gitdir / "commondir").read_text(encoding="utf-8").strip()
    except OSError:
        return gitdir
    return (gitdir / common).resolve()


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len(Path(path).parts)


def _pyenv_root(entry: str) -> str:
    """The pyenv root a PATH entry (its shims/, bin/, a plugin's shims/) belongs to, or ""."""
    for candidate in list(Path(entry).parents)[:3]:
        if (candidate / "libexec" / "pyenv").is_file():
            return str(candidate)
    return ""


def _toolchain(argv: Sequence[str], path_env: str, worktree: Path, home: str) -> list[str]:
    """Host paths outside the system dirs that the command needs to start: read-only."""
    found: list[str] = [sys.prefix, sys.base_prefix, str(Path(sys.executable).parent)]
    for entry in path_env.split(os.pathsep):
        if os.path.isabs(entry) and os.path.isdir(entry):
            found.append(entry)
            parent = os.path.dirname(entry.rstrip("/"))
            if os.path.isfile(os.path.join(parent, "pyvenv.cfg")):
                found.append(parent)  # a venv's bin/ is useless without its lib/
            root = _pyenv_root(entry)
            if root:
                found.append(root)  # pyenv's shims exec its libexec/ and versions/
    exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0], path=path_env)
    if exe and not os.path.isabs(argv[0]) and "/" in argv[0]:
        exe = None  # "./gradlew": relative to the worktree, which is mounted anyway
    if exe:
        found.append(os.path.dirname(os.path.realpath(exe)))
    # A file the configured command names by absolute path (a script, a rules file) comes
    # along read-only: that file alone, and never one from the home dir (keys live there).
    for arg in argv[1:]:
        if os.path.isabs(arg) and os.path.isfile(arg) and not _is_within(
            os.path.realpath(arg), os.path.realpath(home)
        ):
            found.append(os.path.realpath(arg))
    out: list[str] = []
    for item in found:
        for p in (item, os.path.realpath(item)):
            if not _is_within(p, str(worktree)) and p not in out:
                out.append(p)
    return out


def bwrap_argv(
    bwrap: str,
    argv: Sequence[str],
    worktree: Path,
    policy: SandboxPolicy,
    *,
    home: str,
    path_env: str,
    read_only: Sequence[str] = (),
    writable: Sequence[str] = (),
) -> list[str]:
    """The bwrap command line that runs ``argv`` boxed in ``worktree`` under ``policy``,
    with ``read_only`` and ``writable`` mounted besides the policy's own."""
    worktree = worktree.resolve()
    wt = str(worktree)
    args = [bwrap, "--unshare-all"]
    if policy.network:
        args.append("--share-net")
    args += ["--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev"]
    # Mounts go in order of depth so a parent never hides a child mounted before it
    # (a venv under the private HOME, a worktree under the private /tmp).
    mounts: list[tuple[str, list[str]]] = []
    for top in _SYSTEM:
        if os.path.islink(top):
            mounts.append((top, ["--symlink", os.readlink(top), top]))
        elif os.path.isdir(top):
            mounts.append((top, ["--ro-bind", top, top]))
    for f in _ETC_SECRET_FILES:
        if os.path.isfile(f):
            mounts.append((f, ["--ro-bind", "/dev/null", f]))
    for d in _ETC_SECRET_DIRS:
        if os.path.isdir(d) and not os.path.islink(d):
            mounts.append((d, ["--tmpfs", d, "--remount-ro", d]))
    resolv = os.path.realpath("/etc/resolv.conf")  # often a link into /run, which is not here
    if policy.network and not _is_within(resolv, "/etc") and os.path.isfile(resolv):
        mounts.append((resolv, ["--ro-bind", resolv, resolv]))
    private = [_SANDBOX_TMP, home]
    mounts += [(p, ["--tmpfs", p]) for p in private]

    def allowed(p: str) -> bool:
        # Never over a private dir or one of its parents: that would bring the real one back;
        # nor inside the system dirs, which are mounted (or linked) already.
        return not any(_is_within(q, p) for q in private) and not any(
            _is_within(p, s) for s in _SYSTEM
        )

    tools = [p for p in _toolchain(argv, path_env, worktree, home) if allowed(p)]
    for p in tools:
        covered = any(
            r != p and _is_within(p, r) and not any(
                _is_within(q, r) and _is_within(p, q) for q in private)
            for r in tools
        )
        if not covered:  # a dir inside one already mounted (and not under a private one)
            mounts.append((p, ["--ro-bind-try", p, p]))
    common = git_common_dir(worktree)
    if common is not None and allowed(str(common)) and not _is_within(wt, str(common)):
        mounts.append((str(common), ["--ro-bind", str(common), str(common)]))
    for p in (*policy.read_only, *read_only):
        p = os.path.expanduser(p)
        if allowed(p):
            mounts.append((p, ["--ro-bind-try", p, p]))
    for p in (*policy.writable, *writable):
        p = os.path.expanduser(p)
        if allowed(p):
            mounts.append((p, ["--bind-try", p, p]))
    mounts.append((wt, ["--bind", wt, wt]))
    for _, flags in sorted(mounts, key=lambda m: _depth(m[0])):  # stable: order kept per depth
        args += flags
    args += ["--chdir", wt, "--", *argv]
    return args


def toolchain_dirs(env: Mapping[str, str], home: str) -> list[str]:
    """The SDK and JDK directories the environment names: mounted read-only.

    Never the home dir itself or one of its parents (that would bring all of it back).
    """
    found: list[str] = []
    for name in _TOOLCHAIN_VARS:
        value = env.get(name, "")
        if not os.path.isabs(value) or not os.path.isdir(value):
            continue
        real = os.path.realpath(value)
        if not _is_within(home, real) and real not in found:
            found.append(real)
    return found


def _sandbox_env(env: Mapping[str, str], home: str) -> dict[str, str]:
    out = {k: v for k, v in env.items() if k not in _DROP_ENV}
    out["HOME"] = home
    out["TMPDIR"] = _SANDBOX_TMP
    return out


def _home(env: Mapping[str, str]) -> str:
    home = env.get("HOME", "")
    if not os.path.isabs(home) or Path(home) == Path("/") or _is_within(_SANDBOX_TMP, home):
        return _FALLBACK_HOME
    return os.path.normpath(home)


def exec_failure(box: Sandboxed, exit_code: int | None, output: str) -> str:
    """Why bwrap could not start the boxed command ("" when it started), worded as
    ``run_command`` words it for an unboxed one."""
    if not box.boxed or exit_code != 1:
        return ""
    name = box.argv[box.argv.index("--") + 1]
    prefix = f"bwrap: execvp {name}: "
    first = output.lstrip().split("\n", 1)[0].strip()
    if first.startswith(prefix) and output.strip() == first:
        return f"could not start {name!r}: {first[len(prefix):]}"
    return ""


def describe(policy: SandboxPolicy) -> str:
    """How a boxed command runs, for its stage's log."""
    net = "network allowed" if policy.network else "no network"
    return f"sandboxed with bwrap ({net}; worktree writable, HOME and /tmp private)"


async def sandbox_command(
    argv: Sequence[str], worktree: Path, policy: SandboxPolicy, env: Mapping[str, str],
    *, what: str = "command", tool_cache: Path | None = None,
) -> Sandboxed:
    """``argv`` wrapped in bwrap as ``policy`` says, with the env it should run with.

    ``env`` is the already scrubbed environment the command would get unboxed. Mode "off"
    and mode "auto" without a working bwrap return ``argv`` unchanged (the latter with a
    note saying so); mode "required" without one returns an ``error`` naming bwrap.
    ``tool_cache``: where Honk keeps the boxed commands' Gradle and Android homes.
    """
    plain = Sandboxed(tuple(argv), dict(env), boxed=False)
    if policy.mode == "off":
        return plain
    path_env = env.get("PATH", os.defpath)
    bwrap = find_bwrap(path_env)
    if bwrap is None:
        why = "bwrap (bubblewrap) is not installed: no 'bwrap' on PATH"
    else:
        probe = await asyncio.to_thread(probe_bwrap, bwrap)
        why = "" if probe.ok else f"bwrap at {bwrap} cannot create namespaces: {probe.detail}"
    if why:
        if policy.mode == "required":
            return Sandboxed(
                tuple(argv), dict(env), False,
                error=f"{what}: not run: [sandbox] mode = 'required' but {why}. Install "
                "bubblewrap (apt-get install bubblewrap) and allow unprivileged user "
                "namespaces, or set [sandbox] mode = 'auto'.",
            )
        return Sandboxed(
            plain.argv, plain.env, False,
            note=f"{what}: running WITHOUT a sandbox: {why} (install bubblewrap)",
        )
    assert bwrap is not None
    home = _home(env)
    caches: list[str] = []
    variables: dict[str, str] = {}
    if tool_cache is not None:
        caches, variables = await asyncio.to_thread(tool_homes, env, home, policy, tool_cache)
    boxed = bwrap_argv(bwrap, argv, worktree, policy, home=home, path_env=path_env,
                       read_only=toolchain_dirs(env, home), writable=caches)
    return Sandboxed(tuple(boxed), {**_sandbox_env(env, home), **variables}, True,
                     note=f"{what}: {describe(policy)}")

