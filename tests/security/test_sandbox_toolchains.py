"""Mobile toolchains in the box without configuration: the SDK and JDK the environment names
are there read-only; Gradle's and Android's per-user homes are Honk's own persistent copies
(downloads kept between runs, the engineer's debug key copied in), while the engineer's own
~/.gradle (signing passwords) and ~/.android (the adb key) stay unseen and unwritten."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from desktop.adapters.process.sandbox import tool_homes
from desktop.core.config import SandboxConfig, SandboxPolicy, VerifierConfig
from desktop.core.events import Event, VerifierResult
from desktop.steps.verify import VerifierRunner
from tests.helpers.gitrepo import make_boxed_worktree

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap (bwrap) is not installed; .ci/run installs it")

SIGNING = "storePassword=LEAK-signing-canary-7f3a"
ADB_KEY = "-----BEGIN PRIVATE KEY----- LEAK-adbkey-canary-91c2"

# What a Gradle build touches, as a script: it prints what it found as JSON.
PROBE = """
import json, os, sys
out = {}
def read(path):
    try:
        return open(path).read()
    except OSError as exc:
        return type(exc).__name__
def write(path):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "w").write("x")
        return "written"
    except OSError as exc:
        return type(exc).__name__
home = os.path.expanduser("~")
out["sdk"] = read(os.path.join(os.environ["ANDROID_HOME"], "platforms", "android-35", "android.jar"))
out["jdk"] = read(os.path.join(os.environ["JAVA_HOME"], "release"))
out["sdk_write"] = write(os.path.join(os.environ["ANDROID_HOME"], "pwned"))
gradle = os.environ["GRADLE_USER_HOME"]
out["gradle_home"] = gradle
out["cached_before"] = read(os.path.join(gradle, "caches", "dep.jar"))
out["cache_write"] = write(os.path.join(gradle, "caches", "dep.jar"))
out["user_signing"] = read(os.path.join(home, ".gradle", "gradle.properties"))
out["user_init_write"] = write(os.path.join(home, ".gradle", "init.d", "evil.gradle"))
android = os.environ["ANDROID_USER_HOME"]
out["debug_key"] = read(os.path.join(android, "debug.keystore"))
out["adb_key"] = read(os.path.join(home, ".android", "adbkey"))
print("PROBE " + json.dumps(out))
sys.exit(1)
"""


def _engineer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An engineer's HOME with an SDK and a JDK in it, and secrets beside them."""
    home = tmp_path / "site" / "home"
    sdk = home / "Android" / "Sdk"
    (sdk / "platforms" / "android-35").mkdir(parents=True)
    (sdk / "platforms" / "android-35" / "android.jar").write_text("the platform")
    jdk = home / ".jdks" / "jbr-21"
    jdk.mkdir(parents=True)
    (jdk / "release").write_text('JAVA_VERSION="21"')
    (home / ".gradle").mkdir()
    (home / ".gradle" / "gradle.properties").write_text(SIGNING + "\n")
    (home / ".android").mkdir()
    (home / ".android" / "adbkey").write_text(ADB_KEY + "\n")
    (home / ".android" / "debug.keystore").write_bytes(b"the engineer's debug key")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("ANDROID_HOME", str(sdk))
    monkeypatch.setenv("JAVA_HOME", str(jdk))
    monkeypatch.delenv("GRADLE_USER_HOME", raising=False)
    monkeypatch.delenv("ANDROID_USER_HOME", raising=False)
    return home


def _probe(worktree: Path, cache: Path, policy: SandboxPolicy | None = None) -> dict[str, str]:
    (worktree / "probe.py").write_text(PROBE)
    config = VerifierConfig("probe", (sys.executable, "probe.py"), 30,
                            sandbox=policy or SandboxConfig().for_verifiers())
    events: list[Event] = []
    runner = VerifierRunner([config], secrets=lambda: [], tool_cache=cache)
    asyncio.run(runner.run("c1", worktree, events.append))
    [result] = [e for e in events if isinstance(e, VerifierResult)]
    line = next(x for x in result.output.splitlines() if x.startswith("PROBE "))
    found: dict[str, str] = json.loads(line[len("PROBE "):])
    return found


