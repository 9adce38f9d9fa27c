"""SlackConnection against the loopback Slack: real slack_sdk, real HTTP, real WebSocket."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from desktop.adapters.slack import (
    SlackCallRefused,
    SlackConnection,
    SlackRequest,
    SlackUnavailable,
    SocketState,
    SocketStatus,
)
from desktop.sim.slack import FakeSlack
from tests.helpers.slack_loopback import BUTTONS, no_proxy_no_leaks


class App:
    """What the app layer would be: a queue of requests and a list of states."""

    def __init__(self) -> None:
        self.requests: asyncio.Queue[SlackRequest] = asyncio.Queue()
        self.states: list[SocketStatus] = []

    async def next(self, timeout: float = 3.0) -> SlackRequest:
        return await asyncio.wait_for(self.requests.get(), timeout)

    async def state(self, state: SocketState, timeout: float = 4.0) -> SocketStatus:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.states and self.states[-1].state is state:
                return self.states[-1]
            await asyncio.sleep(0.01)
        raise AssertionError(f"never {state}: {self.states}")


async def until(predicate: Callable[[], object], timeout: float = 4.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def _no_proxy_no_leaks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # asyncio_N are the loop's executor threads, joined by the loop
    with no_proxy_no_leaks(monkeypatch, spare=("asyncio_",)):
        yield


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def connection(slack: FakeSlack, app: App, **overrides: object) -> SlackConnection:
    options: dict[str, object] = {"bot_token": slack.bot_token, "app_token": slack.app_token,
                                  "api_url": slack.api_url, "ping_interval": 0.25,
                                  "keepalive_interval": 0.5, **overrides}
    return SlackConnection(loop=asyncio.get_running_loop(), on_request=app.requests.put_nowait,
                           on_state=app.states.append, **options)  # type: ignore[arg-type]


@pytest.fixture
async def app() -> App:
    return App()


@pytest.fixture
async def conn(slack: FakeSlack, app: App) -> AsyncIterator[SlackConnection]:
    async with connection(slack, app) as live:
        yield live


async def test_every_kind_is_acked_at_once_and_delivered(
        slack: FakeSlack, app: App, conn: SlackConnection) -> None:
    assert conn.bot_user_id == slack.bot_user_id
    card = await conn.call("chat.postMessage", channel="C1", text="Approve?", blocks=BUTTONS)
    sent = {
        "slash": slack.slash_command("U0ADA", "C1", "add dark mode"),
        "mention": slack.mention("U0ADA", "C1", "status?"),
        "dm": slack.direct_message("U0ADA", "hello"),
        "reply": slack.thread_reply("U0ADA", "C1", card["ts"], "looks good"),
        "click": slack.click("U0ADA", "C1", card["ts"], "approve", "change-1"),
    }
    got = {r.envelope_id: r for r in [await app.next() for _ in sent]}
    slash, mention, dm, reply, click = (got[e] for e in sent.values())
    assert (slash.kind, slash.text, slash.user_id, slash.channel_id) == (
        "slash_commands", "add dark mode", "U0ADA", "C1")
    assert (mention.event["type"], mention.text) == ("app_mention", "<@U0HONKBOT> status?")
    assert (dm.event["channel_type"], dm.channel_id) == ("im", slack.im_channel("U0ADA"))
    assert (reply.event["thread_ts"], reply.text) == (card["ts"], "looks good")
    assert (click.kind, click.user_id, click.channel_id) == ("interactive", "U0ADA", "C1")
    assert [(a["action_id"], a["value"]) for a in click.actions] == [("approve", "change-1")]
    await until(lambda: len(slack.acks()) == len(sent))  # the stand-in reads acks in its thread
    acks = slack.acks()
    assert {a.envelope_id for a in acks} == set(sent.values())
    # Slack's limit is 3 s; 2.5 leaves room for a stalled CI box, not for a missed ack.
    assert max(a.latency or 99 for a in acks) < 2.5


async def test_a_redelivered_envelope_is_handled_once(
        slack: FakeSlack, app: App, conn: SlackConnection) -> None:
    card = await conn.call("chat.postMessage", channel="C1", text="Approve?", blocks=BUTTONS)
    mention = slack.mention("U0ADA", "C1", "ship it")
    click = slack.click("U0ADA", "C1", card["ts"], "approve", "change-1")
    assert {(await app.next()).envelope_id, (await app.next()).envelope_id} == {mention, click}

    slack.redeliver(mention)  # same envelope_id, retry_attempt 1
    slack.redeliver(mention, new_envelope_id=True)  # a new envelope for the same event
    slack.redeliver(click)
    await until(lambda: len(slack.acks()) == 5)  # repeats are acked too, so Slack stops
    second_press = slack.click("U0ADA", "C1", card["ts"], "approve", "change-1")
    assert (await app.next()).envelope_id == second_press  # a new press is not a repeat
    await asyncio.sleep(0.2)
    assert app.requests.empty()


@pytest.mark.parametrize("cut", ["disconnect", "reset", "fin", "close frame"])
async def test_reconnects_with_a_new_url_and_keeps_working(
        cut: str, slack: FakeSlack, app: App, conn: SlackConnection) -> None:
    cuts: dict[str, Callable[[], None]] = {
        "disconnect": slack.send_disconnect, "reset": slack.drop_socket,
        "fin": lambda: slack.drop_socket(reset=False), "close frame": slack.close_socket}
    cuts[cut]()
    await until(lambda: slack.live_socket() == 2)
    await app.state(SocketState.CONNECTED)
    assert [s.state for s in app.states][-2:] == [SocketState.RECONNECTING,
                                                   SocketState.CONNECTED]
    tickets = [c.params["ticket"] for c in slack.calls("websocket")]
    assert len(tickets) == len(set(tickets)) == 2
    assert len(slack.calls("apps.connections.open")) == 2

    envelope = slack.mention("U0ADA", "C1", "still there?")
    assert (await app.next()).envelope_id == envelope
    await until(lambda: [a for a in slack.acks() if a.envelope_id == envelope])
    [ack] = [a for a in slack.acks() if a.envelope_id == envelope]
    assert ack.link == 2 and ack.latency is not None and ack.latency < 2.5  # Slack's: 3 s
    await until(lambda: slack.open_sockets() == 1)  # the old socket is closed, not leaked


async def test_the_pong_watchdog_replaces_a_half_closed_socket(
        slack: FakeSlack, app: App) -> None:
    # The SDK alone would notice the FIN after 5 failed pings (2.5 s here) and report
    # "connection lost". No time bound (flaky under load): the first reconnect's reason
    # shows who noticed, and "1.0 s" that our pong_timeout was used (default here 2.0 s).
    async with connection(slack, app, ping_interval=0.5, pong_timeout=1.0):
        slack.drop_socket(reset=False)
        await until(lambda: slack.live_socket() == 2)
        await app.state(SocketState.CONNECTED)
        reasons = [s.reason for s in app.states if s.state is SocketState.RECONNECTING]
        assert reasons[:1] == ["no pong for 1.0 s"], app.states


async def test_a_rate_limited_post_waits_out_retry_after(
        slack: FakeSlack, conn: SlackConnection) -> None:
    slack.rate_limit("chat.postMessage", retry_after=1)
    slack.server_error("chat.postMessage")
    started = time.monotonic()
    posted = await conn.call("chat.postMessage", channel="C1", text="eventually")
    assert time.monotonic() - started >= 1.0
    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 500, 200]
    assert [m.ts for m in slack.messages("C1")] == [posted["ts"]]


async def test_retries_are_bounded(slack: FakeSlack, app: App) -> None:
    slack.server_error("chat.postMessage", times=10)
    async with connection(slack, app, max_attempts=3) as conn:
        with pytest.raises(SlackUnavailable) as failed:
            await conn.call("chat.postMessage", channel="C1", text="never")
    assert (failed.value.method, failed.value.status) == ("chat.postMessage", 500)
    assert len(slack.calls("chat.postMessage")) == 3


async def test_refusals_raise_our_error_without_the_token(
        slack: FakeSlack, conn: SlackConnection, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slack.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackCallRefused) as refused:
        await conn.call("chat.postMessage", channel="C404", text="hello")
    error = refused.value
    assert (error.method, error.error, error.fatal) == ("chat.postMessage",
                                                        "channel_not_found", False)
    for shown in (str(error), repr(error), repr(error.args), repr(conn), caplog.text):
        assert slack.bot_token not in shown and slack.app_token not in shown


async def test_refused_tokens_stop_start_and_leave_nothing_running(
        slack: FakeSlack, app: App, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for bad in ({"bot_token": "xoxb-not-the-bot"}, {"app_token": "xapp-not-the-app"}):
        conn = connection(slack, app, **bad)
        with pytest.raises(SlackCallRefused) as refused:
            await asyncio.wait_for(conn.start(), 3)
        await conn.close()
        assert refused.value.error == "invalid_auth" and refused.value.fatal
        assert app.states[-2].state is SocketState.ERROR
        assert "not-the" not in caplog.text + str(refused.value)
    assert [c.status for c in slack.calls("apps.connections.open")] == [200]


async def test_upload_lands_in_the_thread(slack: FakeSlack, conn: SlackConnection) -> None:
    parent = await conn.call("chat.postMessage", channel="C1", text="Build ready")
    file = await conn.upload_file(channel="C1", thread_ts=parent["ts"], filename="app.apk",
                                  data=b"PK\x03\x04apk", title="Build 7")
    [stored] = slack.files("C1", parent["ts"])
    assert (file["id"], stored.name, stored.title, stored.data) == (
        stored.id, "app.apk", "Build 7", b"PK\x03\x04apk")


async def test_keepalive_calls_auth_test(slack: FakeSlack, conn: SlackConnection) -> None:
    await until(lambda: len(slack.calls("auth.test")) >= 2)  # start() made the first
