"""The one-off work of a first run (imports, the SDK's lazy parts, the keyring's backends,
the API client), done up front in steps so a window can stay responsive between them."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["RUN_MODULES", "warm_up_steps"]

# What a run imports.
RUN_MODULES = tuple(f"desktop.{m}" for m in (
    "adapters.anthropic.sse", "adapters.editor.tool", "adapters.git.cli",
    "adapters.git.workspace", "adapters.process.commands", "adapters.process.ledger",
    "adapters.process.loop_priority", "adapters.store.journal_writer", "app.pipeline_steps",
    "core.approval", "core.pipeline", "steps.agent", "steps.agent_prompt", "steps.build",
    "steps.commit", "steps.judge", "steps.verify",
))


def warm_up_steps(client: Callable[[], Any]) -> list[Callable[[], None]]:
    """Steps that import what a run imports, preload the SDK and the keyring, and make the
    API client with ``client`` (a missing key is left for the run to report, where seen).

    Run them on the main thread: imports must not run in worker threads (CPython 3.11's
    compiler is not thread-safe) and, left to the first run, they stall the loop.
    """

    def sdk() -> None:
        from desktop.adapters.anthropic.client import preload_sdk

        preload_sdk()

    def make_client() -> None:
        with contextlib.suppress(Exception):  # no key yet: the run says so, where seen
            client()

    def module(name: str) -> Callable[[], None]:
        def load() -> None:
            importlib.import_module(name)

        return load

    return [*map(module, RUN_MODULES), sdk, preload_keyring, make_client]


def preload_keyring() -> None:
    """Load the keyring's backends (plugin imports) so reading secrets later imports nothing."""
    try:
        import keyring
    except ImportError:
        return
    with contextlib.suppress(Exception):  # no usable backend: reading a secret says so
        keyring.get_keyring()
