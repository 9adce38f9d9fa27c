"""Pipeline overhead: a full headless run, and how much of its wall time is Honk's own.

    python -m bench.pipeline_overhead [--reps 3] [--quick] [--json FILE]

Honk: ``run_story`` on a fresh DemoEnvironment with zero pacing (the scripted model streams
as fast as loopback allows): agent edits, verifiers (one failing round), commit, judge,
build, install and launch on the virtual phone through the real adb, approve, merge, audit.

Floor, in the same environment right after: the same external work done directly, as
many times as the run's journal says Honk did it: each verifier and build command as a
subprocess in a git worktree, a plain ``adb install`` and ``am start`` of the built apk,
the same SDK consuming the same scripted streams with no processing, and the git
worktree add / commit / push. Honk - floor is Honk's own cost (goal < 1 s).
A separate, untimed honk run under cProfile gives the profile summary (top 15 of Honk's
own functions by cumulative time; awaited waits are not counted, running time is).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import Figure, median, write_figures


async def honk_run(demo: Any) -> tuple[float, float, Counter[str], dict[str, Any]]:
    """(wall s, in-process CPU s, event counts, facts) for one change through Honk."""
    from desktop.adapters.store.journal import ChangeJournal
    from desktop.core.build_events import ArtifactBuilt
    from desktop.core.events import VerifierResult
    from desktop.demo.environment import run_story

    out = io.StringIO()
    cpu, start = time.process_time(), time.perf_counter()
    code = await run_story(demo, demo.suggested_requests[0], out)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    if code != 0:
        raise RuntimeError("the demo run failed:\n" + out.getvalue()[-3000:])
    journal = ChangeJournal(Path(demo.env["HONK_HOME"]) / "journal.sqlite3")
    try:
        [view] = journal.changes()
        events = journal.events(view.id)
    finally:
        journal.close()
    counts = Counter(e.type for e in events)
    facts = {"verifiers": [e.name for e in events if isinstance(e, VerifierResult)],
             "apk": next(e.path for e in events if isinstance(e, ArtifactBuilt))}
    return wall, cpu, counts, facts


def _sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                          stdin=subprocess.DEVNULL, timeout=300)
    if done.returncode != 0 and cmd[0] == "git":
        raise RuntimeError(f"{' '.join(cmd)} failed: {done.stderr.strip()}")
    return done.stdout


async def floor_run(demo: Any, counts: Counter[str], facts: dict[str, Any], n: int) -> float:
    """The same external work, done directly; wall seconds."""
    import anthropic

    from desktop.sim.messages_api import ScriptedMessagesAPI
    from desktop.sim.messages_script import tool_turn

    repo, env = demo.repo, {**demo.env}
    config = tomllib.loads((repo / "honk.toml").read_text())
    verify = {v["name"]: v["command"] for v in config["verify"]}
    request = demo.suggested_requests[0]
    verdict = {"verdict": "approve", "summary": request.verdict, "reasons": [], "flags": []}
    turns = [*request.agent, tool_turn("submit_verdict", verdict)]
    adb = [env["HONK_ADB"], "-P", env["ANDROID_ADB_SERVER_PORT"], "-s", demo.serial]
    apk = demo.root / f"floor-{n}.apk"
    wt = demo.root / f"floor-wt-{n}"
    with ScriptedMessagesAPI(turns) as api:
        client = anthropic.AsyncAnthropic(api_key="bench", base_url=api.base_url)
        start = time.perf_counter()
        for _ in turns:  # the SDK reading every stream, nothing done with the events
            stream: Any = await client.messages.create(
                model="claude-sonnet-4-6", max_tokens=4096,
                messages=[{"role": "user", "content": request.text}], stream=True)
            async with stream:
                async for _event in stream:
                    pass
        _sh(["git", "worktree", "add", "-q", "-b", f"floor/{n}", str(wt), "main"], repo, env)
        for name in facts["verifiers"]:
            _sh(list(verify[name]), wt, env)
        for i in range(max(1, counts["committed"])):
            (wt / "FLOOR.txt").write_text(f"{n} {i}\n")
            _sh(["git", "add", "-A"], wt, env)
            _sh(["git", "commit", "-q", "-m", f"floor {n} {i}"], wt, env)
        for _ in range(max(1, counts["artifact_built"])):
            _sh(list(config["build"]["command"]), wt, env)
        built = sorted(wt.glob(config["build"]["artifact"]))[-1]
        built.replace(apk)
        for _ in range(max(1, counts["installed"])):
            out = _sh([*adb, "install", str(apk)], wt, env)
            assert "Success" in out, out
        device = config["device"]
        for _ in range(counts["launched"]):
            _sh([*adb, "shell", "am", "start", "-n",
                 f"{device['package']}/{device['activity']}"], wt, env)
        _sh(["git", "push", "-q", "origin", f"floor/{n}:refs/heads/floor-{n}"], wt, env)
        wall = time.perf_counter() - start
        await client.close()
    _sh(["git", "worktree", "remove", "--force", str(wt)], repo, env)
    return wall


def _profile_summary(stats: pstats.Stats, top: int = 15) -> list[dict[str, Any]]:
    """Top ``top`` of Honk's own functions (under desktop/) by cumulative time."""
    rows = []
    for (file, line, func), (_cc, calls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if f"{os.sep}desktop{os.sep}" in file and f"{os.sep}sim{os.sep}" not in file:
            rel = file[file.rfind(f"{os.sep}desktop{os.sep}") + 1:]
            rows.append({"function": f"{rel}:{line}({func})", "calls": calls,
                         "cumulative_ms": ct * 1000, "own_ms": tt * 1000})
    rows.sort(key=lambda r: -r["cumulative_ms"])
    return rows[:top]


async def bench(reps: int) -> tuple[list[Figure], dict[str, Any]]:
    import anthropic  # noqa: F401  (imported before timing: a 2.5 s one-off for both sides)

    from desktop.demo.environment import DemoEnvironment

    honk, floor, cpu = [], [], []
    counts: Counter[str] = Counter()
    for n in range(reps + 1):  # the first round warms caches and is dropped
        with DemoEnvironment(pace_s=0.0) as demo:
            wall, used, counts, facts = await honk_run(demo)
            base = await floor_run(demo, counts, facts, n)
        if n:
            honk.append(wall)
            floor.append(base)
            cpu.append(used)
    profiler = cProfile.Profile()
    with DemoEnvironment(pace_s=0.0) as demo:
        profiler.enable()
        await honk_run(demo)
        profiler.disable()
    stats = pstats.Stats(profiler)
    top = _profile_summary(stats)
    h, f = median(honk), median(floor)
    work = (f"{counts['verifier_result']} verifier runs, {counts['artifact_built']} build, "
            f"{counts['installed']} install, {counts['committed']} commits, "
            f"{len(counts) and counts['usage']} model calls")
    figures = [
        Figure("pipeline_overhead", "full headless run", h * 1000, "ms", f * 1000,
               note=f"floor: the same external work done directly ({work}); {reps} runs"),
        Figure("pipeline_overhead", "Honk's own cost (honk - floor)", (h - f) * 1000, "ms",
               goal="< 1000 ms", ok=(h - f) < 1.0,
               note=f"in-process CPU during the run {median(cpu) * 1000:.0f} ms (includes the "
                    "scripted API and virtual phone threads)"),
    ]
    return figures, {"honk_s": honk, "floor_s": floor, "cpu_s": cpu, "counts": dict(counts),
                     "profile_top15": top}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline_overhead",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="timed runs (median)")
    parser.add_argument("--quick", action="store_true", help="1 timed run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    figures, extra = asyncio.run(bench(1 if args.quick else args.reps))
    for f in figures:
        print(f"{f.name:<34} {f.value:8.0f} ms  {f.note}")
    print("profile of one honk run: Honk's functions by cumulative time (ms, own ms, calls)")
    for row in extra["profile_top15"]:
        print(f"  {row['cumulative_ms']:8.1f} {row['own_ms']:8.1f} {row['calls']:6d}  "
              f"{row['function']}")
    write_figures(args.json, "pipeline_overhead", figures, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
