"""One Slack app connection for an asyncio program: Web API calls and Socket Mode requests.

slack_sdk is blocking and threaded, so every Web API call runs in a worker thread and every
Socket Mode envelope is acknowledged in the SDK's own thread before anything else happens
(Slack wants the ack within 3 s), then handed to the loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web import SlackResponse, WebClient

from desktop.adapters.slack.errors import (
    Redactor,
    SlackCallRefused,
    SlackError,
    SlackUnavailable,
    redacting_logger,
    retry_after,
)
from desktop.adapters.slack.inbound import SeenRequests, SlackRequest
from desktop.adapters.slack.socket_mode import (
    Backoff,
    SocketState,
    SocketStatus,
    SupervisedSocketModeClient,
)

__all__ = ["SlackConnection"]

_log = logging.getLogger(__name__)
RequestHandler = Callable[[SlackRequest], None]
StateHandler = Callable[[SocketStatus], None]


def _form_value(value: Any) -> Any:
    """Form bodies carry blocks and other structures as JSON text."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


class SlackConnection:
    """A Slack app's Web API client (bot token) and Socket Mode link (app token).

    ``on_request`` runs on ``loop`` once per new request, already acknowledged; repeats
    (same envelope, same event, same button press) are dropped. ``on_state`` runs on ``loop``
    for each connection state change. Use ``async with`` or ``start()``/``close()``.
    ``close()`` ends Socket Mode only: Web API calls keep working after it (a server can
    still report where its work stands on the way out).
    """

    def __init__(self, *, bot_token: str, app_token: str, loop: asyncio.AbstractEventLoop,
                 on_request: RequestHandler, on_state: StateHandler | None = None,
                 api_url: str = "https://slack.com/api/", ping_interval: float = 5.0,
                 pong_timeout: float | None = None, keepalive_interval: float | None = 60.0,
                 max_attempts: int = 5, max_retry_wait: float = 60.0,
                 timeout: int = 30) -> None:
        self.api_url = api_url
        self._app_token = app_token
        self._loop = loop
        self._on_request, self._on_state = on_request, on_state
        self._ping_interval = ping_interval
        # Normally a pong comes within one ping interval; the SDK's own check needs 5 failed
        # pings (25 s at the default 5 s) to notice a socket the server half-closed.
        self._pong_timeout = pong_timeout or 2 * ping_interval + 1.0
        self._keepalive_interval = keepalive_interval
        self._max_attempts, self._max_retry_wait = max_attempts, max_retry_wait
        self._redact = Redactor([bot_token, app_token])
        self._sdk_log = redacting_logger(__name__, self._redact)
        # No SDK retry handlers: we retry here, on the loop, so no worker thread sleeps.
        self._web = WebClient(token=bot_token, base_url=api_url, timeout=timeout,
                              logger=self._sdk_log, retry_handlers=[])
        self._socket_web = WebClient(base_url=api_url, timeout=timeout, logger=self._sdk_log,
                                     retry_handlers=[])
        self._socket: SupervisedSocketModeClient | None = None
        self._seen = SeenRequests()
        self._status = SocketStatus(SocketState.CLOSED)
        self._connected = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self.identity: dict[str, Any] = {}  # auth.test's answer: user_id, team_id, bot_id

    def __repr__(self) -> str:
        return f"<SlackConnection {self.api_url} {self._status.state.value}>"

    @property
    def status(self) -> SocketStatus:
        return self._status

    @property
    def bot_user_id(self) -> str | None:
        """The bot's own user id (what ``<@...>`` mentions of it contain), after start()."""
        value = self.identity.get("user_id")
        return value if isinstance(value, str) else None

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> SlackConnection:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Check the bot token, open Socket Mode, and return once Slack said hello.

        Raises SlackCallRefused when a token is refused; transient failures are retried with
        backoff (the state callback shows them)."""
        if self._socket is not None:
            raise RuntimeError("SlackConnection.start() was already called")
        self._set_status(SocketStatus(SocketState.CONNECTING))
        try:
            self.identity = await self.call("auth.test")
        except SlackCallRefused as exc:
            self._set_status(SocketStatus(SocketState.ERROR, f"auth.test: {exc.error}"))
            raise
        self._socket = SupervisedSocketModeClient(
            app_token=self._app_token, web_client=self._socket_web, logger=self._sdk_log,
            redactor=self._redact, ping_interval=self._ping_interval, backoff=Backoff(),
            report=self._report)
        self._socket.socket_mode_request_listeners.append(self._on_envelope)
        while not self._closing:
            try:
                await asyncio.to_thread(self._socket.connect)
                break
            except SlackCallRefused:
                raise  # the state is already "error"
            except SlackError:
                continue  # reported as "reconnecting"; the next attempt backs off
            except Exception as exc:  # the SDK's connect() raises whatever the socket raised
                self._report(SocketStatus(SocketState.RECONNECTING, self._redact(str(exc))))
        if self._closing:
            return
        self._supervisor = self._loop.create_task(self._supervise())
        await self._connected.wait()

    async def close(self) -> None:
        """Close the socket and join the SDK's threads (idempotent)."""
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
        if self._socket is not None:
            await asyncio.to_thread(self._socket.close)
        self._set_status(SocketStatus(SocketState.CLOSED))
        self._connected.set()  # releases a start() still waiting

    async def _supervise(self) -> None:
        """Pong watchdog every ping interval; ``auth.test`` every keepalive interval."""
        assert self._socket is not None
        since_keepalive = 0.0
        while True:
            await asyncio.sleep(self._ping_interval)
            try:
                await asyncio.to_thread(self._socket.reconnect_if_silent, self._pong_timeout)
            except Exception as exc:  # reported as a state already; the monitor retries
                _log.warning("Slack reconnect failed: %s", self._redact(str(exc)))
            since_keepalive += self._ping_interval
            if self._keepalive_interval is None or since_keepalive < self._keepalive_interval:
                continue
            since_keepalive = 0.0
            try:
                await self.call("auth.test")
            except SlackCallRefused as exc:
                _log.warning("Slack keepalive refused: %s", exc)
                if exc.fatal:
                    self._set_status(SocketStatus(SocketState.ERROR, f"auth.test: {exc.error}"))
            except SlackError as exc:
                _log.warning("Slack keepalive failed: %s", exc)

    # -- Socket Mode (SDK threads) -------------------------------------------------------

    def _on_envelope(self, client: BaseSocketModeClient, envelope: SocketModeRequest) -> None:
        try:  # ack before any work: Slack redelivers what is not acked within 3 s
            client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope.envelope_id))
        except Exception as exc:  # Slack will redeliver it, and dedup covers that
            _log.warning("Slack ack failed: %s", self._redact(f"{type(exc).__name__}: {exc}"))
        request = SlackRequest(envelope.type, envelope.envelope_id, envelope.payload,
                               envelope.retry_attempt or 0, envelope.retry_reason or "")
        if not self._seen.first_time(request):
            _log.debug("Slack repeat dropped: %s %s", request.kind, request.envelope_id)
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody to tell
            self._loop.call_soon_threadsafe(self._deliver, request)

    def _deliver(self, request: SlackRequest) -> None:
        # Delivered even once close() began: it was acknowledged, so Slack will not send it
        # again, and dropping it would lose a person's request. None come after close()
        # returns (it joins the threads that ack).
        try:
            self._on_request(request)
        except Exception:
            _log.exception("Slack request handler failed (%s)", request.kind)

    def _report(self, status: SocketStatus) -> None:
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._set_status, status)

    def _set_status(self, status: SocketStatus) -> None:
        if status == self._status or (self._status.state is SocketState.CLOSED
                                      and self._closing):
            return
        self._status = status
        if status.state is SocketState.CONNECTED:
            self._connected.set()
        if self._on_state is not None:
            self._on_state(status)

    # -- Web API -------------------------------------------------------------------------

    async def call(self, method: str, /, **params: Any) -> dict[str, Any]:
        """Call a Web API method with the bot token and return Slack's answer.

        429s wait out ``Retry-After`` and 5xx/network errors back off, up to ``max_attempts``
        tries and ``max_retry_wait`` seconds of waiting (SlackUnavailable after that). A
        retried write may land twice if Slack did it but failed to answer.
        Raises SlackCallRefused for ``ok: false``."""
        form = {k: _form_value(v) for k, v in params.items() if v is not None}
        return await self._with_retries(method, lambda: self._web.api_call(method, params=form))

    async def upload_file(self, *, channel: str, thread_ts: str | None, filename: str,
                          data: bytes, title: str | None = None,
                          initial_comment: str | None = None) -> dict[str, Any]:
        """Upload ``data`` into a channel or thread (``files_upload_v2``: get an upload URL,
        POST the bytes, complete the upload). Returns the file object."""
        def upload() -> SlackResponse:
            return self._web.files_upload_v2(
                channel=channel, thread_ts=thread_ts, filename=filename, file=data,
                title=title or filename, initial_comment=initial_comment)

        answer = await self._with_retries("files.upload_v2", upload)
        file = answer.get("file")
        return file if isinstance(file, dict) else answer

    async def _with_retries(self, method: str,
                            send: Callable[[], SlackResponse]) -> dict[str, Any]:
        waited = 0.0
        for attempt in itertools.count(1):
            outcome = await self._attempt(method, send, attempt)
            if isinstance(outcome, dict):
                return outcome
            problem, delay = outcome
            if delay is None or attempt >= self._max_attempts or (
                    waited + delay > self._max_retry_wait):
                # Raised outside any except block, so no __context__ keeps the SDK's
                # request (whose headers hold the token) alive in a traceback.
                raise problem
            _log.info("Slack %s: %s; retrying in %.1f s", method, problem.error, delay)
            await asyncio.sleep(delay)
            waited += delay
        raise AssertionError("unreachable")

    async def _attempt(self, method: str, send: Callable[[], SlackResponse],
                       attempt: int) -> dict[str, Any] | tuple[SlackError, float | None]:
        """Slack's answer, or the error with how long to wait before retrying (None: don't)."""
        try:
            response = await asyncio.to_thread(send)
        except SlackApiError as exc:
            failed = str(exc.response.api_url or method).rsplit("/", 1)[-1] or method
            status = int(exc.response.status_code)
            error = str(exc.response.get("error") or f"HTTP {status}")
            if status == 429:
                return SlackUnavailable(failed, error, status=status), retry_after(exc)
            if status >= 500:
                return SlackUnavailable(failed, error, status=status), self._backoff(attempt)
            return SlackCallRefused(failed, error, status=status), None
        except SlackRequestError as exc:  # the SDK's own checks, or the upload POST
            return SlackError(method, self._redact(str(exc))), None
        except OSError as exc:  # unreachable, reset, timed out
            reason = self._redact(f"{type(exc).__name__}: {exc}")
            return SlackUnavailable(method, reason), self._backoff(attempt)
        data = response.data
        return dict(data) if isinstance(data, dict) else {"ok": True}

    @staticmethod
    def _backoff(attempt: int) -> float:
        return min(8.0, 0.25 * 2.0 ** (attempt - 1)) * random.uniform(0.75, 1.25)
