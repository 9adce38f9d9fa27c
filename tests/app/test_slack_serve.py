"""The Slack server warms the first run up while nobody waits, then tells its owner (`honk
slack` freezes its start-up heap out of later collections then)."""

from __future__ import annotations

import asyncio
import secrets

from desktop.app.slack.serve import SlackServer, served_repos
from desktop.sim.slack import FakeSlack
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure
from tests.helpers.services import app_services
from tests.helpers.slack_desk import slack_toml


async def test_after_warm_up_is_called_once_the_first_run_is_warm(repo: RepoWithRemote) -> None:
    configure(repo, JUDGE_OFF + "\n" + slack_toml())
    app_token = f"xapp-1-A0HONK-{secrets.token_hex(8)}"  # the one-server lock is per app
    with FakeSlack(app_token=app_token) as slack:
        async with app_services(SLACK_BOT_TOKEN=slack.bot_token, SLACK_APP_TOKEN=slack.app_token,
                                HONK_SLACK_API_URL=slack.api_url) as services:
            warm = asyncio.Event()
            calls: list[int] = []

            def after() -> None:
                calls.append(1)
                warm.set()

            server = SlackServer(services, served_repos([f"app={repo.path}"]),
                                 after_warm_up=after)
            serving = asyncio.ensure_future(server.run())
            try:
                await asyncio.wait_for(warm.wait(), 60)
                assert services.context.warm_up_steps() == []  # the warm-up was taken
                assert not serving.done()  # and the server goes on serving
            finally:
                server.stop()
                await asyncio.wait_for(serving, 30)
            assert calls == [1]
