"""The build stage against real processes: a Python 'build tool' that talks like Gradle."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from desktop.core.build_events import ArtifactBuilt, BuildLog
from desktop.core.config import BuildConfig, HonkConfig
from desktop.core.events import Event, StageProgress, event_from_dict, event_to_dict
from desktop.core.pipeline import ChangeContext
from desktop.steps.build import BuildStep, find_artifact, parse_percent

GRADLE_LIKE = textwrap.dedent(
    """
    import os, sys, time
    print("> Configure project :app", flush=True)
    for pct in (0, 42, 87, 100):
        print(f"\\x1b[1A<===========--> {pct}% EXECUTING [{pct // 10}s]", flush=True)
    out = os.path.join("app", "build", "outputs", "apk", "debug")
    os.makedirs(out, exist_ok=True)
    for name in sys.argv[1:]:
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"PK\\x03\\x04 fake apk " + name.encode())
    print("BUILD SUCCESSFUL in 1s", flush=True)
    """
)

FAILING = textwrap.dedent(
    """
    for i in range(3000):
        print(f"> Task :app:step{i} UP-TO-DATE")
    print("e: /src/app/MainActivity.kt: (12, 5): Unresolved reference: playButon")
    print("FAILURE: Build failed with an exception.")
    print("* What went wrong:")
    print("Execution failed for task ':app:compileDebugKotlin'.")
    raise SystemExit(1)
    """
)

# The grandchild writes its file after a delay, unless its process group is killed first.
HANGING = textwrap.dedent(
    """
    import subprocess, sys, time
    late = sys.argv[1]
    code = f"import time; time.sleep(0.8); open({late!r}, 'w').write('too late')"
    subprocess.Popen([sys.executable, "-c", code])
    print("compiling...", flush=True)
    time.sleep(30)
    """
)

APK_GLOB = "app/build/outputs/apk/*/*.apk"


def make_ctx(worktree: Path, events: list[Event]) -> ChangeContext:
    return ChangeContext(
        change_id="c1",
        request="fix the play button",
        worktree=str(worktree),
        branch="honk/c1-fix",
        base_commit="0" * 40,
        config=HonkConfig(),
        emit=events.append,
        model="m",
    )


def tool(tmp_path: Path, source: str) -> Path:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    script = tmp_path / "tool.py"
    script.write_text(source)
    return script


def step(argv: list[str], *, timeout: float = 30, glob: str = APK_GLOB) -> BuildStep:
    return BuildStep(
        BuildConfig(command=(sys.executable, *argv), artifact=glob, timeout=timeout),
        progress_every=0.0,
    )


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


async def test_builds_in_a_linked_worktree_and_records_the_artifact(tmp_path: Path) -> None:
    script = tool(tmp_path, GRADLE_LIKE)
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    git(repo, "commit", "-q", "--allow-empty", "-m", "initial")
    worktree = tmp_path / "change-wt"
    git(repo, "worktree", "add", "-q", "-b", "honk/c1", str(worktree))
    events: list[Event] = []
    ctx = make_ctx(worktree, events)

    result = await step([str(script), "app-debug.apk"]).run(ctx)

    assert result.ok, result.reason
    apk = worktree / "app/build/outputs/apk/debug/app-debug.apk"
    expected = hashlib.sha256(apk.read_bytes()).hexdigest()
    assert ctx.artifact_path == str(apk)
    assert ctx.artifact_sha256 == expected
    built = [e for e in events if isinstance(e, ArtifactBuilt)]
    assert len(built) == 1
    assert (built[0].path, built[0].size, built[0].sha256) == (
        str(apk), apk.stat().st_size, expected)
    assert event_from_dict(event_to_dict(built[0])) == built[0]  # journals like any event
    logs = [e.line for e in events if isinstance(e, BuildLog)]
    assert logs[0] == "> Configure project :app" and logs[-1] == "BUILD SUCCESSFUL in 1s"
    percents = [e.percent for e in events if isinstance(e, StageProgress)]
    assert [p for p in percents if p is not None][-1] == 100.0
    assert 42.0 in percents and 87.0 in percents
    messages = [e.message for e in events if isinstance(e, StageProgress)]
    assert any("log lines" in m and " s, " in m for m in messages)
    assert not (repo / "app").exists()  # the user's own checkout is untouched


async def test_refuses_a_repositorys_own_checkout(tmp_path: Path) -> None:
    script = tool(tmp_path, GRADLE_LIKE)
    repo = tmp_path / "checkout"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    result = await step([str(script), "app.apk"]).run(make_ctx(repo, []))
    assert not result.ok
    assert "own checkout" in result.reason
    assert not (repo / "app").exists()  # nothing ran


async def test_no_artifact_names_the_glob_and_what_was_there(tmp_path: Path) -> None:
    script = tool(tmp_path, GRADLE_LIKE)
    events: list[Event] = []
    ctx = make_ctx(tmp_path / "wt", events)
    result = await step([str(script), "app-debug.aab"]).run(ctx)
    assert not result.ok and result.back_to_agent is None
    assert "no file matches [build] artifact = 'app/build/outputs/apk/*/*.apk'" in result.reason
    assert "app/build/outputs/apk holds app/build/outputs/apk/debug/" in result.reason
    assert ctx.artifact_sha256 is None
    assert not [e for e in events if isinstance(e, ArtifactBuilt)]


async def test_missing_output_directory_is_named(tmp_path: Path) -> None:
    script = tool(tmp_path, "print('nothing built')")
    result = await step([str(script)]).run(make_ctx(tmp_path / "wt", []))
    assert not result.ok
    assert "app does not exist; the worktree root is empty" in result.reason


async def test_two_artifacts_is_a_clear_failure(tmp_path: Path) -> None:
    script = tool(tmp_path, GRADLE_LIKE)
    ctx = make_ctx(tmp_path / "wt", [])
    result = await step([str(script), "app-debug.apk", "app-debug-androidTest.apk"]).run(ctx)
    assert not result.ok
    assert "matched 2 files, expected exactly one" in result.reason
    assert "app/build/outputs/apk/debug/app-debug-androidTest.apk" in result.reason
    assert "app/build/outputs/apk/debug/app-debug.apk" in result.reason
    assert ctx.artifact_path is None


async def test_failing_build_goes_back_to_the_agent_with_the_relevant_lines(
    tmp_path: Path,
) -> None:
    script = tool(tmp_path, FAILING)
    result = await step([str(script)]).run(make_ctx(tmp_path / "wt", []))
    assert not result.ok
    assert result.reason == "build failed (exit code 1)"
    feedback = result.back_to_agent
    assert feedback is not None
    assert "Unresolved reference: playButon" in feedback
    assert "Execution failed for task ':app:compileDebugKotlin'." in feedback
    assert "step10 UP-TO-DATE" not in feedback  # not 3,000 lines of log
    assert len(feedback) < 6000
    assert BuildStep(BuildConfig(command=("x",), artifact="*.apk")).max_returns == 1


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = tool(tmp_path, HANGING)
    late = tmp_path / "late.txt"
    started = time.monotonic()
    result = await step([str(script), str(late)], timeout=0.4).run(make_ctx(tmp_path / "wt", []))
    assert time.monotonic() - started < 5
    assert not result.ok and result.back_to_agent is None
    assert "timed out after 0.4 s" in result.reason
    await asyncio.sleep(1.2)  # past the grandchild's delay
    assert not late.exists()


async def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    script = tool(tmp_path, HANGING)
    late = tmp_path / "late.txt"
    events: list[Event] = []
    task = asyncio.create_task(step([str(script), str(late)]).run(make_ctx(tmp_path / "wt", events)))
    for _ in range(200):
        if any(isinstance(e, BuildLog) and e.line == "compiling..." for e in events):
            break
        await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(1.2)
    assert not late.exists()


async def test_a_command_that_cannot_start_is_a_clear_failure(tmp_path: Path) -> None:
    (tmp_path / "wt").mkdir()
    config = BuildConfig(command=("no-such-build-tool-xyz",), artifact="*.apk")
    result = await BuildStep(config).run(make_ctx(tmp_path / "wt", []))
    assert not result.ok and result.back_to_agent is None
    assert "could not start 'no-such-build-tool-xyz'" in result.reason


async def test_a_missing_worktree_is_named(tmp_path: Path) -> None:
    result = await step(["-c", "pass"]).run(make_ctx(tmp_path / "gone", []))
    assert not result.ok and "gone does not exist" in result.reason


@pytest.mark.parametrize(
    ("line", "percent"),
    [
        ("<=============> 100% EXECUTING [2m 3s]", 100.0),
        ("\x1b[0K<===----------> 23% CONFIGURING [1s]", 23.0),
        ("Downloading https://services.gradle.org 42%", 42.0),
        ("[ 12.5%] Building CXX object", 12.5),
        ("> Task :app:compileDebugKotlin", None),
        ("version 1.2.50% off", None),
        ("999% nonsense", None),
    ],
)
def test_parse_percent(line: str, percent: float | None) -> None:
    assert parse_percent(line) == percent


def test_find_artifact_with_recursive_glob(tmp_path: Path) -> None:
    apk = tmp_path / "app/build/outputs/apk/release/app-release.apk"
    apk.parent.mkdir(parents=True)
    apk.write_bytes(b"x")
    (tmp_path / "app/build/outputs/apk/release/output-metadata.json").write_text("{}")
    assert find_artifact(tmp_path, "app/build/**/*.apk") == apk
