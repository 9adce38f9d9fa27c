"""The errors the front ends tell a person about, and the window's single-instance lock:
named here so the CLI, the window and Slack never import an adapter to catch one.

Every one is a :class:`desktop.core.errors.HonkError`. Each loads on first use (below): the
window takes its single-instance lock before its first paint, and importing the journal or
git code for that would cost it ~60 ms.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from desktop.core.errors import HonkError, UsageError

if TYPE_CHECKING:
    from desktop.adapters.android.errors import DeviceError
    from desktop.adapters.git.merge import MergeError
    from desktop.adapters.git.workspace import WorkspaceError
    from desktop.adapters.ios.devices import IosError
    from desktop.adapters.secrets import SecretsUnavailable
    from desktop.adapters.slack import SlackError
    from desktop.adapters.store.journal import JournalDamaged, JournalError
    from desktop.adapters.store.journal_repair import RepairError
    from desktop.adapters.store.locks import AppLock, LockBusy
    from desktop.core.config import ConfigError

__all__ = [
    "AppLock",
    "ConfigError",
    "DeviceError",
    "HonkError",
    "IosError",
    "JournalDamaged",
    "JournalError",
    "LockBusy",
    "MergeError",
    "RepairError",
    "SecretsUnavailable",
    "SlackError",
    "UsageError",
    "WorkspaceError",
]


def __getattr__(name: str) -> type:
    # Lazy for start-up: first paint, `honk --help` and `honk history` must not load git, iOS,
    # keyring or journal code just to name an error they may never catch.
    if name in ("AppLock", "LockBusy"):
        from desktop.adapters.store import locks
        return getattr(locks, name)  # type: ignore[no-any-return]  # a class named above
    if name in ("JournalDamaged", "JournalError"):
        from desktop.adapters.store import journal
        return getattr(journal, name)  # type: ignore[no-any-return]  # a class named above
    if name == "ConfigError":
        from desktop.core.config import ConfigError
        return ConfigError
    if name == "DeviceError":
        from desktop.adapters.android.errors import DeviceError
        return DeviceError
    if name == "MergeError":
        from desktop.adapters.git.merge import MergeError
        return MergeError
    if name == "WorkspaceError":
        from desktop.adapters.git.workspace import WorkspaceError
        return WorkspaceError
    if name == "IosError":
        from desktop.adapters.ios.devices import IosError
        return IosError
    if name == "SecretsUnavailable":
        from desktop.adapters.secrets import SecretsUnavailable
        return SecretsUnavailable
    if name == "SlackError":
        from desktop.adapters.slack import SlackError
        return SlackError
    if name == "RepairError":
        from desktop.adapters.store.journal_repair import RepairError
        return RepairError
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
