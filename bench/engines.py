"""Engines: the same scripted conversation through the built-in engine and Claude Code.

    python -m bench.engines [--reps 5] [--quick] [--json FILE]

One change per run: a real `honk run --json` subprocess on a fresh repo, against the
scripted Messages API (in this process, on loopback). The script is the same conversation in
each engine's own tool vocabulary: one edit of app/greeting.py ("Hello" -> "Hej", streamed
in 3-character deltas), then "Done.". With ``engine = "claude-code"`` the real
claude-agent-sdk and its bundled CLI do the talking; Honk boxes it and streams its edit.

Figures (medians), each as a ratio to the built-in engine measured in the same run (the floor):
1. Honk's own overhead per change: the CPU time of the `honk` process itself (user + system,
   its children such as the Claude Code CLI, git and the verifier not counted), from start
   to exit. That is the work Honk does around an engine, not the engine's.
2. First edit delta -> first preview: from the scripted API writing the first
   ``input_json_delta`` of the edit to the CLI's JSON printer's first ``edit_preview`` line
   reaching this process (what `--json` and the window both read off the bus).
The wall time of a whole change is a third row, for scale: Claude Code's CLI starts a Node
process and makes calls of its own.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.common import Figure, median, write_figures

ROOT = Path(__file__).resolve().parent.parent
GREETING_FILE = "app/greeting.py"
KEY = "sk-ant-bench-scripted-0123456789"
CHUNK = 3
EDIT_TOOLS = (b'"str_replace_based_edit_tool"', b'"Edit"')
ENGINES = ("messages", "claude-code")
# The child reports its own CPU time (children excluded) on its last stderr line.
CHILD = ("import resource, sys\n"
         "from desktop.cli.main import main\n"
         "code = main(sys.argv[1:])\n"
         "r = resource.getrusage(resource.RUSAGE_SELF)\n"
         "sys.stderr.write(f'\\nHONK-CPU {r.ru_utime + r.ru_stime}\\n')\n"
         "sys.exit(code)\n")
HONK_TOML = """[[verify]]
name = "greeting-is-swedish"
command = ["python3", "-c", "import sys; sys.exit(0 if 'Hej' in open('app/greeting.py').read() else 1)"]

[judge]
enabled = false

