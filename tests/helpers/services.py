"""Real services for use-case tests: ``build_services`` over the test's environment (its own
HONK_HOME, and the scripted API once the ``scripted`` or ``swedish_api`` fixture started one),
and a change run through them to its resting state."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from desktop.app.services import Services, build_services
from desktop.core.options import RunOptions
from desktop.core.stages import ChangeState
from desktop.core.state import ChangeView
from tests.helpers.gitrepo import RepoWithRemote

__all__ = ["app_services", "run_change"]


@asynccontextmanager
async def app_services(**env: str) -> AsyncIterator[Services]:
    """``build_services`` over ``os.environ`` plus ``env``; closed (client, threads, journal)
    on the way out. Build it after the scripted API started: the client reads its URL once."""
    services = build_services({**os.environ, **env})
    try:
        yield services
    finally:
        await services.context.aclose()
        services.close()


async def run_change(services: Services, repo: RepoWithRemote, request: str = "Swedish greeting",
                     *, want: ChangeState = ChangeState.AWAITING_APPROVAL) -> ChangeView:
    """Create a change in ``repo`` and run its pipeline; it must come to rest in ``want``."""
    ctx, workspace, worktree = await services.changes.create_async(request, repo.path,
                                                                   RunOptions())
    state = await services.changes.run(ctx, workspace, worktree)
    view = services.context.view(ctx.change_id)
    assert state is want, (state, view.reason)
    return view