def test_the_sdk_and_jdk_are_there_read_only_and_the_engineers_secrets_are_not(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _engineer(tmp_path, monkeypatch)
    box = make_boxed_worktree(tmp_path / "site")
    cache = tmp_path / "site" / "honk-home" / "tool-cache"
    seen = _probe(box.root, cache)
    assert seen["sdk"] == "the platform" and seen["jdk"] == 'JAVA_VERSION="21"'
    assert seen["sdk_write"] in ("OSError", "PermissionError")  # read-only bind: EROFS
    assert seen["gradle_home"] == str(cache / "gradle")
    assert seen["user_signing"] == "FileNotFoundError"
    assert seen["adb_key"] == "FileNotFoundError"
    assert seen["debug_key"] == "the engineer's debug key"  # builds are signed as theirs
    assert seen["user_init_write"] == "written"  # into the private HOME, gone afterwards
    assert not (home / ".gradle" / "init.d").exists()
    assert sorted(p.name for p in (home / ".android").iterdir()) == ["adbkey", "debug.keystore"]
    assert not (home / "Android" / "Sdk" / "pwned").exists()


def test_gradles_downloads_stay_in_honks_cache_between_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _engineer(tmp_path, monkeypatch)
    box = make_boxed_worktree(tmp_path / "site")
    cache = tmp_path / "site" / "honk-home" / "tool-cache"
    first = _probe(box.root, cache)
    assert (first["cached_before"], first["cache_write"]) == ("FileNotFoundError", "written")
    second = _probe(box.root, cache)
    assert second["cached_before"] == "x"  # the first run's download is still there
    assert (cache / "gradle" / "caches" / "dep.jar").read_text() == "x"
    assert oct((cache / "gradle").stat().st_mode & 0o777) == "0o700"


def test_a_gradle_home_opened_on_purpose_is_used_as_it_is(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _engineer(tmp_path, monkeypatch)
    policy = SandboxPolicy(writable=("~/.gradle",))
    mounts, variables = tool_homes(os.environ, str(home), policy, tmp_path / "cache")
    assert "GRADLE_USER_HOME" not in variables  # the engineer's own ~/.gradle, as configured
    assert variables["ANDROID_USER_HOME"] == str(tmp_path / "cache" / "android")
    assert mounts == [str(tmp_path / "cache" / "android")]
    box = make_boxed_worktree(tmp_path / "site")
    (box.root / "probe.py").write_text(
        "import os, sys; print('PROBE', open(os.path.expanduser('~/.gradle/gradle.properties'))"
        ".read()); sys.exit(1)  # failing, so the report keeps the output")
    config = VerifierConfig("probe", (sys.executable, "probe.py"), 30, sandbox=policy)
    events: list[Event] = []
    asyncio.run(VerifierRunner([config], secrets=lambda: [], tool_cache=tmp_path / "cache")
                .run("c1", box.root, events.append))
    [result] = [e for e in events if isinstance(e, VerifierResult)]
    assert SIGNING in result.output


def test_no_debug_key_yet_keeps_the_one_the_first_build_makes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _engineer(tmp_path, monkeypatch)
    (home / ".android" / "debug.keystore").unlink()
    cache = tmp_path / "cache"
    tool_homes(os.environ, str(home), SandboxPolicy(), cache)
    assert not (cache / "android" / "debug.keystore").exists()
    (cache / "android" / "debug.keystore").write_bytes(b"made by the first build")
    tool_homes(os.environ, str(home), SandboxPolicy(), cache)
    assert (cache / "android" / "debug.keystore").read_bytes() == b"made by the first build"


# -- the SDK from the engineer's local.properties ----------------------------------------------


def test_the_sdk_in_the_checkouts_local_properties_reaches_a_fresh_worktree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Android Studio writes sdk.dir into a git-ignored local.properties: a change's worktree
    has none, so its commands get ANDROID_HOME from the checkout's (and the box mounts it)."""
    home = _engineer(tmp_path, monkeypatch)
    monkeypatch.delenv("ANDROID_HOME")
    monkeypatch.delenv("ANDROID_SDK_ROOT", raising=False)
    box = make_boxed_worktree(tmp_path / "site")
    sdk = home / "Android" / "Sdk"
    (box.repo.path / "local.properties").write_text(
        "## This file is automatically generated by Android Studio.\n"
        f"#sdk.dir=/nowhere\nsdk.dir={str(sdk).replace(':', chr(92) + ':')}\n")
    seen = _probe(box.root, tmp_path / "cache")
    assert seen["sdk"] == "the platform"
    assert not (box.root / "local.properties").exists()  # nothing written into the worktree


def test_read_sdk_dir_unescapes_and_skips_comments(tmp_path: Path) -> None:
    from desktop.adapters.android.sdk import read_sdk_dir

    props = tmp_path / "local.properties"
    props.write_text("# sdk.dir=/commented\n! also a comment\nsdk.dir = C\\:\\\\Android\\\\Sdk\n")
    assert read_sdk_dir(props) == "C:\\Android\\Sdk"
    props.write_text("ndk.dir=/ndk\n")
    assert read_sdk_dir(props) is None
    assert read_sdk_dir(tmp_path / "missing.properties") is None


def test_an_sdk_the_environment_names_wins_over_local_properties(tmp_path: Path) -> None:
    from desktop.adapters.android.sdk import with_android_sdk

    box = make_boxed_worktree(tmp_path / "site")
    other = tmp_path / "other-sdk"
    other.mkdir()
    (box.repo.path / "local.properties").write_text(f"sdk.dir={other}\n")
    assert with_android_sdk({"ANDROID_SDK_ROOT": "/opt/sdk"}, box.root) == {
        "ANDROID_SDK_ROOT": "/opt/sdk"}
    assert with_android_sdk({}, box.root) == {"ANDROID_HOME": str(other)}
    (box.repo.path / "local.properties").write_text("sdk.dir=/no/such/sdk\n")
    assert with_android_sdk({}, box.root) == {}  # a stale path is not passed on


def test_a_link_planted_in_honks_android_home_is_replaced_not_written_through(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Boxed builds may write Honk's Android home; the key copy runs outside the box. A link
    planted where the key goes must not make that copy write or chmod the file it names."""
    home = _engineer(tmp_path, monkeypatch)
    cache = tmp_path / "cache"
    victim = home / ".bashrc"
    victim.write_text("export PATH=$HOME/bin:$PATH\n")
    victim.chmod(0o644)
    (cache / "android").mkdir(parents=True)
    (cache / "android" / "debug.keystore").symlink_to(victim)
    tool_homes(os.environ, str(home), SandboxPolicy(), cache)
    assert victim.read_text() == "export PATH=$HOME/bin:$PATH\n"
    assert oct(victim.stat().st_mode & 0o777) == "0o644"
    key = cache / "android" / "debug.keystore"
    assert not key.is_symlink() and key.read_bytes() == b"the engineer's debug key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in (cache / "android").iterdir()) == ["debug.keystore"]
