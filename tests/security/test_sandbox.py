"""Verifiers and builds run boxed by the real bwrap: code the agent wrote cannot read the
engineer's home, write outside its worktree, plant hooks in the repository, or reach the
network; an honest verifier (files in its worktree, `git status`) still passes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from desktop.adapters.process.sandbox import git_common_dir, sandbox_command
from desktop.core.config import BuildConfig, HonkConfig, SandboxPolicy, VerifierConfig
from desktop.core.events import Event, Notice, event_to_dict
from desktop.core.pipeline import ChangeContext
from desktop.steps.build import BuildStep
from desktop.steps.verify import VerifierRunner, VerifyReport, VerifyStep
from tests.helpers.gitrepo import (
    SECRET,
    BoxedWorktree,
    assert_same_tree,
    make_boxed_worktree,
    tree_snapshot,
)

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None, reason="bubblewrap (bwrap) is not installed; .ci/run installs it"
)
SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY----- PLANTED-3c1f9e-ssh-canary"


@dataclass
class Listener:
    """A loopback TCP server that counts who connected."""

    port: int = 0
    accepted: list[str] = field(default_factory=list)


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.05)
    found = Listener(port=server.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            found.accepted.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(5)
    server.close()


@pytest.fixture
def box(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> BoxedWorktree:
    """A real linked worktree, with a HOME beside it holding a planted SSH key."""
    boxed = make_boxed_worktree(tmp_path / "site")
    home = tmp_path / "site" / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(SSH_KEY + "\n")
    monkeypatch.setenv("HOME", str(home))
    return boxed


def verify(worktree: Path, command: list[str], policy: SandboxPolicy | None = None,
           timeout: float = 20) -> tuple[VerifyReport, list[Event]]:
    config = VerifierConfig("check", tuple(command), timeout)
    if policy is not None:
        config = VerifierConfig("check", tuple(command), timeout, sandbox=policy)
    runner = VerifierRunner([config], secrets=lambda: [])
    events: list[Event] = []
    return asyncio.run(runner.run("c1", worktree, events.append)), events


def make_ctx(worktree: Path, events: list[Event]) -> ChangeContext:
    return ChangeContext(change_id="c1", request="r", worktree=str(worktree), branch="b",
                         base_commit="0" * 40, config=HonkConfig(), emit=events.append, model="m")


HOSTILE = """
import os, socket, sys
home_key, planted, outside, victim, hooks, main_readme, port = sys.argv[1:]
def attempt(name, fn):
    try:
        got = fn()
        print(f"ESCAPED {name}: {got!r}")
    except OSError as exc:
        print(f"BLOCKED {name}: {type(exc).__name__}")
