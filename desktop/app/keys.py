"""The secrets a person may store (`honk key set NAME`, the Settings page), by the names
the CLI uses, and where each is kept: the keyring, never a file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.adapters.secrets import (
    ANTHROPIC_KEY,
    GITHUB_TOKEN,
    SLACK_APP_TOKEN,
    SLACK_BOT_TOKEN,
    SecretsUnavailable,
)
from desktop.core.errors import UsageError

if TYPE_CHECKING:
    from desktop.adapters.secrets import SecretStore

__all__ = ["KEY_LABELS", "KEY_NAMES", "store_key"]

# CLI name -> (keyring entry, what a person calls it).
_KEYS = {"anthropic": (ANTHROPIC_KEY, "Anthropic API key"),
         "github": (GITHUB_TOKEN, "GitHub token"),
         "slack-bot": (SLACK_BOT_TOKEN, "Slack bot token (xoxb-)"),
         "slack-app": (SLACK_APP_TOKEN, "Slack app-level token (xapp-)")}
KEY_NAMES = tuple(_KEYS)
KEY_LABELS = {name: label for name, (_entry, label) in _KEYS.items()}


def store_key(secrets: SecretStore, name: str, value: str) -> str:
    """Keep ``value`` as secret ``name``; says where it went ("the keyring", ...).

    UsageError for an unknown name, an empty value or no keyring; nothing is stored then.
    """
    if name not in _KEYS:
        raise UsageError(f"unknown key {name!r}: expected one of {', '.join(KEY_NAMES)}")
    entry, label = _KEYS[name]
    if not value.strip():
        raise UsageError(f"no {label} given; nothing was stored")
    try:
        return secrets.set(entry, value.strip())
    except SecretsUnavailable as exc:
        raise UsageError(str(exc)) from None
