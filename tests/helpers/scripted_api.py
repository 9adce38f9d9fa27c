"""The scripted Messages API wired into the environment the in-process CLI (and
``build_services()``) reads, and the in-process `honk` call most end-to-end tests make.

Fixtures (registered for every test in tests/conftest.py): ``scripted`` starts servers on
demand (``scripted(turns)``), each stopped in teardown; ``swedish_api`` is one already serving
the agent's usual Swedish-greeting session (tests/helpers/sessions.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Protocol

import pytest

from desktop.cli.main import main
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_routing import Router
from desktop.sim.messages_script import Response
from tests.helpers.sessions import swedish_session

__all__ = ["KEY", "StartScripted", "cli", "scripted", "scripted_api", "swedish_api", "use_api"]

KEY = "sk-ant-test-scripted-0123456789"

Scripts = Sequence[Response] | dict[str, list[Response]]


def use_api(monkeypatch: pytest.MonkeyPatch, api: ScriptedMessagesAPI, key: str = KEY) -> None:
    """Point the CLI at ``api`` with ``key`` (and short retry back-offs)."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", api.base_url)
    monkeypatch.setenv("HONK_RETRY_BACKOFF_S", "0.01")


@contextmanager
def scripted_api(monkeypatch: pytest.MonkeyPatch, script: Scripts,
                 router: Router | None = None, key: str = KEY) -> Iterator[ScriptedMessagesAPI]:
    """A running scripted Messages API that expects ``key``, set up for the CLI."""
    scripts = script if isinstance(script, dict) else list(script)
    with ScriptedMessagesAPI(scripts, router, expected_api_key=key) as api:
        use_api(monkeypatch, api, key)
        yield api


class StartScripted(Protocol):
    """The ``scripted`` fixture: start a server for ``script`` and point the environment at
    it (the latest one started wins)."""

    def __call__(self, script: Scripts, router: Router | None = None,
                 key: str = KEY) -> ScriptedMessagesAPI: ...


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[StartScripted]:
    with ExitStack() as started:

        def start(script: Scripts, router: Router | None = None,
                  key: str = KEY) -> ScriptedMessagesAPI:
            return started.enter_context(scripted_api(monkeypatch, script, router, key))

        yield start


@pytest.fixture
def swedish_api(scripted: StartScripted) -> ScriptedMessagesAPI:
    """A started server with one change's Swedish-greeting session, in the environment."""
    return scripted(swedish_session())


def cli(capsys: pytest.CaptureFixture[str], *args: str
        ) -> tuple[int, list[dict[str, object]], str]:
    """Run `honk args` in-process: exit code, the JSON lines it printed, stdout + stderr."""
    code = main(list(args))
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()
             if line.startswith("{") and line.endswith("}")]
    return code, lines, captured.out + captured.err
