"""The Claude Code agent step on its own, wired as desktop/app/pipeline_steps.py wires it:
the real SDK and its bundled CLI against the scripted Messages API, a real worktree, the real
bus and journal. These are the faults: a hung CLI, a crashed one, a failing API, a cancel,
the turn limit. (The whole flow, previews, the box and resume: tests/e2e/test_claude_code.py.)
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.app.services import build_services
from desktop.core.events import EditApplied, EditPreview, Notice
from desktop.core.options import RunOptions
from desktop.core.pipeline import StepResult
from desktop.sim.messages_claude_code import claude_edit_turn, read_turn
from desktop.sim.messages_script import Response, server_error, text_turn
from desktop.steps.claude_code_agent import ClaudeCodeAgentStep
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import configure, honk_toml
from tests.helpers.scripted_api import StartScripted
from tests.helpers.sessions import GREETING_FILE, SWEDISH_GREETING
from tests.helpers.step_change import StepChange

pytestmark = pytest.mark.slow

GREETING = 'GREETING = "Hello"\n'
ENGINE = '[agent]\nengine = "claude-code"\n'


class CodeChange(StepChange[ClaudeCodeAgentStep]):
    """A created change with its Claude Code agent step (see `StepChange`)."""

    def running_cli(self) -> int | None:
        """The CLI's pid, as the change's ledger of running processes has it."""
        ledger = self.services.home / "run" / self.ctx.change_id
        pids = [int(p.name) for p in ledger.iterdir() if p.name.isdigit()] if ledger.exists() \
            else []
        return pids[0] if pids else None


@asynccontextmanager
async def code_change(repo: RepoWithRemote, *, silence_s: float | None = None,
                      attempts: int | None = None, options: RunOptions | None = None,
                      ) -> AsyncIterator[CodeChange]:
    """A Claude Code change of ``repo`` made through the real services (start the scripted
    API first); its agent step is the one the config asks for."""
    configure(repo, honk_toml(extra=ENGINE))
    services = build_services(dict(os.environ))
    try:
        ctx, workspace, worktree = await services.changes.create_async(
            "Make the greeting Swedish", repo.path, options)
        step = services.changes.steps(ctx, workspace, worktree)[0]
        assert isinstance(step, ClaudeCodeAgentStep)
        changes = {k: v for k, v in (("silence_s", silence_s), ("attempts", attempts))
                   if v is not None}
        step.settings = dataclasses.replace(step.settings, **changes)  # type: ignore[arg-type]
        change = CodeChange(services, ctx, worktree, step)
        services.bus.subscribe(change.seen.append)
        yield change
    finally:
        await services.context.aclose()
        services.close()


def gone(pid: int, within_s: float = 5.0) -> bool:
    """Whether process ``pid`` has ended and been reaped (no zombie left) within the time."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return True
        time.sleep(0.02)
    return False


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) whose process group is ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def slow_edit_script() -> list[Response]:
    """Read the greeting, then edit it slowly (streamed 4 characters every 0.1 s), then done."""
    slow_edit = claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=4, delay_s=0.1)
    return [read_turn(GREETING_FILE), slow_edit, text_turn("Done.")]


async def run_until_preview(change: CodeChange) -> tuple[asyncio.Future[StepResult], int]:
    """Run the step until the bus carries its first edit preview: the run, and the pid of
    its CLI (running mid-edit)."""
    running = asyncio.ensure_future(change.step.run(change.ctx))
    while not any(isinstance(e, EditPreview) for e in change.seen):
        assert not running.done(), running.result()
        await asyncio.sleep(0.02)
    pid = change.running_cli()
    assert pid is not None
    return running, pid


@pytest.fixture
def fake_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCli]:
    yield FakeCli(tmp_path / "fake-cli", monkeypatch)