[agent]
engine = "{engine}"
max_turns = 6
"""

_first_delta: dict[str, float] = {}  # the scripted API's stamp, written by its handler thread


@contextmanager
def stamped_api(turns: list[Any]) -> Iterator[Any]:
    """The scripted API, stamping when it writes the first ``input_json_delta``."""
    from desktop.sim import messages_api

    handler: Any = messages_api._Handler
    write = handler._write_chunk

    def stamped(self: Any, data: bytes) -> None:
        write(self, data)
        if data.startswith(b"event: content_block_start") and any(
                name in data for name in EDIT_TOOLS):
            _first_delta["edit_started"] = 1.0
        elif "edit_started" in _first_delta and b"input_json_delta" in data:
            _first_delta.setdefault("at", time.perf_counter())

    handler._write_chunk = stamped
    try:
        with messages_api.ScriptedMessagesAPI(turns, expected_api_key=KEY) as api:
            yield api
    finally:
        handler._write_chunk = write


def script(engine: str) -> list[Any]:
    from desktop.sim.messages_claude_code import claude_edit_turn, read_turn
    from desktop.sim.messages_script import edit_turn, text_turn

    if engine == "messages":
        return [edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=CHUNK),
                text_turn("Done.")]
    # Claude Code refuses an Edit of a file it has not read: its one extra (untimed) turn.
    return [read_turn(GREETING_FILE),
            claude_edit_turn(GREETING_FILE, '"Hello"', '"Hej"', chunk_chars=CHUNK),
            text_turn("Done.")]


def make_repo(root: Path, engine: str, env: dict[str, str]) -> Path:
    repo = root / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "greeting.py").write_text('GREETING = "Hello"\n')
    (repo / "honk.toml").write_text(HONK_TOML.format(engine=engine))
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "commit", "-q", "-m", "initial"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
    return repo


def one_change(engine: str) -> dict[str, float]:
    """One `honk run --json` with ``engine``: wall s, Honk's CPU s, delta->preview s."""
    with tempfile.TemporaryDirectory(prefix="honk-bench-engines-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "HONK_HOME": str(root / "home"),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
               "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
               "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
               "GIT_CONFIG_NOSYSTEM": "1", "HONK_RETRY_BACKOFF_S": "0.01",
               "ANTHROPIC_API_KEY": KEY}
        repo = make_repo(root, engine, env)
        _first_delta.clear()
        with stamped_api(script(engine)) as api:
            env["ANTHROPIC_BASE_URL"] = api.base_url
            start = time.perf_counter()
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, "run", "Make the greeting Swedish", "--repo",
                 str(repo), "--json"], cwd=root, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
            assert proc.stdout is not None and proc.stderr is not None
            stderr_pipe = proc.stderr
            err: list[str] = []
            drain = threading.Thread(target=lambda: err.append(stderr_pipe.read()), daemon=True)
            drain.start()
            preview_seen = None
            lines = []
            for line in proc.stdout:
                if preview_seen is None and '"type": "edit_preview"' in line:
                    preview_seen = time.perf_counter()
                lines.append(line)
            code = proc.wait(timeout=300)
            wall = time.perf_counter() - start
            drain.join(timeout=10)
        stderr = "".join(err)
        if code != 0 or preview_seen is None or "at" not in _first_delta:
            raise RuntimeError(f"{engine}: honk run exited {code}, preview seen "
                               f"{preview_seen is not None}:\n{stderr[-3000:]}"
                               f"\n{''.join(lines)[-2000:]}")
        if '"awaiting_approval"' not in lines[-1]:
            raise RuntimeError(f"{engine}: the change did not finish: {lines[-1][:500]}")
        cpu = float(stderr.rsplit("HONK-CPU ", 1)[1].split()[0])
        return {"wall_s": wall, "cpu_s": cpu, "preview_s": preview_seen - _first_delta["at"]}


def bench(reps: int) -> tuple[list[Figure], dict[str, Any]]:
    samples: dict[str, list[dict[str, float]]] = {e: [] for e in ENGINES}
    for n in range(reps + 1):  # round 0 warms bytecode and the CLI's caches; dropped
        for engine in ENGINES:  # interleaved, so drift on a shared machine hits both
            got = one_change(engine)
            if n:
                samples[engine].append(got)

    def med(engine: str, key: str) -> float:
        return median([s[key] for s in samples[engine]])

    figures: list[Figure] = []
    for key, name, unit, scale in (
            ("cpu_s", "Honk's own CPU per change", "ms", 1000.0),
            ("preview_s", "first edit delta -> first preview", "ms", 1000.0),
            ("wall_s", "wall time per change", "ms", 1000.0)):
        floor = med("messages", key) * scale
        figures.append(Figure("engines", f"messages: {name}", floor, unit,
                              note="" if key != "cpu_s" else
                              f"floor for the claude-code rows; {reps} runs each"))
        figures.append(Figure("engines", f"claude-code: {name}", med("claude-code", key) * scale,
                              unit, floor=floor,
                              note="floor: the built-in engine, same run" if key == "cpu_s"
                              else ""))
    return figures, {"samples": samples, "reps": reps, "chunk_chars": CHUNK}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engines",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="timed runs per engine (median)")
    parser.add_argument("--quick", action="store_true", help="2 timed runs per engine")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    from desktop.adapters.claude_code.sdk import sdk_installed

    if not sdk_installed():
        print("claude-agent-sdk is not installed: pip install 'honk-desktop[claude-code]'")
        return 1
    figures, extra = bench(2 if args.quick else args.reps)
    for f in figures:
        ratio = f"  {f.ratio:.2f}x" if f.ratio is not None else ""
        print(f"{f.name:<48} {f.value:8.1f} {f.unit}{ratio}")
    write_figures(args.json, "engines", figures, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
