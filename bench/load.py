"""Load: a journal with 100,000 events, ten changes at once, a 20,000-line diff.

    python -m bench.load [--quick] [--json FILE] [--server-in-process]

Figures (medians):
1. `honk history` (a real subprocess) over a journal of 100,000 events, against
   `python -c pass` + opening the same SQLite file and reading one row (the floor of any
   command that answers from that journal). Goal: under 200 ms. Bytecode cached (a private
   PYTHONPYCACHEPREFIX, warmed by one untimed run), as in an install.
2. Ten changes at once through ChangeService (one process, one loop) against the scripted
   Messages API, with the event loop's longest stall while they run (floor: one frame,
   16.7 ms) and the wall time against one change alone. `ChangeService.warm_up()`
   (imports, client) runs before the timing, as the window should once shown. The scripted
   server runs in a process of its own at the lowest CPU priority, as the real API is
   remote and takes no CPU here: in Honk's process its threads would take the GIL from the
   loop, a handicap only the bench has (`--server-in-process` measures that setup anyway).
3. A 20,000-line edit: the time to compute and journal its applied diff.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import FRAME_MS, Figure, installed_bytecode_env, median, write_figures
from bench.history import write_history

ROOT = Path(__file__).resolve().parent.parent


def history_seconds(home: Path, reps: int) -> tuple[float, float]:
    env = {**installed_bytecode_env(os.environ, home.parent / "pycache"), "HONK_HOME": str(home)}
    honk, floor = [], []
    probe = ("import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
             "c.execute('select id from changes limit 1').fetchall()")
    subprocess.run([sys.executable, "-m", "desktop", "history"], env=env, check=True,
                   capture_output=True, cwd=ROOT)  # warms the bytecode cache, untimed
    for _ in range(reps):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "desktop", "history"], env=env, check=True,
                       capture_output=True, cwd=ROOT)
        honk.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", probe, str(home / "journal.sqlite3")], check=True,
                       capture_output=True)
        floor.append(time.perf_counter() - t)
    return median(honk), median(floor)


async def _stall_watch(stop: asyncio.Event) -> float:
    """The longest gap between two wake-ups of a task that asks to wake every 1 ms."""
    loop = asyncio.get_running_loop()
    worst, last = 0.0, loop.time()
    while not stop.is_set():
        await asyncio.sleep(0.001)
        now = loop.time()
        worst = max(worst, now - last - 0.001)
        last = now
    return worst


async def concurrent_changes(n: int, work: Path, diff_lines: int, *,
                             server_in_process: bool = False) -> tuple[float, float]:
    """(wall seconds, longest stall) for ``n`` changes run at once in one process; the
    scripted API runs in a process of its own unless ``server_in_process``."""
    import anthropic  # noqa: F401 - a one-off ~2 s import, kept out of every timing

    from desktop.app.services import build_services
    from desktop.core.options import RunOptions
    from desktop.sim.messages_api import ScriptedMessagesAPI
    from desktop.sim.messages_process import MessagesServerProcess
    from desktop.sim.messages_routing import numbered_request, numbered_routes, route_by
    from desktop.sim.messages_script import create_turn, text_turn
    from tests.helpers.gitrepo import make_repo

    repo = make_repo(work / "git", {"README.md": "# load\n", "honk.toml": "[judge]\nenabled = false\n"})
    body = "".join(f"line {i}: keep the title visible\n" for i in range(diff_lines))
    scripts = {f"c{i}": [create_turn(f"app/file{i}.txt", body, chunk_chars=256), text_turn("ok")]
               for i in range(n)}
    routes = numbered_routes(n)
    server: ScriptedMessagesAPI | MessagesServerProcess = (
        ScriptedMessagesAPI(scripts, route_by(routes)) if server_in_process
        else MessagesServerProcess(scripts, routes, nice=19))
    with server as api:
        env = {**os.environ, "HONK_HOME": str(work / "home"), "ANTHROPIC_API_KEY": "bench-key",
               "ANTHROPIC_BASE_URL": api.base_url}
        services = build_services(env)
        # As the window should once shown: the first run's imports and client, before timing.
        services.context.warm_up()
        stop = asyncio.Event()
        watch = asyncio.ensure_future(_stall_watch(stop))
        start = time.perf_counter()

        async def one(i: int) -> None:
            # As the window should: cutting the worktree runs git on the background threads.
            ctx, ws, wt = await services.changes.create_async(
                numbered_request(i, f"add file {i}"), repo.path, RunOptions())
            await services.changes.run(ctx, ws, wt)

        await asyncio.gather(*(one(i) for i in range(n)))
        wall = time.perf_counter() - start
        stop.set()
        stall = await watch
        states = {v.state.value for v in services.context.history()}
        await services.context.aclose()
        services.close()
        left = api.remaining()
    assert states == {"awaiting_approval"}, states
    assert not any(left.values()), left  # every scripted turn was asked for
    return wall, stall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--server-in-process", action="store_true",
                        help="run the scripted Messages API on threads of this process")
    parser.add_argument("--reps", type=int, help="rounds of the ten-changes figure")
    args = parser.parse_args(argv)
    own = {"server_in_process": args.server_in_process}
    where = "in this process" if args.server_in_process else "in its own process"
    events = 20_000 if args.quick else 100_000
    reps = 3 if args.quick else 7
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="honk-load-") as tmp:
        home = Path(tmp) / "history-home"
        per_change = 12  # write_history journals about 12 events per change
        write_history(home, events // per_change, diff_lines=20)
        with sqlite3.connect(home / "journal.sqlite3") as db:
            count = db.execute("select count(*) from events").fetchone()[0]
        honk, floor = history_seconds(home, reps)
        figures.append(Figure("load", f"honk history, {count:,} events", honk * 1e3, "ms",
                              floor * 1e3, "< 200 ms", honk < 0.2,
                              "floor: python + open the journal + read one row"))
        walls, stalls, singles = [], [], []
        rounds = args.reps or (1 if args.quick else 3)
        for r in range(rounds):
            wall, stall = asyncio.run(concurrent_changes(10, Path(tmp) / f"ten{r}", 2_000, **own))
            single, _ = asyncio.run(concurrent_changes(1, Path(tmp) / f"one{r}", 2_000, **own))
            walls.append(wall)
            stalls.append(stall)
            singles.append(single)
        figures.append(Figure("load", "10 changes at once, wall", median(walls) * 1e3, "ms",
                              median(singles) * 1e3, "", None,
                              "floor: one change alone, same process and server"))
        figures.append(Figure("load", "longest loop stall, 10 at once", median(stalls) * 1e3,
                              "ms", FRAME_MS, "< 1 frame", median(stalls) * 1e3 < FRAME_MS,
                              f"floor: one frame at 60 Hz; scripted API {where}"))
        wall, _ = asyncio.run(concurrent_changes(1, Path(tmp) / "big", 20_000, **own))
        figures.append(Figure("load", "one 20,000-line created file, whole run", wall * 1e3,
                              "ms", median(singles) * 1e3, "", None,
                              "floor: the same run with 2,000 lines"))
    print(f"scripted Messages API {where}; {rounds} round(s) of 10 changes; "
          f"stalls {', '.join(f'{s * 1e3:.1f}' for s in stalls)} ms")
    for f in figures:
        ratio = f" ({f.ratio:.2f}x)" if f.ratio else ""
        print(f"{f.name:<42} {f.value:10.1f} {f.unit}{ratio}  {f.goal}")
    write_figures(args.json, "load", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
