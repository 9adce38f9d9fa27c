"""Secrets live in the OS keyring (Secret Service, Keychain, Credential Locker), never files.

The one exception is explicit: with ``HONK_INSECURE_SECRETS_FILE=1`` and no keyring backend,
secrets go to ``HONK_HOME/secrets.insecure`` (mode 0600, plain JSON), with a loud warning
every time it is read or written. Without that opt-in nothing is ever written to a file.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from desktop.core.errors import HonkError

__all__ = [
    "ANTHROPIC_KEY",
    "GITHUB_TOKEN",
    "INSECURE_ENV",
    "INSECURE_FILE_NAME",
    "SLACK_APP_TOKEN",
    "SLACK_BOT_TOKEN",
    "SecretStore",
    "SecretsUnavailable",
]

SERVICE = "honk-desktop"
ANTHROPIC_KEY = "anthropic-api-key"
GITHUB_TOKEN = "github-token"
INSECURE_ENV = "HONK_INSECURE_SECRETS_FILE"
INSECURE_FILE_NAME = "secrets.insecure"
SLACK_BOT_TOKEN = "slack-bot-token"  # xoxb-: the Web API as the bot
SLACK_APP_TOKEN = "slack-app-token"  # xapp-: opens Socket Mode connections
_ENV_NAMES = {ANTHROPIC_KEY: "ANTHROPIC_API_KEY", GITHUB_TOKEN: "GITHUB_TOKEN",
              SLACK_BOT_TOKEN: "SLACK_BOT_TOKEN", SLACK_APP_TOKEN: "SLACK_APP_TOKEN"}
_LABELS = {ANTHROPIC_KEY: "Anthropic API key", GITHUB_TOKEN: "GitHub token",
           SLACK_BOT_TOKEN: "Slack bot token", SLACK_APP_TOKEN: "Slack app-level token"}


class SecretsUnavailable(HonkError, RuntimeError):
    """No keyring backend here; the message says how to get one or use the environment."""


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass
class SecretStore:
    """Reads a secret from the environment first (CI, scripts), then from keyring, then
    (only when opted in) from the insecure file in ``home``."""

    env: Mapping[str, str]
    home: Path | None = None  # where the opt-in file lives; None: no file fallback
    warn: Callable[[str], None] = field(default=_to_stderr, repr=False)
    # False: the environment only, never the keyring or the file. `honk demo` needs no
    # secret of the person's, and a first keyring read can pop a "new keyring" dialog.
    use_keyring: bool = True

    @classmethod
    def from_environ(cls) -> SecretStore:
        return cls(dict(os.environ))

    @property
    def insecure_path(self) -> Path | None:
        return self.home / INSECURE_FILE_NAME if self.home is not None else None

    def insecure_opt_in(self) -> bool:
        """Whether the person opted in to the plaintext file. Raises on a value we can't read."""
        value = self.env.get(INSECURE_ENV, "").strip()
        if value in ("", "0"):
            return False
        if value == "1":
            return True
        raise SecretsUnavailable(
            f"{INSECURE_ENV}={value!r}: expected 1 (store secrets in an unencrypted file "
            "when no keyring exists) or 0; nothing was read or stored"
        )

    def get(self, name: str) -> str | None:
        env_value = self.env.get(_ENV_NAMES.get(name, ""), "")
        if env_value or not self.use_keyring:
            return env_value or None
        value = self._keyring_get(name)
        if value:
            return value
        try:
            if not self.insecure_opt_in():
                return None
            stored = self._read_file().get(name)
        except SecretsUnavailable as exc:  # get() never raises: callers say "no key" instead
            self.warn(f"honk: WARNING: {exc}")
            return None
        if stored:
            self.warn(self._warning(f"read the {_LABELS.get(name, name)} from"))
        return stored

    def set(self, name: str, value: str) -> str:
        """Store ``name``; returns where it went ("the keyring" or the unencrypted file)."""
        if not self.use_keyring:
            raise SecretsUnavailable(
                f"the {_LABELS.get(name, name)} was not stored: this session (the demo) keeps "
                "no secrets and never touches the keyring")
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        try:
            keyring.set_password(SERVICE, name, value)
            return "the keyring"
        except NoKeyringError as exc:
            if not self.insecure_opt_in():
                raise SecretsUnavailable(self._no_keyring_message(name)) from exc
        except KeyringError as exc:
            raise SecretsUnavailable(f"the keyring refused to store {name}: {exc}") from exc
        self._write_file(name, value)
        self.warn(self._warning(f"stored the {_LABELS.get(name, name)} in"))
        return f"the UNENCRYPTED file {self.insecure_path}"

    def known_values(self) -> list[str]:
        """Every secret value we hold, so output can be redacted before anyone sees it."""
        return [v for v in (self.get(n) for n in _ENV_NAMES) if v]

    def missing_key_message(self) -> str:
        return (
            "no Anthropic API key: set ANTHROPIC_API_KEY in the environment, or store one "
            "in the keyring with `honk key set` (it is never written to a file)"
        )

    # -- the keyring --------------------------------------------------------------------
    def _keyring_get(self, name: str) -> str | None:
        try:
            import keyring
            from keyring.errors import KeyringError
        except ImportError:
            return None
        try:
            return keyring.get_password(SERVICE, name)
        except KeyringError:
            return None

    def _no_keyring_message(self, name: str) -> str:
        return (
            f"cannot store the {_LABELS.get(name, name)}: no keyring backend is available on "
            "this machine, and Honk never writes secrets to a file on its own. Either:\n"
            "  - install and unlock a Secret Service (Debian/Ubuntu: `apt-get install "
            "gnome-keyring`, then in your session `gnome-keyring-daemon --unlock "
            "--components=secrets`), and run this again;\n"
            f"  - or set {_ENV_NAMES.get(name, name.upper())} in the environment instead;\n"
            f"  - or, knowing that anyone who can read your files can read it, opt in to an "
            f"unencrypted file with {INSECURE_ENV}=1 (kept in "
            f"{self.insecure_path or 'HONK_HOME/' + INSECURE_FILE_NAME}, mode 0600)"
        )

    # -- the opt-in file ----------------------------------------------------------------
    def _warning(self, what: str) -> str:
        return (
            f"honk: WARNING: {what} the UNENCRYPTED file {self.insecure_path} because "
            f"{INSECURE_ENV}=1 and no keyring is available. Anyone who can read your files "
            "can read it. Install a Secret Service, store the secret again with `honk key "
            "set`, then delete that file."
        )

    def _read_file(self) -> dict[str, str]:
        """The opt-in file's secrets ({} when it does not exist); refuses an unsafe file."""
        path = self.insecure_path
        if path is None:
            raise SecretsUnavailable(f"{INSECURE_ENV}=1 but Honk has no data directory here")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretsUnavailable(
                f"{path}: cannot open ({exc.strerror}); it must be a regular file, not a "
                "symlink; it was left as it is"
            ) from None
        with os.fdopen(fd, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SecretsUnavailable(f"{path}: not a regular file; it was left as it is")
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                raise SecretsUnavailable(
                    f"{path}: owned by uid {info.st_uid}, not you (uid {os.getuid()}); refusing "
                    "to trust it; it was left as it is"
                )
            mode = stat.S_IMODE(info.st_mode)
            if mode & 0o077:
                raise SecretsUnavailable(
                    f"{path}: mode {mode:04o} lets others read it; expected 0600. Run "
                    f"`chmod 600 {path}` (and consider the secrets in it exposed)"
                )
            raw = handle.read()
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SecretsUnavailable(
                f"{path}: not valid JSON ({exc}); expected an object of secret names to "
                "values. It was left as it is: fix or remove it by hand"
            ) from None
        if not isinstance(data, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in data.items()
        ):
            raise SecretsUnavailable(
                f"{path}: expected a JSON object of secret names to string values; it was "
                "left as it is: fix or remove it by hand"
            )
        return data

    def _write_file(self, name: str, value: str) -> None:
        """Atomically rewrite the opt-in file with ``name`` set; 0600 from the first byte."""
        data = self._read_file()  # raises on an unsafe or corrupt file: never overwrite it
        path = self.insecure_path
        assert path is not None
        data[name] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchmod(handle.fileno(), 0o600)
                json.dump(data, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
