"""The Slack stand-in, driven by the real slack_sdk (WebClient and the builtin Socket Mode
client) and by a raw socket for the WebSocket handshake itself."""

from __future__ import annotations

import base64
import json
import os
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from desktop.sim.slack import FakeSlack
from desktop.sim.websocket import (
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    accept_key,
    encode_frame,
    read_frame,
)
from tests.helpers.slack_loopback import BUTTONS, no_proxy_no_leaks


@pytest.fixture(autouse=True)
def _no_proxy_no_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with no_proxy_no_leaks(monkeypatch):
        yield


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(users={"U0ADA": ("Ada Lovelace", "ada"), "U0BOB": ("Bob Hope", "")}) as fake:
        yield fake


@pytest.fixture
def web(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.api_url)


def test_web_api_methods_answer_like_slack(slack: FakeSlack, web: WebClient) -> None:
    me = web.auth_test()
    assert (me["user_id"], me["team_id"]) == (slack.bot_user_id, slack.team_id)
    parent = web.chat_postMessage(channel="C1", text="Change ready", blocks=BUTTONS)
    assert parent["channel"] == "C1" and parent["message"]["blocks"] == BUTTONS
    reply = web.chat_postMessage(channel="C1", text="building", thread_ts=parent["ts"])
    web.chat_update(channel="C1", ts=reply["ts"], text="built")
    web.chat_postEphemeral(channel="C1", user="U0ADA", text="only you")
    who = web.users_info(user="U0ADA")["user"]
    assert (who["real_name"], who["profile"]["display_name"]) == ("Ada Lovelace", "ada")

    [top] = slack.messages("C1")
    assert (top.ts, top.text, top.blocks, top.user) == (parent["ts"], "Change ready", BUTTONS,
                                                        slack.bot_user_id)
    [threaded] = slack.messages("C1", parent["ts"])
    assert (threaded.text, threaded.thread_ts, threaded.edits) == ("built", parent["ts"], 1)
    assert [e.text for e in slack.ephemerals("U0ADA")] == ["only you"]
    with pytest.raises(SlackApiError) as missing:
        web.users_info(user="U404")
    assert missing.value.response["error"] == "user_not_found"
    with pytest.raises(SlackApiError) as gone:
        web.chat_update(channel="C1", ts="1.000001", text="x")
    assert gone.value.response["error"] == "message_not_found"
    # The token travels only in the Authorization header, never in a URL or a body.
    for call in slack.calls():
        assert slack.bot_token not in call.path + json.dumps(call.params)
        assert call.headers["authorization"] == f"Bearer {slack.bot_token}"


def test_files_upload_v2_ends_up_in_the_thread(slack: FakeSlack, web: WebClient) -> None:
    parent = web.chat_postMessage(channel="C1", text="Here is the build")
    data = os.urandom(3000)
    done = web.files_upload_v2(channel="C1", thread_ts=parent["ts"], filename="app.apk",
                               content=data, title="Build 7", initial_comment="the APK")

    assert done["file"]["name"] == "app.apk"
    [stored] = slack.files("C1", parent["ts"])
    assert (stored.name, stored.title, stored.data) == ("app.apk", "Build 7", data)
    [message] = slack.messages("C1", parent["ts"])
    assert (message.text, message.files) == ("the APK", (stored.id,))
    assert [c.method for c in slack.calls()][1:] == [
        "files.getUploadURLExternal", "upload", "files.completeUploadExternal"]
    [upload] = slack.calls("upload")
    assert "authorization" not in upload.headers and upload.params == {"bytes": 3000}


def test_wrong_or_missing_token_and_unknown_method(slack: FakeSlack) -> None:
    def error_of(client: WebClient, method: str) -> str:
        with pytest.raises(SlackApiError) as failed:
            client.api_call(method)
        assert failed.value.response.status_code == 200
        return str(failed.value.response["error"])

    assert error_of(WebClient(token="xoxb-wrong", base_url=slack.api_url), "auth.test") == (
        "invalid_auth")
    assert error_of(WebClient(base_url=slack.api_url), "auth.test") == "not_authed"
    bot = WebClient(token=slack.bot_token, base_url=slack.api_url)
    assert error_of(bot, "apps.connections.open") == "not_allowed_token_type"
    assert error_of(bot, "chat.scheduleMessage") == "unknown_method"


