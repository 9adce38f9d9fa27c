"""Streaming a long edit: per-delta overhead and partial-JSON cost as the edit grows.

Run: ``python -m bench.stream_edit`` (add ``--lines 2000 --repeat 5``, ``--quick``,
``--json FILE``); ``python -m bench`` runs it with the others.

Figures, each a median of ``--repeat`` runs, each against a floor measured in the same run:
1. parser: our incremental parser over the whole input vs ``json.loads`` of the finished
   input once (the least work any parser must do), and the cost per delta in the first and
   last tenth of the stream (flat means linear overall), with the fitted exponent of total
   time against edit size (1.0 = linear, 2.0 = quadratic).
2. naive: re-parsing the whole buffer on every delta (what a snapshot parser does), for scale.
3. end to end: the real SDK streaming a ``create`` of N lines from the scripted Messages API
   through Honk's agent step (parse, preview events, apply, diff) vs the same SDK stream
   consumed with no processing at all.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import fit_exponent
from desktop.core.partial_json import PartialObjectParser

CHUNK = 24  # characters per input_json_delta, about what the API sends


def make_input(lines: int) -> str:
    body = "".join(f"    val line_{i} = compute({i}) // keep the player's title visible\n"
                   for i in range(lines))
    return json.dumps({"command": "create", "path": "app/src/Big.kt", "file_text": body})


def fragments(text: str) -> list[str]:
    return [text[i : i + CHUNK] for i in range(0, len(text), CHUNK)]


def time_incremental(frags: list[str]) -> tuple[float, list[float]]:
    parser = PartialObjectParser()
    per: list[float] = []
    start = time.perf_counter()
    for frag in frags:
        t = time.perf_counter()
        parser.feed(frag)
        per.append(time.perf_counter() - t)
    return time.perf_counter() - start, per


def time_naive(frags: list[str], limit: int) -> float:
    """Re-parse the whole buffer each delta (closing the open string to make it valid)."""
    buf = ""
    start = time.perf_counter()
    for frag in frags[:limit]:
        buf += frag
        with contextlib.suppress(json.JSONDecodeError):
            json.loads(buf + '"}')
    return time.perf_counter() - start


async def end_to_end(lines: int, reps: int = 1) -> tuple[list[float], list[float], int]:
    """(honk seconds, floor seconds) per rep, and previews, for a streamed create of ``lines``.

    Honk and the floor alternate on one client and one server, so drift hits both alike.
    """
    import anthropic

    from desktop.adapters.editor.tool import EditorTool
    from desktop.core.config import HonkConfig
    from desktop.core.events import EditPreview, Event
    from desktop.core.pipeline import ChangeContext
    from desktop.sim.messages_api import ScriptedMessagesAPI
    from desktop.sim.messages_script import create_turn, text_turn
    from desktop.steps.agent import AgentSettings, AgentStep, Toolbox

    text = json.loads(make_input(lines))["file_text"]
    turn = create_turn("app/Big.kt", text, chunk_chars=CHUNK)
    with ScriptedMessagesAPI([turn, text_turn("done"), turn, text_turn("done")] * reps) as api, \
            tempfile.TemporaryDirectory() as tmp:
        client = anthropic.AsyncAnthropic(api_key="bench", base_url=api.base_url)
        root = Path(tmp)
        editor = EditorTool(root)
        deltas = 0

        def emit(event: Event) -> None:
            nonlocal deltas
            if isinstance(event, EditPreview):
                deltas += 1

        async def file_diff(rel: str) -> tuple[str, int, int]:
            return "", lines, 0

        async def verifiers() -> str:
            return ""

        settings = AgentSettings(model="claude-sonnet-4-6", max_turns=5, max_cost_usd=100,
                                 max_tokens=64000, system="bench")
        step = AgentStep(client, settings, lambda ctx: Toolbox(editor.run, file_diff, verifiers))
        honk: list[float] = []
        floor: list[float] = []
        for _ in range(reps):
            ctx = ChangeContext(change_id="b", request="r", worktree=tmp, branch="b",
                                base_commit="0", config=HonkConfig(), emit=emit, model="m",
                                prompt="go")
            deltas = 0
            start = time.perf_counter()
            await step.run(ctx)
            honk.append(time.perf_counter() - start)

            # Floor: the same two streams through the same SDK, consumed and thrown away.
            start = time.perf_counter()
            for _turn in range(2):
                stream: Any = await client.messages.create(
                    model="claude-sonnet-4-6", max_tokens=64000,
                    messages=[{"role": "user", "content": "go"}], stream=True)
                async with stream:
                    async for _ in stream:
                        pass
            floor.append(time.perf_counter() - start)
        await client.close()
    return honk, floor, deltas


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 2)

    frags = fragments(make_input(args.lines))
    full = "".join(frags)
    inc, floor, first, last = [], [], [], []
    for _ in range(args.repeat):
        total, per = time_incremental(frags)
        inc.append(total)
        tenth = max(1, len(per) // 10)
        first.append(statistics.median(per[:tenth]))
        last.append(statistics.median(per[-tenth:]))
        t = time.perf_counter()
        json.loads(full)
        floor.append(time.perf_counter() - t)
    sizes = [args.lines // 4, args.lines // 2, args.lines, args.lines * 2, args.lines * 4]
    growth = [statistics.median(time_incremental(fragments(make_input(n)))[0] for _ in range(5))
              for n in sizes]
    naive = statistics.median(time_naive(frags, len(frags))
                              for _ in range(max(1, args.repeat // 2)))

    honk_runs, floor_runs, deltas = asyncio.run(end_to_end(args.lines, args.repeat))
    honk_s = statistics.median(honk_runs)
    floor_s = statistics.median(floor_runs)
    exponent = fit_exponent(sizes, growth)

    figures = {
        "lines": args.lines, "chars": len(full), "deltas": len(frags),
        "parser_total_ms": statistics.median(inc) * 1e3,
        "json_loads_once_ms": statistics.median(floor) * 1e3,
        "parser_vs_loads_once": statistics.median(inc) / statistics.median(floor),
        "per_delta_first_tenth_us": statistics.median(first) * 1e6,
        "per_delta_last_tenth_us": statistics.median(last) * 1e6,
        "growth_exponent": exponent,
        "naive_reparse_ms": naive * 1e3,
        "naive_vs_incremental": naive / statistics.median(inc),
        "e2e_honk_ms": honk_s * 1e3, "e2e_sdk_floor_ms": floor_s * 1e3,
        "e2e_ratio": honk_s / floor_s, "e2e_previews": deltas,
        "e2e_overhead_per_delta_us": (honk_s - floor_s) / max(1, deltas) * 1e6,
    }
    print(f"stream_edit: {args.lines} lines, {len(full):,} chars, {len(frags):,} deltas "
          f"of {CHUNK} chars; medians of {args.repeat}")
    for key, value in figures.items():
        print(f"  {key:<28} {value:,.3f}" if isinstance(value, float) else f"  {key:<28} {value:,}")
    if args.json:
        from bench.common import Figure, write_figures

        name = "stream_edit"
        rows = [
            Figure(name, "partial-JSON parse, whole edit", statistics.median(inc) * 1e3, "ms",
                   statistics.median(floor) * 1e3,
                   note=f"{len(full):,} chars in {len(frags):,} deltas; floor: json.loads once"),
            Figure(name, "partial-JSON growth exponent", exponent, "",
                   goal="~1 (< 1.3)", ok=exponent < 1.3,
                   note=f"fitted on {sizes[0]:,}..{sizes[-1]:,} lines"),
            Figure(name, "per delta, last tenth vs first", statistics.median(last) * 1e6, "us",
                   statistics.median(first) * 1e6, note="flat means linear"),
            Figure(name, "naive re-parse per delta (for scale)", naive * 1e3, "ms",
                   statistics.median(inc) * 1e3, note="floor: our incremental parser"),
            Figure(name, "streamed edit via agent step", honk_s * 1e3, "ms", floor_s * 1e3,
                   note=f"floor: same SDK streams, no processing; {deltas:,} previews"),
            Figure(name, "agent overhead per delta", (honk_s - floor_s) / max(1, deltas) * 1e6,
                   "us"),
        ]
        write_figures(args.json, name, rows, figures)


if __name__ == "__main__":
    main()
