"""slack_sdk's builtin Socket Mode client, with the gaps we measured filled in.

What the builtin client (slack_sdk 3.48) already does, and we rely on: every reconnect asks
``apps.connections.open`` for a fresh URL; a ``disconnect`` envelope reconnects at once;
a close frame, a connection reset or a missed-pong timeout (4 x ``ping_interval``)
reconnects on the next monitor tick (every ``ping_interval`` seconds).

What this subclass adds:
- Backoff between consecutive failed attempts (the builtin retries every tick, forever),
  honouring ``Retry-After``, and no retries at all once the app token is refused.
- State reports: connecting, connected (on ``hello``), reconnecting(reason), error(reason).
- After a ``disconnect`` the builtin closes the old socket only once its reader's blocking
  ``recv`` returns, which is up to its 3 s socket timeout; meanwhile nothing is read from
  the new socket either. We shorten that timeout on the retiring socket to 0.2 s.
- When the server closes TCP without a close frame, the builtin's reader spins on empty
  reads and its pings fail with BrokenPipe; it gives up only after 5 failed pings. A pong
  watchdog (``reconnect_if_silent``) replaces such a socket sooner.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError, SlackClientNotConnectedError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.web import WebClient

from desktop.adapters.slack.errors import (
    FATAL_AUTH_ERRORS,
    Redactor,
    SlackCallRefused,
    SlackUnavailable,
    retry_after,
)

__all__ = ["Backoff", "SocketState", "SocketStatus", "SupervisedSocketModeClient"]

_RETIRING_RECV_TIMEOUT = 0.2  # seconds; the builtin uses 3 s


class SocketState(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    ERROR = "error"  # the token was refused; no more attempts
    CLOSED = "closed"


@dataclass(frozen=True)
class SocketStatus:
    state: SocketState
    reason: str = ""


class Backoff:
    """Delays between consecutive failed connection attempts: 0, then exponential."""

    def __init__(self, *, base: float = 0.5, cap: float = 30.0) -> None:
        self.base, self.cap = base, cap
        self._failures = 0
        self._floor = 0.0
        self._lock = threading.Lock()

    def next_delay(self) -> float:
        with self._lock:
            delay = 0.0 if self._failures == 0 else min(
                self.cap, self.base * 2.0 ** (self._failures - 1)) * random.uniform(0.5, 1.0)
            delay, self._floor = max(delay, self._floor), 0.0
            self._failures += 1
            return delay

    def at_least(self, seconds: float) -> None:
        """The next delay is at least ``seconds`` (a ``Retry-After``)."""
        with self._lock:
            self._floor = max(self._floor, seconds)

    def reset(self) -> None:
        with self._lock:
            self._failures = 0


class SupervisedSocketModeClient(SocketModeClient):
    """The builtin client plus backoff, state reports and faster socket replacement."""

    def __init__(self, *, app_token: str, web_client: WebClient, logger: logging.Logger,
                 redactor: Redactor, ping_interval: float, backoff: Backoff,
                 report: Callable[[SocketStatus], None]) -> None:
        self._report, self._redact, self._backoff = report, redactor, backoff
        self._stopping = threading.Event()
        self._status = SocketStatus(SocketState.CONNECTING)
        self._status_lock = threading.Lock()
        self._watched: tuple[str, float] = ("", 0.0)  # (session id, first seen)
        super().__init__(
            app_token=app_token, logger=logger, web_client=web_client,
            auto_reconnect_enabled=True, ping_interval=ping_interval,
            on_message_listeners=[self._saw_message], on_error_listeners=[self._saw_error],
            on_close_listeners=[self._saw_close])

    def __repr__(self) -> str:
        return f"<SupervisedSocketModeClient {self._status.state.value}>"

    @property
    def status(self) -> SocketStatus:
        return self._status

    def _set(self, state: SocketState, reason: str = "") -> None:
        status = SocketStatus(state, self._redact(reason))
        with self._status_lock:
            stuck = self._status.state in (SocketState.ERROR, SocketState.CLOSED)
            if status == self._status or (stuck and state is not SocketState.CLOSED):
                return
            if self._stopping.is_set() and state is not SocketState.CLOSED:
                return
            self._status = status
        self._report(status)

    # -- overrides -----------------------------------------------------------------------

    def issue_new_wss_url(self) -> str:
        """``apps.connections.open``, after the backoff delay; stops for good on auth errors."""
        if self._status.state is SocketState.CONNECTED:
            self._set(SocketState.RECONNECTING, "connection lost")
        delay = self._backoff.next_delay()
        if self._stopping.wait(delay) if delay > 0 else self._stopping.is_set():
            raise SlackClientNotConnectedError("the Socket Mode client is closing")
        failure: Exception | None = None
        try:
            response = self.web_client.apps_connections_open(app_token=self.app_token)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "unknown_error")
            status = exc.response.status_code
            if error in FATAL_AUTH_ERRORS:
                self.auto_reconnect_enabled = False
                self._set(SocketState.ERROR, f"apps.connections.open: {error}")
                failure = SlackCallRefused("apps.connections.open", error, status=status)
            else:
                if status == 429:
                    self._backoff.at_least(retry_after(exc))
                self._set(SocketState.RECONNECTING, f"apps.connections.open: {error}")
                failure = SlackUnavailable("apps.connections.open", error, status=status)
        except OSError as exc:  # URLError, timeouts, refused connections
            reason = self._redact(f"{type(exc).__name__}: {exc}")
            self._set(SocketState.RECONNECTING, f"apps.connections.open: {reason}")
            failure = SlackUnavailable("apps.connections.open", reason)
        if failure is not None:
            raise failure  # outside the except: no __context__ holding the request headers
        return str(response["url"])

    def connect(self) -> None:
        if self._stopping.is_set():
            raise SlackClientNotConnectedError("the Socket Mode client is closed")
        super().connect()
        if self._stopping.is_set():  # close() ran while we were connecting
            self.disconnect()

    def close(self) -> None:
        """Stop for good. Wakes the reader's blocking ``recv`` first, which would otherwise
        hold the socket lock that ``disconnect()`` waits for (up to 3 s), and the message
        processor's 1 s queue wait."""
        self._stopping.set()
        self.auto_reconnect_enabled = False
        self.closed = True
        self.message_queue.put(None)
        self.current_session_state.terminated = True
        session = self.current_session
        sock = session.sock if session is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RD)
        super().close()
        self._set(SocketState.CLOSED)

    # -- listeners (called from the SDK's threads) ---------------------------------------

    def _saw_message(self, raw: str) -> None:
        if not raw.startswith("{"):
            return
        try:
            message = json.loads(raw)
        except ValueError:
            return
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "hello":
            self._backoff.reset()
            self._set(SocketState.CONNECTED)
        elif kind == "disconnect":
            reason = str(message.get("reason") or "disconnect")
            self._set(SocketState.RECONNECTING, f"Slack asked to reconnect ({reason})")
            session = self.current_session  # the one being read now, soon to be replaced
            if session is not None and session.sock is not None:
                session.sock.settimeout(_RETIRING_RECV_TIMEOUT)

    def _saw_error(self, error: Exception) -> None:
        self._set(SocketState.RECONNECTING, f"{type(error).__name__}: {error}")

    def _saw_close(self, code: int, reason: str | None) -> None:
        self._set(SocketState.RECONNECTING, f"closed by Slack ({code} {reason or ''})".strip())

    # -- pong watchdog -------------------------------------------------------------------

    def reconnect_if_silent(self, silent_for: float) -> bool:
        """Replace the socket if no pong came for ``silent_for`` seconds; True if it did."""
        session = self.current_session
        if session is None or not session.is_active() or self._stopping.is_set():
            return False
        now = time.time()
        if self._watched[0] != session.session_id:
            self._watched = (session.session_id, now)
        heard = max(session.last_ping_pong_time or 0.0, self._watched[1])
        if now - heard <= silent_for:
            return False
        self._set(SocketState.RECONNECTING, f"no pong for {silent_for:.1f} s")
        self.connect_to_new_endpoint(force=True)
        return True
