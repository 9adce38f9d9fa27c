"""The Slack stand-in's Web API: the HTTP calls a Slack app makes, answered over the workspace.

Shapes and error codes follow Slack's reference (https://docs.slack.dev/reference/methods/<name>):

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
  https://docs.slack.dev/interactivity/handling-user-interaction/), and acks that carry a
  payload, answered the same way.

Bodies may be form-encoded or JSON; the token comes as ``Authorization: Bearer``. Errors
are HTTP 200 with ``ok: false`` as Slack answers them: no token ``not_authed``, a wrong one
``invalid_auth``, the other kind of token ``not_allowed_token_type``, an unknown method
``unknown_method``. Injected rate limits are HTTP 429 with ``Retry-After``
(https://docs.slack.dev/apis/web-api/rate-limits/).
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

from desktop.sim.slack_envelopes import new_id
from desktop.sim.slack_workspace import Ephemeral, SlackFile, Workspace
from desktop.sim.slack_ws import Ack, SocketModeHub

__all__ = ["Fault", "RecordedCall", "WebApi"]


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
class Fault:
    """An injected answer for one call: an HTTP status and Slack error (and Retry-After)."""

    status: int
    error: str
    retry_after: int | None = None


@dataclass
class _Upload:
    name: str
    length: int
    data: bytes | None = None


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


class WebApi:
    """Routes the stand-in's HTTP requests (``route``), records them and answers them."""

    def __init__(self, workspace: Workspace, hub: SocketModeHub, *, bot_token: str,
                 app_token: str, app_id: str, base_url: Callable[[], str]) -> None:
        self.workspace, self.hub = workspace, hub
        self.bot_token, self.app_token, self.app_id = bot_token, app_token, app_id
        self._base_url = base_url
        self._lock = workspace.lock
        self._calls: list[RecordedCall] = []
        self._faults: dict[str, deque[Fault]] = {}
        self._uploads: dict[str, _Upload] = {}

    def add_fault(self, method: str, times: int, fault: Fault) -> None:
        """The next ``times`` calls of ``method`` answer ``fault``."""
        with self._lock:
            self._faults.setdefault(method, deque()).extend([fault] * times)

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if method in (None, c.method)]

    # -- HTTP routing --------------------------------------------------------------------

    def record(self, method: str, path: str, headers: dict[str, str],
               params: dict[str, Any], status: int) -> None:
        with self._lock:
            self._calls.append(RecordedCall(method, path, headers, params, status,
                                            time.monotonic()))

    def route(self, target: str, headers: dict[str, str],
              body: bytes) -> tuple[int, Any, dict[str, str]]:
        split = urlsplit(target)
        if split.path.startswith("/upload/v1/"):
            status, reply = self._receive_upload(split.path.rsplit("/", 1)[-1], body)
            self.record("upload", target, headers, {"bytes": len(body)}, status)
            return status, reply, {}
        if split.path.startswith("/hooks/"):
            data = json.loads(body or b"{}")
            status, reply = self._hook(split.path.rsplit("/", 1)[-1], data)
            self.record("hook", target, headers, data, status)
            return status, reply, {}
        method = split.path.removeprefix("/api/")
        params = _parse(split.query, headers, body)
        status, answer, extra = self._call(method, headers, dict(params))
        self.record(method, target, headers, params, status)
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

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        return {"ok": True, "url": "https://fake-team.slack.com/", "team": "Fake Team",
                "user": "honk", "team_id": ws.team_id, "user_id": ws.bot_user_id,
                "bot_id": ws.bot_id, "is_enterprise_install": False}

    def _connections_open(self, params: dict[str, Any]) -> dict[str, Any]:
        ticket = self.hub.issue_ticket()
        host = self._base_url().removeprefix("http://")
        return {"ok": True, "url": f"ws://{host}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _post_message(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = str(params.get("channel") or "")
        blocks = _json_arg(params.get("blocks"))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        if blocks is not None and not isinstance(blocks, list):
            return {"ok": False, "error": "invalid_blocks"}
        ws = self.workspace
        m = ws.add_message(channel, ws.bot_user_id, str(params.get("text") or ""),
                           blocks=blocks, thread_ts=params.get("thread_ts"))
        return {"ok": True, "channel": channel, "ts": m.ts, "message": ws.message_json(m)}

    def _update(self, params: dict[str, Any]) -> dict[str, Any]:
        ws = self.workspace
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        index = ws.find(channel, ts)
        if index is None:
            return {"ok": False, "error": "message_not_found"}
        old = ws.messages[index]
        if old.user != ws.bot_user_id:
            return {"ok": False, "error": "cant_update_message"}
        blocks = _json_arg(params["blocks"]) if "blocks" in params else old.blocks
        text = str(params["text"]) if "text" in params else old.text
        new = replace(old, text=text, blocks=blocks, edits=old.edits + 1)
        ws.messages[index] = new
        return {"ok": True, "channel": channel, "ts": ts, "text": text,
                "message": ws.message_json(new)}

    def _post_ephemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, user = str(params.get("channel") or ""), str(params.get("user") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not user:
            return {"ok": False, "error": "user_not_in_channel"}
        blocks = _json_arg(params.get("blocks"))
        if not params.get("text") and not blocks:
            return {"ok": False, "error": "no_text"}
        ts = self.workspace.next_ts()
        self.workspace.ephemerals.append(Ephemeral(channel, user, str(params.get("text") or ""),
                                                   blocks, params.get("thread_ts"), ts))
        return {"ok": True, "message_ts": ts}

    def _users_info(self, params: dict[str, Any]) -> dict[str, Any]:
        user = str(params.get("user") or "")
        if user not in self.workspace.users:
            return {"ok": False, "error": "user_not_found"}
        real, display = self.workspace.users[user]
        return {"ok": True, "user": {
            "id": user, "team_id": self.workspace.team_id, "name": display or user,
            "deleted": False, "real_name": real, "tz": "Europe/London", "is_bot": False,
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
                "upload_url": f"{self._base_url()}/upload/v1/{file_id}"}

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
        ws = self.workspace
        ws.files.extend(done)
        if channel:
            ws.add_message(channel, ws.bot_user_id, str(params.get("initial_comment") or ""),
                           thread_ts=thread_ts, files=tuple(f.id for f in done))
        return {"ok": True, "files": [
            {"id": f.id, "name": f.name, "title": f.title, "size": len(f.data),
             "mimetype": "application/octet-stream",
             "shares": {"public": {channel: [{"ts": thread_ts}]}} if channel else {}}
            for f in done]}

    # -- response_url hooks and acks with a payload --------------------------------------

    def _hook(self, key: str, data: dict[str, Any]) -> tuple[int, bytes]:
        with self._lock:
            context = self.workspace.hooks.get(key)
            if context is None:
                return 404, b"no_such_hook"
            self._respond(context, data)
        return 200, b"ok"

    def _respond(self, context: Mapping[str, str], data: Mapping[str, Any]) -> None:
        """A response_url or ack payload: replace the clicked message, post, or whisper."""
        ws = self.workspace
        text, blocks = str(data.get("text") or ""), data.get("blocks")
        channel, user = context["channel"], context["user"]
        clicked = context.get("message_ts")
        if data.get("replace_original") and clicked:
            self._update({"channel": channel, "ts": clicked, "text": text, "blocks": blocks})
        elif data.get("response_type") == "in_channel":
            ws.add_message(channel, ws.bot_user_id, text, blocks=blocks,
                           thread_ts=data.get("thread_ts"))
        elif text or blocks:
            ws.ephemerals.append(Ephemeral(channel, user, text, blocks,
                                           data.get("thread_ts"), ws.next_ts()))

    def on_ack(self, ack: Ack) -> None:
        """The hub's ack callback: an ack carrying a payload answers like the response_url."""
        if not ack.payload:
            return
        with self._lock:
            context = self.workspace.hooks.get(ack.envelope_id)
            if context is not None:
                self._respond(context, ack.payload)