def test_rate_limit_is_honoured_by_the_sdk_retry_handler(slack: FakeSlack) -> None:
    slack.rate_limit("chat.postMessage", retry_after=1)
    client = WebClient(token=slack.bot_token, base_url=slack.api_url,
                       retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    started = time.monotonic()
    client.chat_postMessage(channel="C1", text="after the wait")
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 200]


def test_injected_server_error_and_api_error(slack: FakeSlack, web: WebClient) -> None:
    slack.server_error("chat.postMessage")
    slack.fail("chat.postMessage", "is_archived")
    with pytest.raises(SlackApiError) as broken:
        web.chat_postMessage(channel="C1", text="x")
    assert broken.value.response.status_code == 500
    with pytest.raises(SlackApiError) as refused:
        web.chat_postMessage(channel="C1", text="x")
    assert refused.value.response["error"] == "is_archived"
    assert web.chat_postMessage(channel="C1", text="x")["ok"]


def _handshake(url: str) -> tuple[socket.socket, int]:
    """A raw RFC 6455 opening handshake: (socket, HTTP status)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
                  "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    raw = b""
    while not raw.endswith(b"\r\n\r\n"):  # byte by byte: the hello frame follows at once
        chunk = sock.recv(1)
        assert chunk, "connection closed during the handshake"
        raw += chunk
    lines = raw.decode().strip().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:])
    status = int(lines[0].split()[1])
    if status == 101:
        assert headers["sec-websocket-accept"] == accept_key(key).lower()
    return sock, status


def test_connection_url_works_once_and_speaks_rfc6455(slack: FakeSlack) -> None:
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
    assert url.startswith("ws://127.0.0.1:") and "/link/?ticket=" in url
    sock, status = _handshake(url)
    with sock, sock.makefile("rb") as stream:
        assert status == 101
        opcode, hello = read_frame(stream)
        assert opcode == OP_TEXT and json.loads(hello)["type"] == "hello"
        sock.sendall(encode_frame(OP_PING, b"are you there", mask=True))
        assert read_frame(stream) == (OP_PONG, b"are you there")
        again, second_status = _handshake(url)
        again.close()
        assert second_status == 401  # the ticket was spent
        sock.sendall(encode_frame(OP_CLOSE, b"\x03\xe8", mask=True))
        assert read_frame(stream) == (OP_CLOSE, b"\x03\xe8")
    assert [c.status for c in slack.calls("websocket")] == [101, 401]


def test_an_unmasked_client_frame_is_a_protocol_error(slack: FakeSlack) -> None:
    url = WebClient(base_url=slack.api_url).apps_connections_open(app_token=slack.app_token)["url"]
    sock, _status = _handshake(url)
    with sock, sock.makefile("rb") as stream:
        read_frame(stream)  # hello
        sock.sendall(encode_frame(OP_TEXT, b'{"envelope_id": "x"}'))  # no mask
        assert read_frame(stream) == (OP_CLOSE, b"\x03\xea")  # 1002
    assert slack.acks() == []


@pytest.fixture
def socket_client(slack: FakeSlack) -> Iterator[tuple[SocketModeClient, list[SocketModeRequest]]]:
    client = SocketModeClient(app_token=slack.app_token, ping_interval=0.3,
                              web_client=WebClient(base_url=slack.api_url))
    received: list[SocketModeRequest] = []

    def ack(sdk: BaseSocketModeClient, request: SocketModeRequest) -> None:
        payload = {"text": "on it"} if request.type == "slash_commands" else None
        sdk.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))
        received.append(request)

    client.socket_mode_request_listeners.append(ack)
    try:
        client.connect()
        slack.wait_for(lambda: slack.open_sockets() == 1)
        yield client, received
    finally:
        # Server first: the client's reader then sees EOF instead of sitting out its 3 s
        # receive timeout, which close() would otherwise wait for.
        slack.stop()
        client.close()


def test_builtin_socket_mode_client_gets_every_envelope_kind(
        slack: FakeSlack, web: WebClient,
        socket_client: tuple[SocketModeClient, list[SocketModeRequest]]) -> None:
    _client, received = socket_client
    card = web.chat_postMessage(channel="C1", text="Approve?", blocks=BUTTONS)
    sent = [
        slack.slash_command("U0ADA", "C1", "add dark mode"),
        slack.mention("U0ADA", "C1", "status?"),
        slack.direct_message("U0BOB", "hello"),
        slack.thread_reply("U0ADA", "C1", card["ts"], "looks good"),
        slack.click("U0ADA", "C1", card["ts"], "approve", "change-1"),
    ]
    slack.wait_for(lambda: len(received) == 5 and len(slack.acks()) == 5)
    by_id = {r.envelope_id: r for r in received}
    slash, mention, dm, reply, click = (by_id[e] for e in sent)
    assert (slash.type, slash.payload["command"], slash.payload["text"]) == (
        "slash_commands", "/honk", "add dark mode")
    assert slash.payload["response_url"].startswith(slack.base_url)
    assert mention.payload["event"]["type"] == "app_mention"
    assert mention.payload["event"]["text"] == f"<@{slack.bot_user_id}> status?"
    assert (dm.payload["event"]["channel_type"], dm.payload["event"]["channel"]) == (
        "im", slack.im_channel("U0BOB"))
    assert reply.payload["event"]["thread_ts"] == card["ts"]
    assert click.type == "interactive" and click.payload["type"] == "block_actions"
    [action] = click.payload["actions"]
    assert (action["action_id"], action["value"], action["block_id"]) == (
        "approve", "change-1", "decide")
    assert click.payload["container"]["message_ts"] == card["ts"]
    assert {a.envelope_id for a in slack.acks()} == set(sent)
    assert all(a.latency is not None and a.latency < 1.0 for a in slack.acks())
    # The slash command's ack carried a payload: Slack shows it to the user only.
    assert [e.text for e in slack.ephemerals("U0ADA")] == ["on it"]

    again = slack.redeliver(sent[1])
    slack.wait_for(lambda: len(received) == 6)
    assert again == sent[1] and (received[-1].retry_attempt, received[-1].retry_reason) == (
        1, "timeout")


def test_response_url_posts_into_the_channel(
        slack: FakeSlack, socket_client: tuple[SocketModeClient, list[SocketModeRequest]]) -> None:
    _client, received = socket_client
    slack.slash_command("U0ADA", "C9", "ship")
    slack.wait_for(lambda: received)
    body = json.dumps({"response_type": "in_channel", "text": "Shipping"}).encode()
    request = urllib.request.Request(received[0].payload["response_url"], data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200
    assert [m.text for m in slack.messages("C9")] == ["Shipping"]


@pytest.mark.parametrize("cut", ["disconnect", "reset", "close frame"])
def test_builtin_client_reconnects_with_a_fresh_url(
        cut: str, slack: FakeSlack,
        socket_client: tuple[SocketModeClient, list[SocketModeRequest]]) -> None:
    # After a disconnect the builtin client reads nothing for up to its 3 s receive timeout
    # (it is closing the old socket); the bridge in desktop/adapters/slack shortens that.
    _client, received = socket_client
    cuts: dict[str, Callable[[], None]] = {
        "disconnect": slack.send_disconnect, "reset": slack.drop_socket,
        "close frame": slack.close_socket}
    cuts[cut]()
    slack.wait_for(lambda: slack.live_socket() == 2)
    tickets = [c.params["ticket"] for c in slack.calls("websocket")]
    assert len(set(tickets)) == 2 and len(slack.calls("apps.connections.open")) == 2
    slack.mention("U0ADA", "C1", "still there?")
    # The client acks after its listener has the request: wait for the ack to land too.
    slack.wait_for(lambda: bool(received) and bool(slack.acks()))
    assert [a.link for a in slack.acks()] == [2]
