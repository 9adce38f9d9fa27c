"""The headless demo's story: one request through the real services on the demo's stand-ins,
printed as DEMO lines (or JSON lines), then the checks that every stage truly happened."""

from __future__ import annotations

import contextlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from desktop.adapters.git.cli import GitError, git
from desktop.demo.phone import PhoneOutcome, run_phone_leg

if TYPE_CHECKING:
    from desktop.demo.actions import DemoActions
    from desktop.demo.script import SuggestedRequest
    from desktop.sim.slack import FakeSlack

__all__ = ["PACKAGE", "DemoStage", "apk_has_manifest", "dumps", "run_story"]

PACKAGE = "com.example.honkplayer"


class DemoStage(Protocol):
    """What the story needs of the demo's stand-ins (``DemoEnvironment`` has all of it)."""

    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def repo(self) -> Path: ...
    @property
    def remote(self) -> Path: ...
    @property
    def serial(self) -> str: ...
    @property
    def device(self) -> Any: ...
    @property
    def slack(self) -> FakeSlack | None: ...
    @property
    def actions(self) -> DemoActions | None: ...


def apk_has_manifest(path: Path) -> bool:
    """Whether ``path`` is a zip holding AndroidManifest.xml (what adb and the device need)."""
    try:
        with zipfile.ZipFile(path) as apk:
            return "AndroidManifest.xml" in apk.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def dumps(data: Mapping[str, Any]) -> str:
    """One JSON line."""
    return json.dumps(data, default=str)


@dataclass
class _Story:
    """Prints the DEMO-labelled story and keeps the events the final checks need."""

    out: TextIO
    json_lines: bool
    events: list[Any]
    previews: int = 0
    _streaming: str = ""
    _runs: dict[int, Any] = field(default_factory=dict)  # remote build runs, by id

    def say(self, text: str) -> None:
        if self.json_lines:
            self.out.write(dumps({"type": "demo", "message": text}) + "\n")
        else:
            self.out.write(f"DEMO  {text}\n")
        self.out.flush()

    def on_event(self, event: Any) -> None:
        from desktop.core.events import event_to_dict

        kind = event.type
        if kind == "edit_preview":
            self.previews += 1
            if event.tool_use_id != self._streaming and event.path:
                self._streaming = event.tool_use_id
                self.say(f"edit streaming live: {event.command} {event.path}")
            return
        if kind == "build_log" and self._runs and not self.json_lines:
            self.say(f"run log: {event.line}")  # the GitHub Actions job's log, as fetched
            return
        if event.ephemeral:
            return
        self.events.append(event)
        if kind == "remote_build_started":
            self._runs[event.run_id] = event
        if self.json_lines:
            self.out.write(dumps(event_to_dict(event)) + "\n")
            return
        line = _story_line(event, remote=bool(self._runs))
        if line:
            self.say(line)


def _story_line(e: Any, *, remote: bool = False) -> str | None:
    lines: dict[str, Any] = {
        "agent_text": lambda: f"agent: {e.text.strip()}",
        "edit_applied": lambda: f"edit applied: {e.path} (+{e.added} -{e.removed})",
        "verifier_result": lambda: (f"verifier {e.name!r} passed" if e.passed else
                                    f"verifier {e.name!r} FAILED: {_gist(e.output)}"),
        "committed": lambda: f"committed {e.commit[:10]} on {e.branch}",
        "judge_verdict": lambda: f"judge: {e.verdict}: {e.summary}",
        "remote_build_started": lambda: f"dispatched {e.workflow} to GitHub Actions: run "
                                        f"{e.run_id} ({e.url}) builds {e.commit[:10]} pushed "
                                        f"as {e.branch}",
        "remote_build_status": lambda: f"run {e.run_id} {e.status.replace('_', ' ')}"
                                       + (f": {e.conclusion}" if e.conclusion else ""),
        "artifact_built": lambda: (
            f"downloaded {Path(e.path).name} from the run ({e.size} bytes, sha256 {e.sha256})"
            if remote else
            f"built {Path(e.path).name} ({e.size} bytes, sha256 {e.sha256[:12]})"),
        "installed": lambda: f"installed on {e.device} through adb (sha256 "
                             f"{e.artifact_sha256[:12]})",
        "launched": lambda: f"launched {e.package} on {e.device}",
        "approved": lambda: f"approved commit {e.commit[:10]} by {e.actor}",
        "merged": lambda: f"merged into {e.remote}/{e.target} at {e.merged_commit[:10]}",
        "stage_failed": lambda: f"stage {e.stage.value} failed: {e.reason}",
    }
    make = lines.get(e.type)
    return str(make()) if make else None


