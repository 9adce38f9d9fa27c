"""Loading ``claude-agent-sdk`` (an optional extra) and finding the CLI it drives.

``import claude_agent_sdk`` takes about 1.1 s (it pulls in mcp, pydantic and jsonschema), so
it is imported when a Claude Code change first runs, never at start-up: `honk --help`,
`honk history` and the window's first paint must not pay for an engine they may not use.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from desktop.core.errors import HonkError

__all__ = ["CLI_ENV", "INSTALL_HINT", "ClaudeCodeMissing", "load_sdk", "real_cli"]

INSTALL_HINT = "Claude Code engine needs: pip install 'honk-desktop[claude-code]'"
CLI_ENV = "HONK_CLAUDE_CLI"  # another Claude Code CLI than the one the SDK's wheel bundles


class ClaudeCodeMissing(HonkError, RuntimeError):
    """The SDK or its CLI is not installed; the message says how to get it."""


def sdk_installed() -> bool:
    """Whether claude-agent-sdk can be imported, without importing it (~1 s)."""
    import importlib.util

    return importlib.util.find_spec("claude_agent_sdk") is not None


def load_sdk() -> ModuleType:
    """The ``claude_agent_sdk`` module, or :class:`ClaudeCodeMissing` saying how to install it."""
    try:
        import claude_agent_sdk  # lazy: see the module docstring
    except ImportError as exc:
        raise ClaudeCodeMissing(f"{INSTALL_HINT} ({exc})") from None
    return claude_agent_sdk


def real_cli(sdk: ModuleType, env: Mapping[str, str] | None = None) -> Path:
    """The Claude Code CLI to run: ``HONK_CLAUDE_CLI`` if set, else the bundled one."""
    env = os.environ if env is None else env
    if chosen := env.get(CLI_ENV, "").strip():
        path = Path(chosen).expanduser()
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ClaudeCodeMissing(f"{CLI_ENV}={chosen}: not an executable file")
        return path.resolve()
    bundled = Path(str(sdk.__file__)).parent / "_bundled" / "claude"
    if not bundled.is_file():
        raise ClaudeCodeMissing(
            f"this claude-agent-sdk has no bundled CLI at {bundled}; set {CLI_ENV} to a "
            f"Claude Code CLI, or reinstall: pip install 'honk-desktop[claude-code]'")
    return bundled
