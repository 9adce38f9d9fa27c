"""A keyring backend that answers nothing and writes down every call, for proving that a
run never reached the keyring. Select it in a child process with
``PYTHON_KEYRING_BACKEND=tests.helpers.recording_keyring.RecordingKeyring`` and name the log
file in ``RECORDING_KEYRING_LOG`` (one line per call: what, service, user)."""

from __future__ import annotations

import os
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.compat import properties

__all__ = ["BACKEND", "LOG_ENV", "RecordingKeyring", "calls"]

LOG_ENV = "RECORDING_KEYRING_LOG"
BACKEND = f"{__name__}.RecordingKeyring"


def _record(*what: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write("\t".join(what) + "\n")


class RecordingKeyring(KeyringBackend):
    """Holds no secrets; every method call (and its creation) is written to the log."""

    @properties.classproperty
    def priority(cls) -> float:
        # Usable only where a log is named: a process that merely imports this module (pytest
        # collects it) must not have keyring pick it over the machine's own.
        if not os.environ.get(LOG_ENV):
            raise RuntimeError(f"the recording keyring needs {LOG_ENV}")
        return 0.1

    def __init__(self) -> None:
        _record("init", "", "")
        super().__init__()

    def get_password(self, service: str, username: str) -> str | None:
        _record("get_password", service, username)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        _record("set_password", service, username)

    def delete_password(self, service: str, username: str) -> None:
        _record("delete_password", service, username)

    def get_credential(self, service: str, username: str | None) -> None:
        _record("get_credential", service, username or "")
        return None


def calls(log: Path) -> list[list[str]]:
    """The calls written to ``log`` (none when it was never written)."""
    if not log.exists():
        return []
    return [line.split("\t") for line in log.read_text(encoding="utf-8").splitlines()]
