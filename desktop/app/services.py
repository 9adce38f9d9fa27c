"""Composition root: builds the services once and hands them to the CLI or the GUI.

Nothing here imports Qt at module level, so `honk --help` and the CLI never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.adapters.secrets import ANTHROPIC_KEY, GITHUB_TOKEN, SecretStore
from desktop.adapters.store.audit_log import AuditLog
from desktop.adapters.store.journal import ChangeJournal
from desktop.app.approvals import ApprovalService
from desktop.app.changes import ChangeService
from desktop.app.context import AppContext
from desktop.app.devices import InstallSteps
from desktop.app.home import default_home
from desktop.core.bus import EventBus
from desktop.core.errors import HonkError

__all__ = ["MissingKey", "Services", "build_services", "default_home"]


class MissingKey(HonkError, RuntimeError):
    """No Anthropic API key; the message says how to set one."""


@dataclass
class Services:
    """Everything the CLI and GUI share; built once per process by :func:`build_services`."""

    home: Path
    env: Mapping[str, str]
    journal: ChangeJournal
    bus: EventBus
    secrets: SecretStore
    context: AppContext
    changes: ChangeService
    audit: AuditLog
    approvals: ApprovalService
    installers: InstallSteps

    def require_key(self) -> None:
        """Fail early, before any worktree exists, when no API key is set anywhere."""
        if not self.secrets.get(ANTHROPIC_KEY):
            raise MissingKey(self.secrets.missing_key_message())

    def close(self) -> None:
        self.journal.close()


def build_services(env: Mapping[str, str] | None = None) -> Services:
    env = dict(os.environ if env is None else env)
    backoff_s = float(env.get("HONK_RETRY_BACKOFF_S", "1.0"))  # tests shorten the waits
    home = default_home(env)
    home.mkdir(parents=True, exist_ok=True)
    journal = ChangeJournal(home / "journal.sqlite3",
                            busy_timeout_s=float(env.get("HONK_JOURNAL_BUSY_TIMEOUT_S", "10")))
    bus = EventBus(journal)
    # The demo brings its own key in env; it must never touch the person's keyring.
    secrets = SecretStore(env, home=home, use_keyring=env.get("HONK_DEMO") != "1")
    cached: dict[str, list[str]] = {}

    def secret_values() -> list[str]:
        # Read once: verifier output is redacted on every run and keyring calls are slow.
        if "values" not in cached:
            cached["values"] = secrets.known_values()
        return cached["values"]

    def client_factory() -> Any:
        key = secrets.get(ANTHROPIC_KEY)
        if not key:
            raise MissingKey(secrets.missing_key_message())
        # Lazy: the SDK loads (~2.5 s) only when a change really runs.
        from desktop.adapters.anthropic.client import messages_client

        return messages_client(key, env.get("ANTHROPIC_BASE_URL"))

    installers = InstallSteps(env)
    context = AppContext(
        home=home,
        journal=journal,
        bus=bus,
        client_factory=client_factory,
        secret_values=secret_values,
        backoff_s=backoff_s,
        installer_for=installers,
        github_token=lambda: secrets.get(GITHUB_TOKEN),
    )
    changes = ChangeService(context)
    audit = AuditLog(home / "audit.sqlite3")
    approvals = ApprovalService(context=context, changes=changes, audit=audit, secrets=secrets)
    return Services(home=home, env=env, journal=journal, bus=bus, secrets=secrets,
                    context=context, changes=changes, audit=audit, approvals=approvals,
                    installers=installers)
