"""The box around the repo's own commands: verifiers (and builds) run as real child processes
with the worktree as cwd, an environment holding no secret under any name, a timeout that
kills everything they started, and output that reaches the model trimmed and redacted."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.adapters.process.commands import run_command, scrubbed_env
from desktop.core.config import VerifierConfig
from desktop.core.events import Event, VerifierResult
from desktop.core.text import REDACTED
from desktop.steps.verify import VerifierRunner, VerifyReport

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
API_KEY = "sk-ant-api03-SECURITYTEST-k3y-0123456789abcdefXYZ"
FORGE_TOKEN = "ghp_SECURITYTESTt0ken0123456789abcdefAB"

_alnum = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=20,
                 max_size=40)
# Secrets of the shapes the app holds, and arbitrary ones (a custom proxy's key, say).
secrets_st = st.one_of(
    _alnum.map(lambda s: "sk-ant-api03-" + s),
    _alnum.map(lambda s: "ghp_" + s),
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40),
)
innocent_names = st.from_regex(r"\A[A-Z][A-Z0-9_]{0,15}\Z").map(lambda n: "X_" + n)
wrappers = st.sampled_from(["{}", "https://user:{}@git.example.invalid/r.git", "--key={} -v",
                            "a:{}:b", "{}\n"])


def run_verifiers(worktree: Path, command: list[str], secrets: list[str],
                  timeout: float = 20) -> tuple[VerifyReport, list[Event]]:
    runner = VerifierRunner([VerifierConfig("check", tuple(command), timeout)],
                            secrets=lambda: secrets)
    events: list[Event] = []
    report = asyncio.run(runner.run("c1", worktree, events.append))
    return report, events


def child_env(worktree: Path, secrets: list[str]) -> tuple[bytes, str]:
    """What a verifier really receives: its environment (raw) and its working directory."""
    run_verifiers(worktree, ["sh", "-c", "env -0 > .envdump; pwd -P > .cwd"], secrets)
    return (worktree / ".envdump").read_bytes(), (worktree / ".cwd").read_text().strip()


@SETTINGS
@given(hidden=secrets_st, name=innocent_names, wrapper=wrappers, which=st.booleans())
def test_a_verifier_never_sees_a_secret_under_any_name(
        tmp_path: Path, hidden: str, name: str, wrapper: str, which: bool) -> None:
    worktree = tmp_path / "wt"
    worktree.mkdir(exist_ok=True)
    known = [API_KEY, FORGE_TOKEN, hidden]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANTHROPIC_API_KEY", API_KEY)
        mp.setenv("GITHUB_TOKEN", FORGE_TOKEN)
        mp.setenv("ANTHROPIC_AUTH_TOKEN", API_KEY)
        # The same secrets again, exported under names that look harmless.
        mp.setenv(name, wrapper.format(hidden))
        mp.setenv("X_INNOCENT_COPY", wrapper.format(API_KEY if which else FORGE_TOKEN))
        mp.setenv("X_PLAIN", "just a value")
        dump, cwd = child_env(worktree, known)
    env = dict(item.split(b"=", 1) for item in dump.split(b"\0") if b"=" in item)
    for secret in known:
        assert secret.encode() not in dump
    assert not any(re.search(rb"KEY|TOKEN|SECRET|AUTH", k, re.IGNORECASE) for k in env)
    assert name.encode() not in env and b"X_INNOCENT_COPY" not in env
    assert env[b"X_PLAIN"] == b"just a value"  # innocent variables still reach the child
    assert b"HONK_HOME" not in env and b"ANTHROPIC_BASE_URL" not in env
    assert Path(cwd) == worktree.resolve()


def test_scrubbing_drops_token_shaped_values_even_when_the_secret_is_unknown() -> None:
    env = scrubbed_env({"A": "x sk-ant-api03-abcdefghijkl", "B": "ghp_" + "a" * 36,
                        "C": "github_pat_" + "b" * 30, "PATH": "/usr/bin", "HONK_DEMO": "1",
                        "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1/bus"})
    assert env == {"PATH": "/usr/bin"}


def test_a_secret_shorter_than_eight_characters_does_not_wipe_the_environment() -> None:
    env = scrubbed_env({"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, ["/", "bin", ""])
    assert env == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def _dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" in status.read_text()  # a zombie no one reaped


def test_a_verifier_that_hangs_is_killed_with_everything_it_started(tmp_path: Path) -> None:
    # The background child writes a heartbeat; once the verifier is killed, the beat must
    # stop. (A pid would not do: in the sandbox the verifier has its own pid namespace.)
    beat = tmp_path / "beat"
    started = time.monotonic()
    report, events = run_verifiers(
        tmp_path, ["sh", "-c", "(while :; do date +%s%N > beat; sleep 0.05; done) & "
                               "echo started; sleep 60"],
        [], timeout=2)  # room for the box to start on a loaded machine
    assert time.monotonic() - started < 10
    (result,) = report.results
    assert not result.passed and result.exit_code is None
    assert "timed out after 2 s" in report.failures_text()
    assert beat.exists(), "the background child never ran"
    last = beat.read_text()
    time.sleep(0.5)  # ten beats' time
    assert beat.read_text() == last, "the verifier's background child outlived its timeout"
    assert isinstance(events[0], VerifierResult) and events[0].exit_code is None


def test_cancelling_a_command_kills_its_process_group(tmp_path: Path) -> None:
    async def scenario() -> int:
        task = asyncio.create_task(run_command(
            ["sh", "-c", "sleep 60 & echo $! > gc.pid; sleep 60"], cwd=tmp_path, timeout=60))
        while not (tmp_path / "gc.pid").exists() or not (tmp_path / "gc.pid").read_text():
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return int((tmp_path / "gc.pid").read_text())

    pid = asyncio.run(scenario())
    deadline = time.monotonic() + 5
    while not _dead(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _dead(pid)


def _spellings(secret: str) -> list[str]:
    raw = secret.encode()
    return [secret, base64.b64encode(raw).decode().rstrip("="), raw.hex()]


def _leaks(text: str, secret: str) -> bool:
    squeezed = re.sub(r"\s", "", text)
    return any(form in squeezed for form in _spellings(secret))


@SETTINGS
@given(
    secret=secrets_st.filter(lambda s: not s.isspace()),
    noise_lines=st.integers(0, 3000),
    where=st.floats(0, 1),
    width=st.integers(3, 30),
    line_len=st.integers(0, 5000),
)
def test_what_a_verifier_prints_reaches_the_model_trimmed_and_redacted(
        tmp_path: Path, secret: str, noise_lines: int, where: float, width: int,
        line_len: int) -> None:
    lines = [f"test_{i} ... ok" for i in range(noise_lines)]
    pos = int(where * len(lines))
    pad = "x" * line_len
    b64 = base64.b64encode(("token=" + secret).encode()).decode()
    leaked = [
        f"FAILED config: {pad}{secret}{pad}",  # exact, in the middle of a long line
        "wrapped: " + "\n".join(secret[i:i + width] for i in range(0, len(secret), width)),
        "encoded: " + "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)),
        "hex " + secret.encode().hex(),
    ]
    lines[pos:pos] = leaked
    lines.append(f"error: login failed with {secret}")  # and in the tail, which is always kept
    out = tmp_path / "out.txt"
    out.write_text("\n".join(lines) + "\n")
    report, events = run_verifiers(tmp_path, ["sh", "-c", f"cat '{out}'; exit 1"],
                                   [secret, API_KEY])
    text = report.failures_text()
    assert len(text) <= 4_200  # trimmed: the model never gets the whole log
    assert REDACTED in text
    assert not _leaks(text, secret)
    (result,) = events
    assert isinstance(result, VerifierResult) and not _leaks(result.output, secret)


def test_trimming_never_leaves_half_a_secret(tmp_path: Path) -> None:
    # One long line: the excerpt keeps its last 4000 characters, which cut the secret in two.
    half = len(API_KEY) // 2
    line = "a" * 100 + API_KEY + "b" * (4000 - half)
    (tmp_path / "out.txt").write_text(line + "\n")
    report, _ = run_verifiers(tmp_path, ["sh", "-c", "cat out.txt; exit 1"], [API_KEY])
    text = report.failures_text()
    assert "trimmed" in text
    assert API_KEY[half:] not in text and API_KEY[-12:] not in text
