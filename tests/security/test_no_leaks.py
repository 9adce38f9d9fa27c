"""Secrets never leak: one full change (run, judge, build, approve, merge) with canary values
for the API key and forge token, a verifier and a build that print them, then every byte Honk
wrote or sent is searched for them: journal, audit log, worktree and all of HONK_HOME, git
history, the CLI's output and what the (scripted) Messages API received."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import edit_turn, text_turn, tool_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import Verifier, configure, honk_toml
from tests.helpers.sessions import swedish_session
from tests.security.honkrun import Outcome, honk

API_KEY = "sk-ant-api03-LEAKCANARY-a1b2c3d4e5f6-Zq9Xw8Vu7"
FORGE_TOKEN = "ghp_LEAKCANARYf00dfeedcafe0123456789abc"
CANARIES = (API_KEY, FORGE_TOKEN)
APPROVE = {"verdict": "approve", "summary": "Only the greeting changed.", "reasons": [],
           "flags": []}


def config(key_file: Path) -> str:
    # A verifier and a build that dig the secrets up (as a hostile test could, from the
    # keyring) and print them plainly, mid-line, wrapped and base64-encoded.
    leak = (
        f"import os, sys, base64, textwrap; k = open({str(key_file)!r}).read(); "
        "print('FOO_SETTING =', os.environ.get('FOO_SETTING')); "
        "print('env:', ' '.join(f'{n}={v}' for n, v in os.environ.items())); "
        "print('x' * 300 + k.replace(chr(10), ' ') + 'y' * 300); "
        "print(textwrap.fill(k, 7)); print(base64.b64encode(k.encode()).decode()); "
    )
    verify = leak + "sys.exit('Hej' not in open('app/greeting.py').read())"
    build = leak + "os.makedirs('build', exist_ok=True); open('build/app.apk', 'w').write('apk')"
    return f"""
[agent]
max_turns = 10

[judge]
enabled = true

[[verify]]
name = "greeting"
command = ["python3", "-c", {json.dumps(verify)}]

[build]
command = ["python3", "-c", {json.dumps(build)}]
artifact = "build/*.apk"

[merge]
target = "main"
remote = "origin"
require = ["verified", "judged", "built"]

