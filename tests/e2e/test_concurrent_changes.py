"""Ten changes at once in one process: each gets its own worktree, branch and journal
record, and none sees another's edits (correctness only; timing is in bench/load.py)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from desktop.app.services import build_services
from desktop.core.options import RunOptions
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_routing import numbered_request, numbered_routes, route_by
from desktop.sim.messages_script import create_turn, text_turn
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import JUDGE_OFF, configure

N = 10


async def test_ten_changes_at_once(repo: RepoWithRemote, tmp_path: Path) -> None:
    configure(repo, JUDGE_OFF)
    scripts = {f"c{i}": [create_turn(f"app/file{i}.txt", f"file {i}\n" * 500, chunk_chars=64),
                         text_turn(f"added file {i}")] for i in range(N)}
    router = route_by(numbered_routes(N))
    with ScriptedMessagesAPI(scripts, router) as api:
        env = {**os.environ, "ANTHROPIC_API_KEY": "k-test-concurrent",
               "ANTHROPIC_BASE_URL": api.base_url}
        services = build_services(env)

        async def one(i: int) -> str:
            ctx, ws, wt = await asyncio.to_thread(
                services.changes.create, numbered_request(i, f"add file {i}"), repo.path,
                RunOptions())
            await services.changes.run(ctx, ws, wt)
            return ctx.change_id

        try:
            ids = await asyncio.gather(*(one(i) for i in range(N)))
            views = {v.id: v for v in services.context.history()}
        finally:
            await services.context.aclose()
            services.close()
    assert len(set(ids)) == N and set(views) == set(ids)
    assert {v.state.value for v in views.values()} == {"awaiting_approval"}
    assert len({v.branch for v in views.values()}) == N
    for cid in ids:
        view = views[cid]
        i = int(view.request.split(":")[0].split()[-1])
        tree = Path(view.worktree)
        assert (tree / f"app/file{i}.txt").read_text() == f"file {i}\n" * 500
        others = [p.name for p in (tree / "app").glob("file*.txt")]
        assert others == [f"file{i}.txt"], others
        assert view.files == (f"app/file{i}.txt",)
