"""What can go wrong talking to Slack, and keeping tokens out of every message about it."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from slack_sdk.errors import SlackApiError

from desktop.core.errors import HonkError

__all__ = [
    "FATAL_AUTH_ERRORS",
    "Redactor",
    "SlackCallRefused",
    "SlackError",
    "SlackUnavailable",
    "redacting_logger",
    "retry_after",
]

# Errors no retry can fix: the token is wrong, revoked, or of the wrong kind.
FATAL_AUTH_ERRORS = frozenset({
    "not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
    "not_allowed_token_type", "missing_scope", "no_permission", "team_access_not_granted",
})
# Every Slack token kind starts like this (bot, user, app-level, refresh, config, ...).
_TOKEN_SHAPE = re.compile(r"\bx(?:ox[a-z]|app)-[A-Za-z0-9-]+")
_HIDDEN = "[redacted]"


class SlackError(HonkError):
    """A Slack call failed. ``method`` is the Web API method, ``error`` Slack's error code
    (or a short reason), ``status`` the HTTP status when there was one."""

    def __init__(self, method: str, error: str, *, status: int | None = None) -> None:
        self.method, self.error, self.status = method, redact(error), status
        shown = f" (HTTP {status})" if status not in (None, 200) else ""
        super().__init__(f"Slack {method} failed: {self.error}{shown}")


class SlackCallRefused(SlackError):
    """Slack answered ``ok: false``: a bad token, a missing channel, a missing scope, ..."""

    @property
    def fatal(self) -> bool:
        """True when the token itself was refused, so retrying cannot help."""
        return self.error in FATAL_AUTH_ERRORS


class SlackUnavailable(SlackError):
    """No usable answer: still rate limited, 5xx or unreachable after the retries."""


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with the given secrets and anything shaped like a Slack token hidden."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, _HIDDEN)
    return _TOKEN_SHAPE.sub(_HIDDEN, text)


class Redactor(logging.Filter):
    """A logging filter that renders each record, then hides the secrets in it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def __call__(self, text: str) -> str:
        return redact(text, self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def redacting_logger(name: str, redactor: Redactor) -> logging.Logger:
    """A logger for the SDK's own messages, filtered by ``redactor``. It is not registered
    with ``logging`` (so it dies with its connection) but still propagates to ``name``."""
    logger = logging.Logger(f"{name}.sdk")
    logger.parent = logging.getLogger(name)
    logger.addFilter(redactor)
    return logger


def retry_after(error: SlackApiError) -> float:
    """Seconds a 429 asks us to wait (``Retry-After``; 1 when it is missing or odd)."""
    headers = {str(k).lower(): v for k, v in (error.response.headers or {}).items()}
    value = headers.get("retry-after", "1")
    try:
        return max(0.0, float(value[0] if isinstance(value, list) else value))
    except (TypeError, ValueError, IndexError):
        return 1.0
