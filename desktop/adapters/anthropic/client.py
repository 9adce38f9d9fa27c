"""The Messages API client: made here, the only place that imports the anthropic SDK.

`import anthropic` takes ~2.5 s, so both functions import it when called, never at module
import: `honk --help`, `honk history` and the window's first paint must not pay for it.
"""

from __future__ import annotations

import contextlib
from typing import Any

__all__ = ["messages_client", "preload_sdk"]

# What the SDK imports on its first streamed request rather than at `import anthropic`.
_FIRST_REQUEST_MODULES = ("anyio._backends._asyncio", "opentelemetry.propagate")


def preload_sdk() -> None:
    """Import the anthropic SDK and what its first streamed request would import.

    Call it where a pause does not matter: app/warmup.py runs it on a worker thread once the
    window is complete (on the loop it would stall the window; automatic garbage collection
    is off in the window, see ui/gc_guard.py, so a worker's allocations free no Qt object).
    """
    import importlib

    import anthropic  # noqa: F401

    for name in _FIRST_REQUEST_MODULES:
        # Missing in another SDK version: its first request pays for it instead.
        with contextlib.suppress(ImportError):
            importlib.import_module(name)


def messages_client(api_key: str, base_url: str | None, *, max_retries: int = 2) -> Any:
    """An ``anthropic.AsyncAnthropic`` (typed ``Any`` so callers need not import the SDK)."""
    import anthropic  # lazy: see the module docstring

    return anthropic.AsyncAnthropic(api_key=api_key, base_url=base_url, max_retries=max_retries)
