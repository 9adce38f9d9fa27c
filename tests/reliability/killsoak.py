"""The random-kill soak: `honk run` and `honk approve` killed with SIGKILL at random points,
then checked and finished. Shared by tests/reliability/test_kill_soak.py and
bench/kill_soak.py.

One round: a fresh copy of the demo app with a bare "production" remote and a fresh
HONK_HOME; the run is killed at a random moment of a chosen phase (agent streaming, verify,
commit, judge, build, install, or anywhere); then the journal, `honk history`, the user's
checkout and the worktree are checked, `honk resume` finishes the change, `honk approve` is
killed at a random moment too and run again, and the remote must hold the change once.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from desktop.adapters.store.audit_log import AuditLog
from desktop.adapters.store.journal import ChangeJournal
from desktop.demo.environment import demo_resources
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.sim.messages_routing import Route, route_by
from desktop.sim.messages_script import Response, edit_turn, text_turn, tool_turn
from tests.reliability.procs import KEY, history, honk, start

LAYOUT = "player/layout.py"
OLD = "    y = (height - 3 * size) // 8\n"
NEW = "    y = max(TITLE_HEIGHT + MARGIN, (height - 3 * size) // 8)\n"
REQUEST = "The play button overlaps the title on small screens"
PHASES = ("stream", "verify", "commit", "judge", "build", "install", "anywhere")
# The stage whose start arms the kill, and how long after it the kill may land (seconds).
TRIGGERS = {"stream": ("edit_preview", None, 0.6), "verify": ("stage_started", "verify", 0.35),
            "commit": ("stage_started", "commit", 0.1), "judge": ("stage_started", "judge", 0.3),
            "build": ("stage_started", "build", 0.5),
            "install": ("stage_started", "install", 0.25)}
CONFIG_EXTRA = """
[judge]
enabled = true
"""


@dataclass
class RoundResult:
    phase: str
    killed_in: str = ""  # the state `honk history` showed after the run was killed
    approve_killed_in: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def lost_nothing(self) -> bool:
        return not self.problems


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout.strip()


def make_app(root: Path) -> tuple[Path, Path]:
    """The demo app in ``root/app`` with slower verifiers and build (wider kill windows)."""
    repo, remote = root / "app", root / "production.git"
    shutil.copytree(demo_resources() / "demo" / "app", repo,
                    ignore=shutil.ignore_patterns("__pycache__", "build"))
    toml = (repo / "honk.toml").read_text()
    toml = toml.replace('command = ["python3", "build_apk.py"]',
                        'command = ["sh", "-c", "sleep 0.3 && exec python3 build_apk.py"]')
    toml = toml.replace('command = ["python3", "-m", "compileall", "-q", "player"]',
                        'command = ["sh", "-c", "sleep 0.2 && exec python3 -m compileall -q '
                        'player"]')
    (repo / "honk.toml").write_text(toml + CONFIG_EXTRA)
    # A 12 MB incompressible asset: installing takes long enough to be killed in.
    build = (repo / "build_apk.py").read_text()
    (repo / "build_apk.py").write_text(build.replace(
        'apk.writestr("classes.dex", dex)',
        'apk.writestr("classes.dex", dex)\n        import random\n'
        '        apk.writestr("assets/blob.bin", random.Random(0).randbytes(12_000_000), '
        'compress_type=zipfile.ZIP_STORED)'))
    (repo / ".gitignore").write_text("build/\n__pycache__/\n")
    _git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    _git(root, "init", "-q", "-b", "main", str(repo))
    _git(repo, "add", "--all")
    _git(repo, "commit", "-q", "-m", "sample app")
    _git(repo, "remote", "add", "origin", str(remote))
    _git(repo, "push", "-q", "origin", "main")
    return repo, remote


def api_session() -> ScriptedMessagesAPI:
    """A fresh scripted model per process: the agent's session and the judge's verdicts."""
    verdict = {"verdict": "approve", "summary": "Only the button position changed.",
               "reasons": [], "flags": []}
    agent: list[Response] = [
        edit_turn(LAYOUT, OLD, NEW, "Moving the button below the title.", chunk_chars=3,
                  delay_s=0.01),
        tool_turn("run_verifiers", {}),
        text_turn("The button now starts below the title."),
    ]
    scripts: dict[str, list[Response]] = {"judge": [tool_turn("submit_verdict", verdict)] * 4,
                                          "agent": agent}
    router = route_by([Route("judge", tool="submit_verdict"), Route("agent")])
    return ScriptedMessagesAPI(scripts, router, expected_api_key=KEY)


def checkout_state(repo: Path) -> str:
    """What the person sees in their checkout: files, HEAD, branch, index, status."""
    digest = hashlib.sha256()
    for path in sorted(p for p in repo.rglob("*") if ".git" not in p.relative_to(repo).parts):
        if path.is_file():
            digest.update(str(path.relative_to(repo)).encode() + b"\0" + path.read_bytes())
    for args in (("rev-parse", "HEAD"), ("symbolic-ref", "HEAD"), ("ls-files", "-s"),
                 ("status", "--porcelain"), ("rev-parse", "main")):
        digest.update(_git(repo, *args).encode())
    return digest.hexdigest()


def _kill_after(proc: subprocess.Popen[str], delay: float) -> threading.Timer:
    def kill() -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)

    timer = threading.Timer(delay, kill)
    timer.start()
    return timer


def _run_and_kill(args: list[str], env: dict[str, str], rng: random.Random, phase: str
                  ) -> tuple[str, bool]:
    """Start ``honk args``, kill it in ``phase``; return its change id and whether it died."""
    proc = start(*args, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    timer = None
    if phase == "anywhere":
        timer = _kill_after(proc, rng.uniform(0.3, 6.0))
    change = ""
    try:
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = json.loads(line)
            change = change or str(event.get("change") or "")
            if timer is None and phase in TRIGGERS:
                kind, stage, window = TRIGGERS[phase]
                if event["type"] == kind and (stage is None or event.get("stage") == stage):
                    time.sleep(rng.uniform(0, window))
                    os.kill(proc.pid, signal.SIGKILL)
                    break
    finally:
        _reap(proc, timer)
    return change, proc.returncode == -signal.SIGKILL


def one_round(root: Path, device_env: dict[str, str], serial: str, rng: random.Random,
              phase: str) -> RoundResult:
    """One kill of `honk run` and one of `honk approve`, each checked and then finished."""
    result = RoundResult(phase)
    problems = result.problems
    repo, remote = make_app(root)
    home = root / "home"
    env = {**device_env, "HONK_HOME": str(home), "ANTHROPIC_API_KEY": KEY,
           "HONK_RETRY_BACKOFF_S": "0.01"}
    before = checkout_state(repo)
    original = (repo / LAYOUT).read_text()
    expected = original.replace(OLD, NEW)

    with api_session() as api:
        env["ANTHROPIC_BASE_URL"] = api.base_url
        change, killed = _run_and_kill(["run", REQUEST, "--repo", str(repo), "--json",
                                         "--device", serial], env, rng, phase)
    if not change:
        return _fail(result, "the run printed no change id before it was killed")

    # After the kill: the journal opens, history tells the truth, nothing half-written.
    try:
        ChangeJournal(home / "journal.sqlite3").close()
    except Exception as exc:
        return _fail(result, f"the journal does not open after the kill: {exc}")
    rows = {str(r["id"]): r for r in history(env)}
    row = rows.get(change)
    if row is None:
        return _fail(result, f"history does not list change {change}")
    result.killed_in = str(row["state"])
    resting = {"awaiting_approval", "committed", "failed"}
    if killed and result.killed_in not in {"interrupted", *resting}:
        problems.append(f"killed run shows as {result.killed_in}, not interrupted")
    if checkout_state(repo) != before:
        problems.append("the user's checkout changed")
    worktree = Path(str(row["worktree"]))
    text = (worktree / LAYOUT).read_text() if (worktree / LAYOUT).exists() else "<missing>"
    if text not in (original, expected):
        problems.append(f"{LAYOUT} in the worktree is neither the old nor the new text")

    if result.killed_in == "interrupted":
        with api_session() as api:
            env["ANTHROPIC_BASE_URL"] = api.base_url
            done = honk("resume", change, "--json", env=env, timeout=90)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout.splitlines()[-1] if done.stdout else "")[-400:]
            return _fail(result, f"resume failed ({done.returncode}): {tail}")
    view = {str(r["id"]): r for r in history(env)}[change]
    if view["state"] != "awaiting_approval":
        return _fail(result, f"after resume the change is {view['state']}: {view.get('reason')}")
    leftovers = [p.name for p in worktree.rglob(".honk-edit-*")]
    if leftovers:
        problems.append(f"temp files left in the worktree: {leftovers}")
    commit = str(view["commit"])
    if _git(repo, "show", f"{commit}:{LAYOUT}") + "\n" != expected:
        problems.append("the committed layout.py is not exactly the one edit")
    if _git(repo, "ls-tree", "-r", "--name-only", commit).count(".honk-edit-") > 0:
        problems.append("a temp file was committed")
    _check_edits_once(home, change, problems)

    # Approve, killed at a random moment (half the time right after the approval is
    # journalled, i.e. around the push), then again.
    _kill_approve(change, env, rng)
    result.approve_killed_in = str({str(r["id"]): r for r in history(env)}[change]["state"])
    if result.approve_killed_in not in ("interrupted", "awaiting_approval", "merged"):
        problems.append(f"killed approve shows as {result.approve_killed_in}")
    again = honk("approve", change, "--json", env=env)
    if again.returncode != 0:
        problems.append(f"approve after the kill failed: {again.stderr[-400:]}")
    _check_merged_once(remote, change, commit, expected, problems)
    if checkout_state(repo) != before:
        problems.append("the user's checkout changed during approval")
    audit = AuditLog(home / "audit.sqlite3")
    report = audit.verify()
    if not report.ok:
        problems.append(f"audit log: {report}")
    return result


def _reap(proc: subprocess.Popen[str], timer: threading.Timer | None) -> None:
    """Stop the pending kill, wait for the (killed or finished) process, close its pipes."""
    if timer is not None:
        timer.cancel()
    proc.wait(timeout=60)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    proc.stderr.close()


def _kill_approve(change: str, env: dict[str, str], rng: random.Random) -> None:
    proc = start("approve", change, "--json", env=env)
    assert proc.stdout is not None and proc.stderr is not None
    timer = _kill_after(proc, rng.uniform(0.05, 0.7)) if rng.random() < 0.5 else None
    try:
        for line in proc.stdout:
            if timer is None and '"type": "approved"' in line:
                time.sleep(rng.uniform(0, 0.1))
                os.kill(proc.pid, signal.SIGKILL)
                break
    finally:
        _reap(proc, timer)


def _check_edits_once(home: Path, change: str, problems: list[str]) -> None:
    journal = ChangeJournal(home / "journal.sqlite3")
    try:
        ids = [e.tool_use_id for e in journal.events(change)  # type: ignore[attr-defined]
               if e.type == "edit_applied"]
    finally:
        journal.close()
    if len(ids) != len(set(ids)):
        problems.append(f"a tool call's edit was applied twice: {ids}")


def _check_merged_once(remote: Path, change: str, commit: str, expected: str,
                       problems: list[str]) -> None:
    log = _git(remote, "log", "--format=%H %B", "main")
    if log.count(f"Honk-Change: {change}") != 1:
        problems.append(f"the remote holds the change {log.count(f'Honk-Change: {change}')} "
                        "times")
    if commit not in _git(remote, "rev-list", "main").split():
        problems.append("the approved commit is not on the remote's main")
    if _git(remote, "show", f"main:{LAYOUT}") + "\n" != expected:
        problems.append("the remote's layout.py is not exactly the one edit")


def _fail(result: RoundResult, problem: str) -> RoundResult:
    result.problems.append(problem)
    return result


def soak(rounds: int, work: Path, device_env: dict[str, str], serial: str, seed: int,
         log: bool = False) -> list[RoundResult]:
    """``rounds`` rounds, phases taken in turn so each gets its share; returns every result."""
    rng = random.Random(seed)
    results = []
    for i in range(rounds):
        phase = PHASES[i % len(PHASES)]
        root = work / f"round-{i:03d}"
        root.mkdir(parents=True)
        started = time.monotonic()
        r = one_round(root, device_env, serial, rng, phase)
        results.append(r)
        if log:
            print(f"round {i + 1:>3}/{rounds} {phase:<8} run killed as {r.killed_in or '-':<18}"
                  f" approve killed as {r.approve_killed_in or '-':<18}"
                  f" {'ok' if r.lost_nothing else 'LOST: ' + '; '.join(r.problems)}"
                  f"  ({time.monotonic() - started:.1f} s)", flush=True)
        shutil.rmtree(root, ignore_errors=True)
    return results
