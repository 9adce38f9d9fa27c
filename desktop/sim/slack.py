"""A loopback Slack workspace: the Web API methods and Socket Mode a Slack app uses.

The real ``slack_sdk.WebClient(base_url=fake.api_url)`` and the real builtin
``slack_sdk.socket_mode.builtin.SocketModeClient`` work against it unchanged. Shapes and
error codes follow Slack's reference (https://docs.slack.dev/reference/methods/<name>):

- ``auth.test``
- ``apps.connections.open``: needs the ``xapp-`` token; answers a ``ws://.../link/?ticket=``
  URL that works once ("Using Socket Mode",
  https://docs.slack.dev/apis/events-api/using-socket-mode/). The WebSocket itself (hello,
  envelopes, acks, ``disconnect``) lives in ``desktop/sim/slack_ws.py``.
- ``chat.postMessage`` (``thread_ts``, ``blocks``, ``text``), ``chat.update``,
  ``chat.postEphemeral``
- ``users.info`` (``real_name``, ``profile.display_name`` from a directory)
- ``files.getUploadURLExternal``, the POST of the bytes to its ``upload_url``, then
  ``files.completeUploadExternal`` ("Uploading files",
  https://docs.slack.dev/messaging/working-with-files/#upload); the file shows up as a
  message in the channel or thread.
- ``response_url`` POSTs for slash commands and block actions ("Handling user interaction",
  https://docs.slack.dev/interactivity/handling-user-interaction/).

Bodies may be form-encoded or JSON; the token comes as ``Authorization: Bearer``. Errors
are HTTP 200 with ``ok: false`` as Slack answers them: no token ``not_authed``, a wrong one
``invalid_auth``, the other kind of token ``not_allowed_token_type``, an unknown method
``unknown_method``. Injected rate limits are HTTP 429 with ``Retry-After``
(https://docs.slack.dev/apis/web-api/rate-limits/).

Not modelled: the bot's own posts are not echoed back as ``message`` events, and
unacknowledged envelopes are not retried by themselves (call ``redeliver``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from desktop.sim.slack_ws import Ack, Envelopes, LoopbackServer, SocketModeHub, new_id

__all__ = ["Ack", "Ephemeral", "FakeSlack", "RecordedCall", "SlackFile", "SlackMessage"]

T = TypeVar("T")


@dataclass(frozen=True)
class RecordedCall:
    """One HTTP request as received: ``method`` is the API method, or ``websocket``,
    ``upload`` or ``hook`` for the other paths. ``at`` is when it was answered
    (``time.monotonic()``), so tests can measure how often a method is called."""

    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    params: dict[str, Any]
    status: int
    at: float = 0.0


@dataclass(frozen=True)
class SlackMessage:
    channel: str
    ts: str
    text: str
    user: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None
    bot_id: str | None = None
    files: tuple[str, ...] = ()  # file ids
    edits: int = 0


@dataclass(frozen=True)
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    ts: str


@dataclass(frozen=True)
class SlackFile:
    id: str
    name: str
    title: str
    data: bytes
    channel: str | None
    thread_ts: str | None


@dataclass
class _Upload:
    name: str
    length: int
    data: bytes | None = None


@dataclass(frozen=True)
class _Fault:
    status: int
    error: str
    retry_after: int | None = None


def _parse(query: str, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if headers.get("content-type", "").startswith("application/json"):
        data = json.loads(body or b"{}")
        params.update(data if isinstance(data, dict) else {})
    elif body:
        params.update({k: v[-1] for k, v in
                       parse_qs(body.decode("utf-8"), keep_blank_values=True).items()})
    return params


def _json_arg(value: Any) -> Any:
    """Form bodies carry lists and objects as JSON text."""
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


class FakeSlack:
    """``with FakeSlack() as slack:`` then ``WebClient(token=slack.bot_token, base_url=slack.api_url)``."""

    def __init__(self, *, bot_token: str = "xoxb-1-fake-bot-token",
                 app_token: str = "xapp-1-A0HONK-fake-app-token", team_id: str = "T0FAKE",
                 bot_user_id: str = "U0HONKBOT", bot_id: str = "B0HONKBOT",
                 app_id: str = "A0HONK",
                 users: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.bot_token, self.app_token = bot_token, app_token
        self.team_id, self.bot_user_id, self.bot_id, self.app_id = (
            team_id, bot_user_id, bot_id, app_id)
        # user id -> (real_name, display_name)
        self.users: dict[str, tuple[str, str]] = dict(users or {"U0ADA": ("Ada Lovelace", "ada")})
        self.hub = SocketModeHub(app_id=app_id, on_ack=self._on_ack)
        self.envelopes = Envelopes(team_id, app_id, bot_user_id)
        self._lock = threading.RLock()
        self._calls: list[RecordedCall] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._messages: list[SlackMessage] = []
        self._ephemerals: list[Ephemeral] = []
        self._uploads: dict[str, _Upload] = {}
        self._files: list[SlackFile] = []
        self._hooks: dict[str, dict[str, str]] = {}  # response_url key -> context
        self._last_ts = 0
        self._wire = LoopbackServer(route=self._route, record=self._record, hub=self.hub)

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> FakeSlack:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Listen on 127.0.0.1 on a free port."""
        self._wire.start()

    def stop(self) -> None:
        """Close every WebSocket, stop serving and join all server threads."""
        self._wire.stop()

    @property
    def base_url(self) -> str:
        return self._wire.base_url

    @property
    def api_url(self) -> str:
        """Pass as ``base_url`` to ``WebClient``."""
        return f"{self.base_url}/api/"

    # -- fault injection -----------------------------------------------------------------

    def rate_limit(self, method: str, *, times: int = 1, retry_after: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer 429 with ``Retry-After``."""
        self._add_fault(method, times, _Fault(429, "ratelimited", retry_after))

    def server_error(self, method: str, *, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls of ``method`` answer an HTTP 5xx."""
        self._add_fault(method, times, _Fault(status, "internal_error"))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._add_fault(method, times, _Fault(200, error))

    def _add_fault(self, method: str, times: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    # -- HTTP routing --------------------------------------------------------------------

    def _record(self, method: str, path: str, headers: dict[str, str],
                params: dict[str, Any], status: int) -> None:
        with self._lock:
            self._calls.append(RecordedCall(method, path, headers, params, status,
                                            time.monotonic()))

    def _route(self, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(target)
        if split.path.startswith("/upload/v1/"):
            status, reply = self._receive_upload(split.path.rsplit("/", 1)[-1], body)
            self._record("upload", target, headers, {"bytes": len(body)}, status)
            return status, reply, {}
        if split.path.startswith("/hooks/"):
            data = json.loads(body or b"{}")
            status, reply = self._hook(split.path.rsplit("/", 1)[-1], data)
            self._record("hook", target, headers, data, status)
            return status, reply, {}
        method = split.path.removeprefix("/api/")
        params = _parse(split.query, headers, body)
        status, answer, extra = self._call(method, headers, dict(params))
        self._record(method, target, headers, params, status)
        return status, answer, extra

    def _call(self, method: str, headers: dict[str, str],
              params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            queue = self._faults.get(method)
            fault = queue.popleft() if queue else None
        if fault is not None:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return fault.status, {"ok": False, "error": fault.error}, extra
        action = self._methods().get(method)
        if action is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth else str(params.pop("token", ""))
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if not token:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if token != wanted:
            known = token in (self.app_token, self.bot_token)
            return 200, {"ok": False, "error": "not_allowed_token_type" if known
                         else "invalid_auth"}, {}
        with self._lock:
            reply = action(params)
        return 200, reply, {}

    def _methods(self) -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
        return {
            "auth.test": self._auth_test,
            "apps.connections.open": self._connections_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }

    # -- Web API methods (called with the lock held) -------------------------------------

    def _next_ts(self) -> str:
        micros = max(int(time.time() * 1_000_000), self._last_ts + 1)
        self._last_ts = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake-team.slack.com/", "team": "Fake Team",
                "user": "honk", "team_id": self.team_id, "user_id": self.bot_user_id,
                "bot_id": self.bot_id, "is_enterprise_install": False}

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = self.hub.issue_ticket()
        host = self.base_url.removeprefix("http://")
        return {"ok": True, "url": f"ws://{host}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _message_json(self, m: SlackMessage) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": m.user, "text": m.text, "ts": m.ts,
                               "team": self.team_id}
        extras = {"blocks": m.blocks, "thread_ts": m.thread_ts, "bot_id": m.bot_id,
                  "files": [{"id": f} for f in m.files] or None,
                  "edited": {"user": m.user, "ts": m.ts} if m.edits else None}
        out.update({k: v for k, v in extras.items() if v is not None})
        return out

    def _add_message(self, channel: str, user: str, text: str, *,
                     blocks: Any = None, thread_ts: str | None = None,
                     files: tuple[str, ...] = ()) -> SlackMessage:
        bot = self.bot_id if user == self.bot_user_id else None
        message = SlackMessage(channel, self._next_ts(), text, user, blocks,
                               thread_ts or None, bot, files)
        self._messages.append(message)
        return message

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        blocks = _json_arg(params.get("blocks"))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        if blocks is not None and not isinstance(blocks, list):
            return {"ok": False, "error": "invalid_blocks"}
        m = self._add_message(channel, self.bot_user_id, str(params.get("text") or ""),
                              blocks=blocks, thread_ts=params.get("thread_ts"))
        return {"ok": True, "channel": channel, "ts": m.ts, "message": self._message_json(m)}

    def _find(self, channel: str, ts: str) -> int | None:
        for i, m in enumerate(self._messages):
            if (m.channel, m.ts) == (channel, ts):
                return i
        return None

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        index = self._find(channel, ts)
        if index is None:
            return {"ok": False, "error": "message_not_found"}
        old = self._messages[index]
        if old.user != self.bot_user_id:
            return {"ok": False, "error": "cant_update_message"}
        blocks = _json_arg(params["blocks"]) if "blocks" in params else old.blocks
        text = str(params["text"]) if "text" in params else old.text
        new = replace(old, text=text, blocks=blocks, edits=old.edits + 1)
        self._messages[index] = new
        return {"ok": True, "channel": channel, "ts": ts, "text": text,
                "message": self._message_json(new)}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = str(params.get("channel") or ""), str(params.get("user") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        blocks = _json_arg(params.get("blocks"))
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        self._ephemerals.append(Ephemeral(channel, user, str(params.get("text") or ""),
                                          blocks, params.get("thread_ts"), ts))
        return {"ok": True, "message_ts": ts}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("user") or "")
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        real, display = self.users[user]
        return {"ok": True, "user": {
            "id": user, "team_id": self.team_id, "name": display or user, "deleted": False,
            "real_name": real, "tz": "Europe/London", "is_bot": False,
            "profile": {"real_name": real, "display_name": display,
                        "real_name_normalized": real, "display_name_normalized": display}}}

    def _upload_url(self, params: dict[str, Any]) -> dict[str, Any]:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length") or 0)
        except ValueError:
            length = 0
        if not filename or length <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        file_id = "F" + new_id().replace("-", "")[:10].upper()
        self._uploads[file_id] = _Upload(filename, length)
        return {"ok": True, "file_id": file_id,
                "upload_url": f"{self.base_url}/upload/v1/{file_id}"}

    def _receive_upload(self, file_id: str, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            upload = self._uploads.get(file_id)
            if upload is None:
                return 404, b"not found"
            upload.data = body
        return 200, f"OK - {len(body)}".encode()

    def _complete_upload(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = _json_arg(params.get("files"))
        if not isinstance(entries, list) or not entries:
            return {"ok": False, "error": "invalid_arguments"}
        done: list[SlackFile] = []
        channel, thread_ts = params.get("channel_id") or None, params.get("thread_ts") or None
        for entry in entries:
            upload = self._uploads.get(str(entry.get("id")))
            if upload is None or upload.data is None:
                return {"ok": False, "error": "file_not_found"}
            done.append(SlackFile(str(entry["id"]), upload.name,
                                  str(entry.get("title") or upload.name), upload.data,
                                  channel, thread_ts))
        for f in done:
            self._uploads.pop(f.id)
        self._files.extend(done)
        if channel:
            self._add_message(channel, self.bot_user_id, str(params.get("initial_comment") or ""),
                              thread_ts=thread_ts, files=tuple(f.id for f in done))
        return {"ok": True, "files": [
            {"id": f.id, "name": f.name, "title": f.title, "size": len(f.data),
             "mimetype": "application/octet-stream",
             "shares": {"public": {channel: [{"ts": thread_ts}]}} if channel else {}}
            for f in done]}

    def _hook(self, key: str, data: dict[str, Any]) -> tuple[int, bytes]:
        with self._lock:
            context = self._hooks.get(key)
            if context is None:
                return 404, b"no_such_hook"
            self._respond(context, data)
        return 200, b"ok"

    def _respond(self, context: Mapping[str, str], data: Mapping[str, Any]) -> None:
        """A response_url or ack payload: replace the clicked message, post, or whisper."""
        text, blocks = str(data.get("text") or ""), data.get("blocks")
        channel, user = context["channel"], context["user"]
        clicked = context.get("message_ts")
        if data.get("replace_original") and clicked:
            self._update({"channel": channel, "ts": clicked, "text": text, "blocks": blocks})
        elif data.get("response_type") == "in_channel":
            self._add_message(channel, self.bot_user_id, text, blocks=blocks,
                              thread_ts=data.get("thread_ts"))
        elif text or blocks:
            self._ephemerals.append(Ephemeral(channel, user, text, blocks,
                                              data.get("thread_ts"), self._next_ts()))

    def _on_ack(self, ack: Ack) -> None:
        if not ack.payload:
            return
        with self._lock:
            context = self._hooks.get(ack.envelope_id)
            if context is not None:
                self._respond(context, ack.payload)

    # -- the phone: what people in the workspace do ----------------------------------------

    def im_channel(self, user: str) -> str:
        """The id of the bot's direct-message channel with ``user``."""
        return "D" + user[1:]

    def _name(self, user: str) -> str:
        return self.users.get(user, ("", ""))[1] or user

    def _hook_url(self, context: dict[str, str]) -> tuple[str, str]:
        key = new_id().replace("-", "")
        with self._lock:
            self._hooks[key] = context
        return key, f"{self.base_url}/hooks/{key}"

    def _human(self, user: str, channel: str, text: str,
               thread_ts: str | None) -> SlackMessage:
        with self._lock:
            return self._add_message(channel, user, text, thread_ts=thread_ts)

    def _message_event(self, kind: str, m: SlackMessage, **extra: Any) -> str:
        with self._lock:
            message = self._message_json(m) | {"channel": m.channel}
        return self.hub.deliver(self.envelopes.message_event(kind, message, **extra))

    def slash_command(self, user: str, channel: str, text: str, *,
                      command: str = "/honk") -> str:
        """``user`` types ``/honk text`` in ``channel``; returns the envelope id."""
        trigger = new_id()
        key, url = self._hook_url({"channel": channel, "user": user})
        envelope = self.envelopes.slash_command(
            user=user, user_name=self._name(user), channel=channel, command=command,
            text=text, response_url=url, trigger_id=trigger)
        with self._lock:  # an ack carrying a payload answers like the response_url
            self._hooks[envelope["envelope_id"]] = self._hooks[key]
        return self.hub.deliver(envelope)

    def mention(self, user: str, channel: str, text: str, *,
                thread_ts: str | None = None) -> str:
        """``user`` writes ``<@BOT> text`` in ``channel``: an ``app_mention`` event."""
        tag = f"<@{self.bot_user_id}>"
        body = text if tag in text else f"{tag} {text}"
        return self._message_event("app_mention", self._human(user, channel, body, thread_ts))

    def direct_message(self, user: str, text: str) -> str:
        """``user`` writes to the bot directly: a ``message`` event with ``channel_type: im``."""
        m = self._human(user, self.im_channel(user), text, None)
        return self._message_event("message", m, channel_type="im")

    def thread_reply(self, user: str, channel: str, thread_ts: str, text: str) -> str:
        """``user`` answers in a thread: a ``message`` event carrying ``thread_ts``."""
        with self._lock:
            index = self._find(channel, thread_ts)
            parent = self._messages[index].user if index is not None else None
        m = self._human(user, channel, text, thread_ts)
        kind = "im" if channel.startswith("D") else "channel"
        extra = {"parent_user_id": parent} if parent else {}
        return self._message_event("message", m, channel_type=kind, **extra)

    def click(self, user: str, channel: str, message_ts: str, action_id: str,
              value: str) -> str:
        """``user`` presses the button ``action_id`` on a message: ``block_actions``."""
        with self._lock:
            index = self._find(channel, message_ts)
            assert index is not None, f"no message {message_ts} in {channel}"
            message = self._message_json(self._messages[index])
        _key, url = self._hook_url({"channel": channel, "user": user, "message_ts": message_ts})
        return self.hub.deliver(self.envelopes.block_actions(
            user=user, user_name=self._name(user), channel=channel, message=message,
            action_id=action_id, value=value, action_ts=self._stamp(), response_url=url,
            trigger_id=new_id()))

    def _stamp(self) -> str:
        with self._lock:
            return self._next_ts()

    def redeliver(self, envelope_id: str, *, reason: str = "timeout",
                  new_envelope_id: bool = False) -> str:
        """Send an envelope again, ``retry_attempt`` + 1; returns the id it went out with."""
        return self.hub.redeliver(envelope_id, reason=reason, new_envelope_id=new_envelope_id)

    def envelope(self, envelope_id: str) -> dict[str, Any]:
        """The envelope as last sent (to read e.g. a mention's ``ts``)."""
        return self.hub.envelope(envelope_id)

    def send_disconnect(self, reason: str = "refresh_requested") -> None:
        """``{"type": "disconnect"}``: Slack asks the app to reconnect."""
        self.hub.send_disconnect(reason)

    def close_socket(self, code: int = 1001) -> None:
        """A WebSocket close frame from the server side."""
        self.hub.close_link(code)

    def drop_socket(self, *, reset: bool = True) -> None:
        """Cut the live WebSocket's TCP connection, no close frame: RST, or FIN if not ``reset``."""
        self.hub.drop(reset=reset)

    # -- inspection ----------------------------------------------------------------------

    def messages(self, channel: str, thread_ts: str | None = None, *,
                 include_humans: bool = False) -> list[SlackMessage]:
        """What the bot posted, updates applied, in posting order: top level when
        ``thread_ts`` is None (thread parents included), else that thread's replies."""
        with self._lock:
            found = [m for m in self._messages if m.channel == channel
                     and (include_humans or m.user == self.bot_user_id)]
        if thread_ts is None:
            return [m for m in found if m.thread_ts in (None, m.ts)]
        return [m for m in found if m.thread_ts == thread_ts and m.ts != thread_ts]

    def ephemerals(self, user: str) -> list[Ephemeral]:
        with self._lock:
            return [e for e in self._ephemerals if e.user == user]

    def files(self, channel: str, thread_ts: str | None = None) -> list[SlackFile]:
        with self._lock:
            return [f for f in self._files if f.channel == channel and f.thread_ts == thread_ts]

    def acks(self) -> list[Ack]:
        return self.hub.acks()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Requests received (all, or one method's; ``websocket``, ``upload``, ``hook`` too)."""
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    def live_socket(self) -> int | None:
        """Which Socket Mode connection (1, 2, ... in accept order) envelopes go to now."""
        return self.hub.live_link()

    def open_sockets(self) -> int:
        """How many Socket Mode connections are live (hello sent, not closed)."""
        return self.hub.open_links()

    @staticmethod
    def wait_for(predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Poll ``predicate`` until it returns something truthy, and return that."""
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(0.01)
        return value