@dataclass
class FakeCli:
    """A stand-in CLI (``HONK_CLAUDE_CLI``) that misbehaves as told; it notes its pid."""

    root: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def pid_file(self) -> Path:
        return self.root / "pid"

    def install(self, body: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        script = self.root / "claude"
        script.write_text(f'#!/bin/sh\necho $$ > "{self.pid_file}"\n{body}\n')
        script.chmod(0o755)
        self.monkeypatch.setenv("HONK_CLAUDE_CLI", str(script))

    def pid(self) -> int:
        return int(self.pid_file.read_text())


async def test_a_hung_cli_ends_the_stage_with_a_clear_reason_and_is_stopped(
        repo: RepoWithRemote, scripted: StartScripted, fake_cli: FakeCli) -> None:
    scripted([])
    fake_cli.install("exec sleep 300")  # starts, then never says a word
    async with code_change(repo, silence_s=1.5) as change:
        started = time.monotonic()
        result = await change.step.run(change.ctx)
        took = time.monotonic() - started
    assert not result.ok
    assert result.reason == "Claude Code sent nothing for 1.5 s and was stopped (a hung CLI?)"
    assert took < 10
    assert gone(fake_cli.pid())
    assert change.greeting() == GREETING


async def test_a_cli_that_crashes_at_start_says_so_with_what_it_printed(
        repo: RepoWithRemote, scripted: StartScripted, fake_cli: FakeCli) -> None:
    scripted([])
    fake_cli.install('echo "fatal: out of memory" >&2\nexit 3')
    async with code_change(repo, silence_s=20) as change:
        result = await change.step.run(change.ctx)
    assert not result.ok
    assert "Claude Code" in result.reason and "fatal: out of memory" in result.reason, result.reason
    assert gone(fake_cli.pid())


async def test_the_real_cli_killed_mid_edit_ends_the_stage_and_nothing_is_half_applied(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    scripted(slow_edit_script())
    async with code_change(repo) as change:
        running, pid = await run_until_preview(change)
        os.kill(pid, signal.SIGKILL)  # the CLI dies mid-stream, the edit half streamed
        result = await asyncio.wait_for(running, 30)
        applied = change.journalled(EditApplied)
    assert not result.ok
    assert result.reason.startswith("Claude Code was killed (signal 9)"), result.reason
    assert applied == [] and change.greeting() == GREETING
    assert gone(pid)


async def test_an_api_that_keeps_failing_ends_the_stage_after_the_clis_retries(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    api = scripted([server_error("the scripted API is down")] * 4)
    async with code_change(repo, attempts=2) as change:
        result = await change.step.run(change.ctx)
        notices = [n.message for n in change.journalled(Notice)]
    assert not result.ok
    assert result.reason.startswith("the Messages API call failed: API Error: 500"), result.reason
    assert "the scripted API is down" in result.reason
    assert any(n.startswith("Claude Code: the API request failed (500): ") and
               n.endswith("retrying (attempt 1 of 1)") for n in notices), notices
    assert [r.status for r in api.message_requests()] == [500, 500]  # one try, one retry


async def test_cancel_stops_the_cli_and_its_children_at_once(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    scripted(slow_edit_script())
    async with code_change(repo) as change:
        running, pid = await run_until_preview(change)
        assert group_members(pid)
        started = time.monotonic()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        took = time.monotonic() - started
        left = change.running_cli()
    assert took < 3, took  # killed, not asked to finish its turn
    assert gone(pid) and group_members(pid) == []
    assert left is None  # struck from the ledger
    assert change.greeting() == GREETING


async def test_max_turns_holds(repo: RepoWithRemote, scripted: StartScripted) -> None:
    api = scripted([read_turn(GREETING_FILE),
                    claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"'), text_turn("Done.")])
    async with code_change(repo, options=RunOptions(max_turns=1)) as change:
        result = await change.step.run(change.ctx)
        applied = change.journalled(EditApplied)
    assert not result.ok
    assert result.reason == "the agent used all 1 turns"
    assert change.ctx.agent_turns == 1
    assert api.remaining() == {"default": 2}
    assert applied == [] and change.greeting() == GREETING


async def test_a_later_round_continues_the_same_claude_code_session(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    api = scripted([read_turn(GREETING_FILE), text_turn("Looked."),
                    claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"'), text_turn("Done.")])
    async with code_change(repo) as change:
        first = await change.step.run(change.ctx)
        session = change.step.session_id
        change.ctx.prompt = "The verifiers failed: make it Swedish."
        second = await change.step.run(change.ctx)
    assert first.ok and second.ok, (first.reason, second.reason)
    assert session and change.step.session_id == session
    # Four turns at the scripted usage (120 in, 60 out at $3/$15 per million), each once.
    assert change.ctx.cost_usd == pytest.approx(4 * 0.00126)
    assert change.ctx.agent_turns == 4
    assert change.greeting() == SWEDISH_GREETING
    # The second round's first request carries the first round's conversation.
    texts = str(api.message_requests()[2].body["messages"])
    assert "Make the greeting Swedish" in texts and "make it Swedish" in texts


async def test_a_stream_cut_on_every_try_ends_the_stage_with_a_clear_reason(
        repo: RepoWithRemote, scripted: StartScripted) -> None:
    cut = claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', cut_after_events=4)
    # After two cut streams the CLI falls back to one plain (not streamed) request.
    api = scripted([cut, cut, server_error("down"), text_turn("never asked for")])
    async with code_change(repo, attempts=2) as change:
        result = await change.step.run(change.ctx)
        applied = change.journalled(EditApplied)
        notices = [n.message for n in change.journalled(Notice)]
    assert not result.ok
    assert result.reason.startswith("the Messages API call failed: "), result.reason
    assert "Claude Code: the stream broke off; retrying (attempt 1 of 1)" in notices, notices
    assert [(r.status, r.body["stream"]) for r in api.message_requests()] == [
        (200, True), (200, True), (500, False)]
    assert applied == [] and change.greeting() == GREETING
