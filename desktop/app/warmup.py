"""The one-off work of a first run (imports, the SDK's lazy parts, the keyring's backends,
the API client), done up front in steps so a window can stay responsive between them.

Every step that can take more than a moment is marked ``off_loop``: the imports (tens of
ms for some of Honk's own modules, ~2.5 s for anthropic, ~1.1 s for claude-agent-sdk) and
whatever touches the keyring, which may wait for a person to unlock it. :func:`warm_up`
runs those on a worker thread, so the loop waits for none of them. Importing in a thread
is safe (the import system locks each module) and no Qt object is involved.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "CLAUDE_CODE_MODULES",
    "RECENT_CHANGES",
    "RUN_MODULES",
    "WarmUpStep",
    "configured_engines",
    "preload_keyring",
    "recent_repos",
    "warm_up",
    "warm_up_steps",
]

# What a run imports.
RUN_MODULES = tuple(f"desktop.{m}" for m in (
    "adapters.anthropic.sse", "adapters.editor.tool", "adapters.git.cli",
    "adapters.git.workspace", "adapters.process.commands", "adapters.process.ledger",
    "adapters.process.loop_priority", "adapters.store.journal_writer", "app.pipeline_steps",
    "core.approval", "core.pipeline", "steps.agent", "steps.agent_prompt", "steps.build",
    "steps.commit", "steps.judge", "steps.verify",
))
# What a Claude Code run imports besides: Honk's glue, then the SDK itself (~1.1 s).
CLAUDE_CODE_MODULES = ("desktop.steps.claude_code_agent", "desktop.steps.claude_code_prompt")
# How many of the latest changes' repositories are asked which engine they use.
RECENT_CHANGES = 20


@dataclass(frozen=True)
class WarmUpStep:
    """One piece of the warm-up. Calling it runs it on the calling thread.

    ``off_loop``: it can take long (an import) or wait (the keyring): run it on a worker
    thread where a loop must stay responsive.
    """

    name: str
    run: Callable[[], None]
    off_loop: bool = False

    def __call__(self) -> None:
        self.run()


class Warmable(Protocol):
    """What :func:`warm_up` warms: an ``AppContext`` (named so to keep imports one-way)."""

    def warm_up_steps(self, repos: Iterable[Path] | None = None) -> list[WarmUpStep]: ...


def warm_up_steps(client: Callable[[], Any],
                  engines: Callable[[], Iterable[str]] = tuple) -> list[WarmUpStep]:
    """Steps that import what a run imports, preload the SDK and the keyring, and make the
    API client with ``client`` (a missing key is left for the run to report, where seen).

    ``engines`` (blocking: called off the loop) names the agent engines the person's
    repositories are configured for; Claude Code's SDK is imported only when one of them
    is ``claude-code`` (it costs ~1.1 s and memory that a Messages API user never needs).
    """

    def sdk() -> None:
        from desktop.adapters.anthropic.client import preload_sdk

        preload_sdk()

    def claude_code() -> None:
        wanted: set[str] = set()
        with contextlib.suppress(Exception):  # an unreadable journal: its reader says so
            wanted = set(engines())
        if "claude-code" not in wanted:
            return
        from desktop.adapters.claude_code.sdk import ClaudeCodeMissing, load_sdk

        for name in CLAUDE_CODE_MODULES:
            importlib.import_module(name)
        with contextlib.suppress(ClaudeCodeMissing):  # not installed: the run says how to
            load_sdk()

    def make_client() -> None:
        with contextlib.suppress(Exception):  # no key yet: the run says so, where seen
            client()

    def module(name: str) -> WarmUpStep:
        def load() -> None:
            importlib.import_module(name)

        return WarmUpStep(f"import {name}", load, off_loop=True)

    return [
        *map(module, RUN_MODULES),
        WarmUpStep("anthropic SDK", sdk, off_loop=True),
        WarmUpStep("Claude Code SDK", claude_code, off_loop=True),
        WarmUpStep("keyring backends", preload_keyring, off_loop=True),
        WarmUpStep("API client", make_client, off_loop=True),  # reads the key: keyring
    ]


async def warm_up(context: Warmable, repos: Iterable[Path] | None = None) -> None:
    """Run ``context``'s warm-up steps one after the other, the ``off_loop`` ones (all of
    them today) on a worker thread, any other on the loop, yielding after each: a keystroke
    never waits for an import or the keyring. ``repos``: see ``AppContext.warm_up_steps``.
    Cancelled, it leaves the step in hand to finish on its thread and runs no more."""
    import asyncio  # lazy for start-up, as everywhere in app/

    for step in context.warm_up_steps(repos):
        if step.off_loop:
            await asyncio.to_thread(step.run)
        else:
            step.run()
            await asyncio.sleep(0)


def configured_engines(repos: Sequence[Path]) -> set[str]:
    """The ``[agent] engine`` of each of ``repos`` that can be read (blocking: file I/O)."""
    from desktop.app.inputs import read_config

    found: set[str] = set()
    for repo in dict.fromkeys(repos):
        with contextlib.suppress(Exception):  # gone, or a bad honk.toml: its run says so
            found.add(read_config(repo).agent.engine)
    return found


def recent_repos(changes: Iterable[Any]) -> list[Path]:
    """The repositories of ``changes`` (``ChangeView``s), newest first, each once."""
    return list(dict.fromkeys(Path(view.repo) for view in changes))


def preload_keyring() -> None:
    """Load the keyring's backends (plugin imports) so reading secrets later imports nothing."""
    try:
        import keyring
    except ImportError:
        return
    with contextlib.suppress(Exception):  # no usable backend: reading a secret says so
        keyring.get_keyring()
