"""Secrets live in the OS keyring (Secret Service, Keychain, Credential Locker), never files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ANTHROPIC_KEY", "GITHUB_TOKEN", "SecretStore", "SecretsUnavailable"]

SERVICE = "honk-desktop"
ANTHROPIC_KEY = "anthropic-api-key"
GITHUB_TOKEN = "github-token"
_ENV_NAMES = {ANTHROPIC_KEY: "ANTHROPIC_API_KEY", GITHUB_TOKEN: "GITHUB_TOKEN"}


class SecretsUnavailable(RuntimeError):
    """No keyring backend here; the message says how to get one or use the environment."""


@dataclass
class SecretStore:
    """Reads a secret from the environment first (CI, scripts), then from keyring."""

    env: Mapping[str, str]

    @classmethod
    def from_environ(cls) -> SecretStore:
        return cls(dict(os.environ))

    def get(self, name: str) -> str | None:
        env_value = self.env.get(_ENV_NAMES.get(name, ""), "")
        if env_value:
            return env_value
        try:
            import keyring
            from keyring.errors import KeyringError

            try:
                return keyring.get_password(SERVICE, name)
            except KeyringError:
                return None
        except ImportError:
            return None

    def set(self, name: str, value: str) -> None:
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        try:
            keyring.set_password(SERVICE, name, value)
        except NoKeyringError as exc:
            raise SecretsUnavailable(
                "no keyring backend is available on this machine (on headless Linux, "
                "install and unlock gnome-keyring, or set the value in the environment "
                f"as {_ENV_NAMES.get(name, name.upper())})"
            ) from exc
        except KeyringError as exc:
            raise SecretsUnavailable(f"the keyring refused to store {name}: {exc}") from exc

    def known_values(self) -> list[str]:
        """Every secret value we hold, so output can be redacted before anyone sees it."""
        return [v for v in (self.get(n) for n in _ENV_NAMES) if v]

    def missing_key_message(self) -> str:
        return (
            "no Anthropic API key: set ANTHROPIC_API_KEY in the environment, or store one "
            "in the keyring with `honk key set` (it is never written to a file)"
        )
