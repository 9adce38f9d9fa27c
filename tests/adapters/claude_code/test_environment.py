"""What the Claude Code CLI gets of this computer: a verifier's scrubbed environment plus the
few things it needs, and (through the launcher) nothing else, in a process group of its own.

The launcher is tested against a real process standing in for the CLI: a Python script that
reports its environment, pid and process group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.adapters.claude_code.environment import (
    CliPlaces,
    cli_environment,
    keep_list,
    write_wrapper,
)
from desktop.adapters.claude_code.launch import KEEP, PID_FILE, REAL_CLI

KEY = "sk-ant-api-key-for-the-cli-0123456789"

PERSON = {
    "PATH": "/usr/bin:/bin",
    "LANG": "sv_SE.UTF-8",
    "LC_ALL": "C.UTF-8",
    "HOME": "/home/ana",
    "HTTPS_PROXY": "http://proxy.example:3128",
    "GITHUB_TOKEN": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "INNOCENT": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
    "HONK_HOME": "/home/ana/.local/share/honk",
    "ANTHROPIC_BASE_URL": "https://evil.example",
    "CLAUDE_CODE_USE_BEDROCK": "1",
    "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus",
    "SSH_AUTH_SOCK": "/run/user/1000/ssh",
}


def test_the_cli_keeps_the_basics_and_what_it_needs_and_nothing_else(tmp_path: Path) -> None:
    places = CliPlaces(tmp_path / "claude-code")
    env = cli_environment(PERSON, api_key=KEY, base_url="http://127.0.0.1:9", places=places,
                          secrets=["wJalrXUtnFEMI/K7MDENG"], max_retries=2,
                          max_output_tokens=1234)
    assert env == {
        "PATH": "/usr/bin:/bin",
        "LANG": "sv_SE.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HTTPS_PROXY": "http://proxy.example:3128",
        "HOME": str(places.home),
        "CLAUDE_CONFIG_DIR": str(places.config),
        "ANTHROPIC_API_KEY": KEY,
        "ANTHROPIC_BASE_URL": "http://127.0.0.1:9",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": "2",
        "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "1234",
    }
    assert places.config.is_relative_to(places.root) and places.home.is_relative_to(places.root)


def test_a_basic_variable_holding_a_secret_is_dropped(tmp_path: Path) -> None:
    env = cli_environment({"PATH": f"/opt/{KEY}/bin", "LANG": "C"}, api_key=KEY,
                          base_url="http://x", places=CliPlaces(tmp_path))
    assert "PATH" not in env and env["LANG"] == "C"


def run_wrapper(tmp_path: Path, env: dict[str, str]) -> dict[str, object]:
    """Start the wrapper as the SDK would, with a stand-in CLI that reports on itself."""
    places = CliPlaces(tmp_path / "claude-code")
    wrapper = write_wrapper(places)
    cli = tmp_path / "fake-claude"
    cli.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                   "print(json.dumps({'env': dict(os.environ), 'pid': os.getpid(),\n"
                   "  'pgid': os.getpgid(0), 'sid': os.getsid(0), 'argv': sys.argv[1:]}))\n")
    cli.chmod(0o755)
    pid_file = places.run / "x.pid"
    passed = {**os.environ, **env, KEEP: keep_list(env), REAL_CLI: str(cli),
              PID_FILE: str(pid_file), "CLAUDE_CODE_ENTRYPOINT": "sdk-py",
              "PWD": str(tmp_path),
              "GITHUB_TOKEN": "ghp_inherited_from_the_parent_000000000"}
    out = subprocess.run([str(wrapper), "--output-format", "stream-json"], env=passed,
                         cwd=tmp_path, capture_output=True, text=True, check=True, timeout=30)
    report: dict[str, object] = json.loads(out.stdout)
    report["pid_file"] = int(pid_file.read_text())
    return report


def test_the_launcher_runs_the_cli_with_only_the_kept_environment(tmp_path: Path) -> None:
    env = cli_environment(PERSON, api_key=KEY, base_url="http://127.0.0.1:9",
                          places=CliPlaces(tmp_path / "claude-code"))
    report = run_wrapper(tmp_path, env)
    seen = report["env"]
    assert isinstance(seen, dict)
    # The SDK's own variables pass; nothing of the parent's does.
    assert seen == {**env, "CLAUDE_CODE_ENTRYPOINT": "sdk-py", "PWD": str(tmp_path)}
    assert report["argv"] == ["--output-format", "stream-json"]


def test_the_cli_leads_its_own_process_group_and_notes_its_pid(tmp_path: Path) -> None:
    report = run_wrapper(tmp_path, {"PATH": os.environ["PATH"]})
    # exec'd in place: the pid the SDK waits on is the CLI's, and it leads its group.
    assert report["pid"] == report["pgid"] == report["sid"] == report["pid_file"]
    assert report["pgid"] != os.getpgid(0)


def test_the_wrapper_is_rewritten_only_when_it_changes(tmp_path: Path) -> None:
    places = CliPlaces(tmp_path / "claude-code")
    first = write_wrapper(places)
    stamp = first.stat().st_mtime_ns
    assert write_wrapper(places) == first and first.stat().st_mtime_ns == stamp
    assert os.access(first, os.X_OK) and first.read_text().startswith("#!/bin/sh\n")
    first.write_text("#!/bin/sh\nexit 1\n")
    write_wrapper(places)
    assert sys.executable in first.read_text()


@pytest.mark.parametrize("name", ["HONK_CLAUDE_KEEP", "GITHUB_TOKEN", "ANTHROPIC_API_KEY"])
def test_the_keep_list_names_only_what_was_chosen(name: str) -> None:
    chosen = {"PATH": "/bin", "ANTHROPIC_API_KEY": KEY}
    names = keep_list(chosen).split(",")
    assert ("PATH" in names) and ("CLAUDE_CODE_ENTRYPOINT" in names)
    assert (name in names) == (name in chosen)