def _gist(output: str) -> str:
    """The most telling line of a verifier's failing output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    telling = [line for line in lines if "Error" in line or "assert" in line.lower()]
    return (telling or lines or ["(no output)"])[0]


def _of(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.type == kind]


async def run_story(demo: DemoStage, request: SuggestedRequest, out: TextIO, *,
                    json_lines: bool = False, phone: SuggestedRequest | None = None) -> int:
    """Run ``request`` through the real services on ``demo``; print the story and checks.
    ``phone``: then ask for that one from the phone, over Slack (the phone path)."""
    from desktop.app.services import build_services
    from desktop.core.options import RunOptions
    from desktop.core.stages import ChangeState

    story = _Story(out, json_lines, [])
    story.say("Honk Desktop demo: scripted model, virtual phone, throw-away repo; "
              "no real API, phone, Slack or GitHub is touched")
    if demo.actions is not None:
        story.say(f"builds run on a loopback GitHub Actions at {demo.actions.api_url}: its "
                  "runner checks out the dispatched commit and builds the app's APK")
    story.say(f"request: {request.text}")
    services = build_services(demo.env)
    unsubscribe = services.bus.subscribe(story.on_event)
    problem = ""
    on_phone: PhoneOutcome | None = None
    checks: dict[str, tuple[bool, str]] = {}
    try:
        try:
            ctx, workspace, worktree = services.changes.create(
                request.text, demo.repo, RunOptions(device=demo.serial))
            state = await services.changes.run(ctx, workspace, worktree)
            if state is ChangeState.AWAITING_APPROVAL:
                await services.approvals.approve(ctx.change_id)
            else:
                problem = f"the change stopped as {state.value}"
        finally:
            unsubscribe()  # the story's checks are about the desk's change
        checks = _checks(demo, story)  # before the phone's change moves phone and remote
        if not problem and phone is not None and demo.slack is not None:
            story.say("now from the phone: the same desk machine serves Slack "
                      "(`honk slack`), and the request comes from a phone")
            on_phone = await run_phone_leg(services=services, slack=demo.slack,
                                           repo=demo.repo, device=demo.serial,
                                           request=phone.text, say=story.say)
        report = services.audit.verify()
    except Exception as exc:  # reported as a failed check; the demo must not hide it
        problem, report = f"{type(exc).__name__}: {exc}", None
    finally:
        await services.context.aclose()
        services.close()
    if not checks:
        checks = _checks(demo, story)
    checks["audit"] = (report is not None and bool(report.ok), str(report))
    if problem:
        checks["completed"] = (False, problem)
    if phone is not None:
        checks["phone"] = ((on_phone.ok, on_phone.detail) if on_phone is not None
                           else (False, "not tried: the desk's change did not complete"))
    for name, (ok, detail) in checks.items():
        story.say(f"check {name}: {'ok' if ok else 'FAILED'} ({detail})")
    failed = [name for name, (ok, _) in checks.items() if not ok]
    if json_lines:
        out.write(dumps({"type": "demo_result", "ok": not failed, "failed": failed}) + "\n")
    elif failed:
        story.say("FAILED: " + ", ".join(failed))
    else:
        if on_phone is not None:
            story.say("OK (phone): asked from Slack, followed in its thread, build posted "
                      "there, approved from the phone, merged")
        built = "built on GitHub Actions" if demo.actions is not None else "built"
        story.say(f"OK: edits streamed, verified, judged, {built}, installed, approved, merged, "
                  "audit verified")
    out.flush()
    return 1 if failed else 0


def _checks(demo: DemoStage, story: _Story) -> dict[str, tuple[bool, str]]:
    """What the desk's change must have done (the audit log is checked at the very end)."""
    events = story.events
    results = _of(events, "verifier_result")
    built = _of(events, "artifact_built")
    installed = _of(events, "installed")
    merged = _of(events, "merged")
    checks: dict[str, tuple[bool, str]] = {
        "streamed": (story.previews > 0 and bool(_of(events, "edit_applied")),
                     f"{story.previews} preview fragments, "
                     f"{len(_of(events, 'edit_applied'))} edits"),
        "verified": (any(not r.passed for r in results) and bool(results)
                     and all(r.passed for r in results[-2:]),
                     f"{sum(not r.passed for r in results)} failing then passing runs"),
        "judged": (any(v.verdict == "approve" for v in _of(events, "judge_verdict")),
                   "judge approved"),
    }
    sha = built[-1].sha256 if built else ""
    apk_ok = bool(built) and built[-1].path.endswith(".apk") and apk_has_manifest(
        Path(built[-1].path))
    checks["built"] = (apk_ok, built[-1].path if built else "no artifact")
    package = demo.device.packages.get(PACKAGE) if demo.device is not None else None
    device_sha = package.sha256 if package is not None else ""
    checks["installed"] = (bool(sha) and device_sha == sha
                           and any(i.artifact_sha256 == sha for i in installed),
                           f"device holds {PACKAGE} sha256 {device_sha[:12] or 'none'}")
    if demo.actions is not None:
        checks["remote build"] = _remote_check(demo.actions, events, device_sha)
    tip = ""
    with contextlib.suppress(GitError):
        tip = git("rev-parse", "main", cwd=demo.remote)
    checks["merged"] = (bool(merged) and merged[-1].merged_commit == tip,
                        f"production main at {tip[:10]}")
    return checks


def _remote_check(actions: DemoActions, events: list[Any], device_sha: str
                  ) -> tuple[bool, str]:
    """The desk's commit was dispatched to the loopback GitHub, its run built exactly that
    commit, and what the runner uploaded is what the phone holds."""
    committed, started = _of(events, "committed"), _of(events, "remote_build_started")
    if not committed or not started:
        return False, "no workflow run was dispatched for the change"
    commit, run_id = committed[-1].commit, started[-1].run_id
    statuses = [s.status for s in _of(events, "remote_build_status") if s.run_id == run_id]
    run = actions.run(run_id)
    made = actions.built_for(commit)
    dispatched = any(isinstance(d, dict) and (d.get("inputs") or {}).get("sha") == commit
                     for d in actions.dispatches())
    ok = (dispatched and started[-1].commit == commit and run.get("head_sha") == commit
          and run.get("conclusion") == "success" and statuses[-1:] == ["completed"]
          and made is not None and made.ok and made.sha256 == device_sha)
    uploaded = f"{made.file} sha256 {made.sha256}" if made is not None and made.ok else "nothing"
    return ok, (f"run {run_id} on the loopback GitHub built {commit[:10]} "
                f"({' -> '.join(statuses) or 'never followed'}); the runner uploaded "
                f"{uploaded}; the phone holds sha256 {device_sha or 'none'}")