[sandbox]
# The keys stand where the keyring would be: opened to the sandbox on purpose, so that
# redaction, not the sandbox, is what this test proves.
read_only = [{json.dumps(str(key_file.parent))}]
"""


def spellings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw).rstrip(b"="), raw.hex().encode(),
            secret.replace("-", "\\u002d").encode()]


def find_canaries(data: bytes, where: str) -> list[str]:
    return [f"{where}: {form!r}" for secret in CANARIES for form in spellings(secret)
            if form in data]


def test_a_full_change_leaves_no_secret_anywhere(
        repo: RepoWithRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "elsewhere" / "keys.txt"
    key_file.parent.mkdir()
    key_file.write_text(f"{API_KEY}\n{FORGE_TOKEN}\n")
    repo.git("config", "user.name", "Ada Approver")
    repo.git("config", "user.email", "ada@example.invalid")
    repo.write("honk.toml", config(key_file))
    repo.commit_all("honk.toml")
    repo.git("push", "-q", "origin", "main")
    script = [
        edit_turn("app/greeting.py", '"Hello"', '"Hallo"'),
        text_turn("Done."),
        edit_turn("app/greeting.py", '"Hallo"', '"Hej"'),
        text_turn("Fixed."),
        tool_turn("submit_verdict", APPROVE),
    ]
    outputs: list[Outcome] = []
    with ScriptedMessagesAPI(script, expected_api_key=API_KEY) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("GITHUB_TOKEN", FORGE_TOKEN)
        monkeypatch.setenv("FOO_SETTING", API_KEY)  # the key again, under an innocent name
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        monkeypatch.setenv("HONK_RETRY_BACKOFF_S", "0.01")
        run = honk(capsys, "run", "Make the greeting Swedish", "--repo", str(repo.path), "--json")
        outputs.append(run)
        assert run.code == 0, run.err
        result = run.events[-1]
        assert result["state"] == "awaiting_approval", run.out[-2000:]
        change = str(result["change"])
        for args in (["approve", change, "--json"], ["show", change, "--json"],
                     ["history", "--json"], ["audit", "export", "--json"], ["audit", "verify"]):
            outputs.append(honk(capsys, *args))
            assert outputs[-1].code == 0, (args, outputs[-1].err)
        requests = api.requests
    assert outputs[1].events[-1]["state"] == "merged"
    types = {e["type"] for e in run.events}
    assert {"verifier_result", "judge_verdict", "build_log", "artifact_built"} <= types, types
    # The verifier really printed what it found: redacted, not absent.
    failed = next(e for e in run.events if e["type"] == "verifier_result" and not e["passed"])
    assert "[redacted]" in failed["output"] and "FOO_SETTING = None" in failed["output"]
    assert any("[redacted]" in str(e.get("line")) for e in run.events
               if e["type"] == "build_log")

    leaks: list[str] = []
    for n, outcome in enumerate(outputs):
        leaks += find_canaries(outcome.out.encode(), f"stdout of command {n}")
        leaks += find_canaries(outcome.err.encode(), f"stderr of command {n}")
    home = tmp_path / "honk-home"
    files = [p for p in home.rglob("*") if p.is_file() and not p.is_symlink()]
    assert {"journal.sqlite3", "audit.sqlite3"} <= {p.name for p in files}
    assert any("worktrees" in p.parts for p in files)
    for path in files:  # the journal and audit DBs (and -wal), worktrees, any logs
        leaks += find_canaries(path.read_bytes(), str(path))
    for name in ("journal.sqlite3", "audit.sqlite3"):  # and their rows, decoded
        dump = subprocess.run(["python3", "-c", "import sqlite3, sys; c = sqlite3.connect("
                               "sys.argv[1]); print('\\n'.join(c.iterdump()))", str(home / name)],
                              capture_output=True, check=True).stdout
        leaks += find_canaries(dump, f"rows of {name}")
    for git_dir in (repo.path, repo.remote):  # compressed objects: read them through git
        history = subprocess.run(["git", "log", "-p", "--all", "--format=%H%n%B"], cwd=git_dir,
                                 capture_output=True, check=True).stdout
        leaks += find_canaries(history, f"git history of {git_dir}")
    assert len(requests) >= 5
    for request in requests:  # the agent's and the judge's prompts, and every tool result
        leaks += find_canaries(json.dumps(request.body).encode(), f"request to {request.path}")
        leaks += find_canaries(json.dumps(request.headers).encode(), "request headers")
    assert not leaks, "\n".join(leaks)


def test_screenshots_text_is_not_searched_without_ocr() -> None:
    """The GUI's screenshots would need OCR to read the key off their pixels; this machine
    has none, so this check is skipped (and says so) rather than passing vacuously."""
    folder = Path(__file__).resolve().parents[2] / "screenshots"
    if not folder.is_dir():
        pytest.skip("no screenshots/ folder")
    pytest.skip(f"{folder} exists but no OCR engine is installed: its text is not searched")


TRUE = Verifier("ok", ["true"])
HOOKS = ("pre-commit", "post-commit", "post-checkout", "pre-merge-commit", "commit-msg",
         "post-merge", "pre-rebase", "post-rewrite")


def install_dumping_hooks(repo: RepoWithRemote, dump: Path) -> None:
    """Husky-style hooks (core.hooksPath in the tree, code the agent can steer) that each
    write their environment to ``dump.<hook name>``."""
    for name in HOOKS:
        repo.write(f"hooks/{name}", f"#!/bin/sh\nenv > '{dump}.{name}'\n").chmod(0o755)
    repo.git("config", "core.hooksPath", "hooks")


@contextmanager
def greeting_agent_with_secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The scripted agent's greeting edit, with the canaries in the environment."""
    with ScriptedMessagesAPI(swedish_session(), expected_api_key=API_KEY) as api:
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        monkeypatch.setenv("GITHUB_TOKEN", FORGE_TOKEN)
        monkeypatch.setenv("FOO_SETTING", API_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
        yield


def assert_hooks_saw_no_secret(dump: Path, *hooks: str) -> None:
    for name in hooks:
        seen = Path(f"{dump}.{name}").read_bytes()  # the hook ran
        assert not find_canaries(seen, f"{name} hook environment")


def test_commit_hooks_run_without_the_secrets(
        repo: RepoWithRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The commit step runs the repo's hooks. They get no key or token, under any name; git's
    # identity stays.
    dump = tmp_path / "hook-env"
    install_dumping_hooks(repo, dump)
    configure(repo, honk_toml(TRUE))
    with greeting_agent_with_secrets(monkeypatch):
        run = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
    assert run.code == 0, run.err
    assert run.events[-1]["state"] == "awaiting_approval"
    assert_hooks_saw_no_secret(dump, "pre-commit", "post-commit")
    assert b"GIT_AUTHOR_NAME=Test Engineer" in Path(f"{dump}.pre-commit").read_bytes()


@pytest.mark.parametrize(("method", "hooks"), [
    ("merge", ("post-checkout", "pre-merge-commit", "post-merge")),
    ("rebase", ("post-checkout", "pre-rebase", "post-rewrite")),
])
def test_merge_hooks_in_the_scratch_worktree_run_without_the_secrets(
        repo: RepoWithRemote, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], method: str, hooks: tuple[str, ...]) -> None:
    # The target moved after the change was cut, so approval merges (or rebases) in a
    # scratch worktree of the tree being merged: its hooks are the agent's to steer too.
    dump = tmp_path / "hook-env"
    install_dumping_hooks(repo, dump)
    configure(repo, honk_toml(TRUE, require=["verified"], merge=f'method = "{method}"'),
              push=True)
    with greeting_agent_with_secrets(monkeypatch):
        run = honk(capsys, "run", "Swedish", "--repo", str(repo.path), "--json")
        assert run.code == 0, run.err
        repo.write("NOTES.md", "someone else's change\n")
        repo.commit_all("meanwhile on main")
        repo.git("push", "-q", "origin", "main")
        for name in HOOKS:
            Path(f"{dump}.{name}").unlink(missing_ok=True)
        approve = honk(capsys, "approve", str(run.events[-1]["change"]), "--json")
    assert approve.code == 0, approve.out + approve.err
    [merged] = [e for e in approve.events if e["type"] == "merged"]
    assert merged["method"] == method
    assert_hooks_saw_no_secret(dump, *hooks)