attempt("read-home-key", lambda: open(os.path.expanduser(home_key)).read())
attempt("read-planted-key", lambda: open(planted).read())
attempt("write-outside", lambda: open(outside, "w").write("pwned"))
attempt("write-venv", lambda: open(os.path.join(sys.prefix, "pwned"), "w").write("pwned"))
attempt("overwrite-victim", lambda: open(victim, "a").write("pwned"))
attempt("plant-hook", lambda: open(hooks, "w").write("#!/bin/sh\\ntouch /tmp/pwned\\n"))
attempt("edit-main-checkout", lambda: open(main_readme, "a").write("pwned"))
attempt("list-home", lambda: os.listdir(os.path.expanduser("~")))
attempt("tcp-loopback", lambda: socket.create_connection(("127.0.0.1", int(port)), 2).close())
sys.exit(1)  # always "fail", so the report carries what happened
"""


@needs_bwrap
def test_a_hostile_verifier_reads_no_secret_writes_nothing_outside_and_has_no_network(
        box: BoxedWorktree, tmp_path: Path, listener: Listener) -> None:
    (box.root / "hostile.py").write_text(HOSTILE)
    common = git_common_dir(box.root)
    assert common == (box.repo.path / ".git").resolve()
    planted = Path(os.environ["HOME"]) / ".ssh" / "id_rsa"
    outside = box.base / "outside" / "new.txt"
    hook = common / "hooks" / "post-commit"
    before = tree_snapshot(box.base, box.root)

    report, events = verify(box.root, [
        sys.executable, "hostile.py", "~/.ssh/id_rsa", str(planted), str(outside),
        str(box.outside / "victim.txt"), str(hook), str(box.repo.path / "README.md"),
        str(listener.port)])

    (result,) = report.results
    text = result.output
    for name in ("read-home-key", "read-planted-key", "write-venv", "overwrite-victim",
                 "plant-hook", "edit-main-checkout", "tcp-loopback"):
        assert f"BLOCKED {name}" in text, text
    # A write to a path that is not mounted lands in the box's private /tmp, and vanishes.
    assert "ESCAPED list-home: []" in text  # HOME is there, private and empty
    journal = json.dumps([event_to_dict(e) for e in events])
    assert "PLANTED" not in journal and SECRET not in journal
    assert listener.accepted == []
    assert not outside.exists() and not hook.exists()
    assert not (Path(sys.prefix) / "pwned").exists()
    time.sleep(0.05)
    assert_same_tree(before, tree_snapshot(box.base, box.root))


@needs_bwrap
def test_an_honest_verifier_reads_and_writes_its_worktree_and_runs_git(
        box: BoxedWorktree) -> None:
    script = (
        "import pathlib, subprocess, tempfile\n"
        "text = pathlib.Path('app/greeting.py').read_text()\n"
        "pathlib.Path('build').mkdir(exist_ok=True)\n"
        "pathlib.Path('build/report.txt').write_text(text.upper())\n"
        "with tempfile.NamedTemporaryFile() as f: f.write(b'scratch')\n"
        "st = subprocess.run(['git', 'status', '--porcelain'], check=True, text=True,\n"
        "                    capture_output=True).stdout\n"
        "log = subprocess.run(['git', 'log', '-1', '--format=%s'], check=True, text=True,\n"
        "                     capture_output=True).stdout\n"
        "assert 'build/' in st and log.strip() == 'initial', (st, log)\n"
    )
    report, events = verify(box.root, [sys.executable, "-c", script])
    assert report.passed, report.failures_text()
    assert (box.root / "build" / "report.txt").read_text() == 'G = "HELLO"\n'
    assert not [e for e in events if isinstance(e, Notice)]  # boxed: nothing to warn about


@needs_bwrap
async def test_the_build_gets_the_network_by_default_and_verifiers_do_not(
        tmp_path: Path, listener: Listener) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    fetch = (
        "import socket, sys, os\n"
        f"socket.create_connection(('127.0.0.1', {listener.port}), 2).close()\n"
        "os.makedirs('out', exist_ok=True); open('out/app.apk', 'w').write('apk')\n"
    )
    events: list[Event] = []
    step = BuildStep(BuildConfig(command=(sys.executable, "-c", fetch), artifact="out/*.apk"))
    result = await step.run(make_ctx(worktree, events))
    assert result.ok, result.reason
    assert len(listener.accepted) == 1  # Gradle must be able to fetch its dependencies

    runner = VerifierRunner([VerifierConfig("net", (sys.executable, "-c", fetch))],
                            secrets=lambda: [])
    report = await runner.run("c1", worktree, events.append)
    assert not report.passed and "ConnectionRefusedError" in report.failures_text()
    assert len(listener.accepted) == 1


@needs_bwrap
def test_a_timed_out_verifier_takes_what_it_started_inside_the_box_along(
        tmp_path: Path) -> None:
    beat = tmp_path / "beat"
    beat.mkdir()
    started = time.monotonic()
    report, _ = verify(beat, ["sh", "-c", "(while :; do date +%s%N > beat; sleep 0.05; done) & "
                                          "sleep 60"], timeout=2)  # room for a slow box start
    assert time.monotonic() - started < 10
    assert report.results[0].exit_code is None
    time.sleep(0.3)
    last = (beat / "beat").read_text()
    time.sleep(0.4)
    assert (beat / "beat").read_text() == last, "the background loop outlived the timeout"


@needs_bwrap
def test_tools_in_a_dir_under_home_run_though_home_itself_is_private(
        box: BoxedWorktree, monkeypatch: pytest.MonkeyPatch) -> None:
    tools = Path(os.environ["HOME"]) / "tools" / "bin"
    tools.mkdir(parents=True)
    (tools / "mycheck").write_text("#!/bin/sh\nls -A \"$HOME\"; echo checked; exit 3\n")
    (tools / "mycheck").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    report, _ = verify(box.root, ["mycheck"])
    (result,) = report.results
    assert result.exit_code == 3 and "checked" in result.output
    assert ".ssh" not in result.output  # only the tool's own dir came along, not the key


@needs_bwrap
def test_a_missing_command_is_reported_as_not_started(box: BoxedWorktree) -> None:
    report, _ = verify(box.root, ["no-such-verifier-xyz"])
    assert "could not start 'no-such-verifier-xyz'" in report.failures_text()


def no_bwrap_path(tmp_path: Path) -> str:
    """A PATH with the usual tools but no bwrap."""
    bin_dir = tmp_path / "bin-without-bwrap"
    bin_dir.mkdir()
    for tool in ("sh", "touch"):
        found = shutil.which(tool)
        assert found is not None
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


async def test_required_mode_without_bwrap_fails_the_stage_naming_bwrap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    monkeypatch.setenv("PATH", no_bwrap_path(tmp_path))
    required = SandboxPolicy(mode="required")
    events: list[Event] = []
    runner = VerifierRunner(
        [VerifierConfig("unit", ("touch", "ran"), sandbox=required)], secrets=lambda: [])
    result = await VerifyStep(runner, max_returns=3).run(make_ctx(worktree, events))
    assert not result.ok and result.back_to_agent is None  # not the agent's to fix
    assert "bwrap" in result.reason and "required" in result.reason
    assert "no 'bwrap' on PATH" in result.reason
    build = BuildStep(BuildConfig(("touch", "ran"), "*.apk", sandbox=required))
    result = await build.run(make_ctx(worktree, events))
    assert not result.ok and "bwrap" in result.reason and "[sandbox] mode" in result.reason
    assert not (worktree / "ran").exists()


async def test_auto_mode_without_bwrap_runs_as_before_and_says_so_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir()
    monkeypatch.setenv("PATH", no_bwrap_path(tmp_path))
    runner = VerifierRunner([VerifierConfig("a", ("touch", "a")), VerifierConfig("b", ("sh", "-c",
                            "touch b"))], secrets=lambda: [])
    events: list[Event] = []
    report = await runner.run("c1", worktree, events.append)
    assert report.passed and (worktree / "a").exists() and (worktree / "b").exists()
    notices = [e for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and notices[0].level == "warning"
    assert "WITHOUT a sandbox" in notices[0].message and "bwrap" in notices[0].message


async def test_a_bwrap_that_cannot_make_namespaces_is_refused_with_its_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = Path(no_bwrap_path(tmp_path))
    fake = bin_dir / "bwrap"  # what bwrap says where user namespaces are disabled
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    env = {"PATH": str(bin_dir)}
    boxed = await sandbox_command(["true"], tmp_path, SandboxPolicy(mode="required"), env,
                                  what="verifiers")
    assert boxed.error.startswith("verifiers: not run: [sandbox] mode = 'required'")
    assert f"bwrap at {fake} cannot create namespaces" in boxed.error
    assert "No permissions to creating new namespace" in boxed.error
    auto = await sandbox_command(["true"], tmp_path, SandboxPolicy(), env)
    assert not auto.boxed and not auto.error and auto.argv == ("true",)
    assert "WITHOUT a sandbox" in auto.note


async def test_mode_off_runs_the_command_as_before(tmp_path: Path) -> None:
    boxed = await sandbox_command(["true"], tmp_path, SandboxPolicy(mode="off"),
                                  {"PATH": os.environ["PATH"], "HOME": "/x"})
    assert boxed.argv == ("true",) and not boxed.boxed and not boxed.note
    assert boxed.env == {"PATH": os.environ["PATH"], "HOME": "/x"}
