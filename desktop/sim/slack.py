"""A loopback Slack workspace: the Web API methods and Socket Mode a Slack app uses.

The real ``slack_sdk.WebClient(base_url=fake.api_url)`` and the real builtin
``slack_sdk.socket_mode.builtin.SocketModeClient`` work against it unchanged. ``FakeSlack``
is the face tests and the demo use: it starts the loopback server, injects faults, plays
the people in the workspace (the phone) and answers what happened. The parts:

- ``desktop/sim/slack_web_api.py``: the Web API methods, upload and ``response_url`` paths
- ``desktop/sim/slack_workspace.py``: the messages, ephemerals, files and hooks
- ``desktop/sim/slack_ws.py``: Socket Mode (tickets, links, envelopes, acks)
- ``desktop/sim/slack_envelopes.py``: the envelopes' shapes
- ``desktop/sim/slack_server.py``: the HTTP server and the WebSocket upgrade

Not modelled: the bot's own posts are not echoed back as ``message`` events, and
unacknowledged envelopes are not retried by themselves (call ``redeliver``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from desktop.sim.http_server import Service
from desktop.sim.slack_envelopes import Envelopes, new_id
from desktop.sim.slack_server import LoopbackServer
from desktop.sim.slack_web_api import Fault, RecordedCall, WebApi
from desktop.sim.slack_workspace import Ephemeral, SlackFile, SlackMessage, Workspace
from desktop.sim.slack_ws import Ack, SocketModeHub

__all__ = ["Ack", "Ephemeral", "FakeSlack", "RecordedCall", "SlackFile", "SlackMessage"]

T = TypeVar("T")


class FakeSlack(Service):
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
        self.hub = SocketModeHub(app_id=app_id, on_ack=lambda ack: self._api.on_ack(ack))
        self.envelopes = Envelopes(team_id, app_id, bot_user_id)
        self._workspace = Workspace(team_id=team_id, bot_user_id=bot_user_id, bot_id=bot_id,
                                    users=self.users)
        self._lock = self._workspace.lock
        self._api = WebApi(self._workspace, self.hub, bot_token=bot_token, app_token=app_token,
                           app_id=app_id, base_url=lambda: self.base_url)
        self._wire = LoopbackServer(route=self._api.route, record=self._api.record, hub=self.hub)

    # -- lifecycle -----------------------------------------------------------------------

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
        self._api.add_fault(method, times, Fault(429, "ratelimited", retry_after))

    def server_error(self, method: str, *, times: int = 1, status: int = 500) -> None:
        """The next ``times`` calls of ``method`` answer an HTTP 5xx."""
        self._api.add_fault(method, times, Fault(status, "internal_error"))

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._api.add_fault(method, times, Fault(200, error))

    # -- the phone: what people in the workspace do ----------------------------------------

    def im_channel(self, user: str) -> str:
        """The id of the bot's direct-message channel with ``user``."""
        return "D" + user[1:]

    def _hook_url(self, context: dict[str, str]) -> tuple[str, str]:
        key = new_id().replace("-", "")
        with self._lock:
            self._workspace.hooks[key] = context
        return key, f"{self.base_url}/hooks/{key}"

    def _human(self, user: str, channel: str, text: str,
               thread_ts: str | None) -> SlackMessage:
        with self._lock:
            return self._workspace.add_message(channel, user, text, thread_ts=thread_ts)

    def _message_event(self, kind: str, m: SlackMessage, **extra: Any) -> str:
        with self._lock:
            message = self._workspace.message_json(m) | {"channel": m.channel}
        return self.hub.deliver(self.envelopes.message_event(kind, message, **extra))

    def slash_command(self, user: str, channel: str, text: str, *,
                      command: str = "/honk") -> str:
        """``user`` types ``/honk text`` in ``channel``; returns the envelope id."""
        trigger = new_id()
        key, url = self._hook_url({"channel": channel, "user": user})
        envelope = self.envelopes.slash_command(
            user=user, user_name=self._workspace.name(user), channel=channel, command=command,
            text=text, response_url=url, trigger_id=trigger)
        with self._lock:  # an ack carrying a payload answers like the response_url
            hooks = self._workspace.hooks
            hooks[envelope["envelope_id"]] = hooks[key]
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
            index = self._workspace.find(channel, thread_ts)
            parent = self._workspace.messages[index].user if index is not None else None
        m = self._human(user, channel, text, thread_ts)
        kind = "im" if channel.startswith("D") else "channel"
        extra = {"parent_user_id": parent} if parent else {}
        return self._message_event("message", m, channel_type=kind, **extra)

    def click(self, user: str, channel: str, message_ts: str, action_id: str,
              value: str) -> str:
        """``user`` presses the button ``action_id`` on a message: ``block_actions``."""
        with self._lock:
            index = self._workspace.find(channel, message_ts)
            assert index is not None, f"no message {message_ts} in {channel}"
            message = self._workspace.message_json(self._workspace.messages[index])
        _key, url = self._hook_url({"channel": channel, "user": user, "message_ts": message_ts})
        return self.hub.deliver(self.envelopes.block_actions(
            user=user, user_name=self._workspace.name(user), channel=channel, message=message,
            action_id=action_id, value=value, action_ts=self._stamp(), response_url=url,
            trigger_id=new_id()))

    def _stamp(self) -> str:
        with self._lock:
            return self._workspace.next_ts()

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
        return self._workspace.posted(channel, thread_ts, include_humans=include_humans)

    def ephemerals(self, user: str) -> list[Ephemeral]:
        return self._workspace.ephemerals_for(user)

    def files(self, channel: str, thread_ts: str | None = None) -> list[SlackFile]:
        return self._workspace.files_in(channel, thread_ts)

    def acks(self) -> list[Ack]:
        return self.hub.acks()

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Requests received (all, or one method's; ``websocket``, ``upload``, ``hook`` too)."""
        return self._api.calls(method)

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
