"""A keyring that keeps a run waiting (a locked keyring asking for its password, a desktop
asking to create one) is read off the loop, and the change says it waits for the keyring."""

from __future__ import annotations

import os
import time

import pytest

from desktop.app.keyring_wait import WAITING_FOR_KEYRING
from desktop.app.services import build_services
from desktop.core.events import Event, Notice, StageProgress
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_script import edit_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.loop_ticks import counting_ticks


async def _run(repo: RepoWithRemote, monkeypatch: pytest.MonkeyPatch,
               keyring_s: float) -> tuple[list[Event], int, str]:
    repo.write("honk.toml", "[judge]\nenabled = false\n")
    repo.write("app/a.txt", "old\n")
    repo.commit_all("setup")
    with ScriptedMessagesAPI([edit_turn("app/a.txt", "old", "new"), text_turn("ok")]) as api:
        services = build_services({**os.environ, "ANTHROPIC_API_KEY": "k-wait",
                                   "ANTHROPIC_BASE_URL": api.base_url})

        def slow_keyring() -> list[str]:  # what a prompting keyring does to the reading thread
            time.sleep(keyring_s)
            return ["k-wait"]

        monkeypatch.setattr(services.context, "secret_values", slow_keyring)
        events: list[Event] = []
        services.bus.subscribe(events.append)
        try:
            async with counting_ticks() as ticks:
                ctx, ws, wt = await services.changes.create_async("touch a file", repo.path)
                state = await services.changes.run(ctx, ws, wt)
        finally:
            await services.context.aclose()
            services.close()
    return events, ticks.count, state.value


async def test_a_keyring_that_keeps_the_run_waiting_is_said_and_never_blocks_the_loop(
    repo: RepoWithRemote, monkeypatch: pytest.MonkeyPatch,
) -> None:
    events, ticks, state = await _run(repo, monkeypatch, keyring_s=1.6)
    assert state == "awaiting_approval"
    waiting = [e for e in events if isinstance(e, Notice) and e.message == WAITING_FOR_KEYRING]
    assert len(waiting) == 1 and waiting[0].level == "warning"
    assert any(isinstance(e, StageProgress) and "keyring" in e.message for e in events)
    assert ticks > 60, f"the loop ran only {ticks} times while the keyring was read"


async def test_a_keyring_that_answers_at_once_says_nothing(
    repo: RepoWithRemote, monkeypatch: pytest.MonkeyPatch,
) -> None:
    events, _ticks, state = await _run(repo, monkeypatch, keyring_s=0.0)
    assert state == "awaiting_approval"
    assert not [e for e in events if isinstance(e, Notice) and "keyring" in e.message]
