"""`honk demo`: the whole flow on loopback, with no API key, phone or GitHub token.

:class:`DemoEnvironment` sets up the stand-ins (a sample app repo with a bare "production"
remote, the scripted Messages API, the virtual Android device behind a private real adb
server, a loopback Slack workspace for the phone path) under a throw-away directory;
:func:`run_headless` drives one change through it at the desk, then one from the phone.
The GUI can use the same environment: pass ``env`` to ``build_services``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TextIO

from desktop.adapters.git.cli import GitError, git
from desktop.core.errors import HonkError
from desktop.demo.phone import PHONE_USER, PHONE_USER_NAMES, PhoneOutcome, run_phone_leg
from desktop.sim.messages_api import Route, ScriptedMessagesAPI, route_by
from desktop.sim.messages_script import Response, Turn, edit_turn, text_turn, tool_turn
from desktop.sim.slack import FakeSlack

if TYPE_CHECKING:
    from desktop.sim.private_adb import PrivateAdbServer

__all__ = ["DEMO_KEY", "DemoEnvironment", "DemoError", "SuggestedRequest", "demo_resources",
           "own_request", "run_headless"]

DEMO_KEY = "sk-ant-demo-0000-not-a-real-key"
PACKAGE = "com.example.honkplayer"
_REPEATS = 5  # each request can be tried this many times per demo session
_OWN_REPEATS = 20  # requests in the person's own words, together, per demo session


class DemoError(HonkError, RuntimeError):
    """The demo could not be set up; the message says what is missing."""


@dataclass(frozen=True)
class SuggestedRequest:
    """A request shown in the composer, with the session the scripted model plays for it."""

    text: str
    agent: tuple[Response, ...]
    verdict: str  # the judge's summary


def demo_resources() -> Path:
    """The `resources/` directory: a bundle, a source checkout or an installed package."""
    from desktop.app.resources import resource_candidates

    candidates = resource_candidates()
    for path in candidates:
        if (path / "demo" / "app" / "honk.toml").is_file():
            return path
    raise DemoError("demo assets not found: expected resources/demo/app/honk.toml under "
                    + " or ".join(str(p) for p in candidates)
                    + "; run from a source checkout, an installed package or a bundle")


def _verifiers() -> Turn:
    return tool_turn("run_verifiers", {}, "Let me run the checks.")


def suggested_requests(pace_s: float = 0.0) -> tuple[SuggestedRequest, ...]:
    """The demo's requests; each agent session fails a verifier once, then fixes it."""
    knobs: dict[str, Any] = {"chunk_chars": 12, "delay_s": pace_s}
    layout = "player/layout.py"
    overlap = SuggestedRequest(
        text="The play button overlaps the title on small screens",
        agent=(
            edit_turn(layout, "PLAY_BUTTON_SIZE = 72", "PLAY_BUTTON_SIZE = 40",
                      "On a 640 dp screen the button starts at y=53, under the 56 dp title. "
                      "A smaller button would clear it.", **knobs),
            _verifiers(),
            edit_turn(layout, "    y = (height - 3 * size) // 8\n",
                      "    y = max(TITLE_HEIGHT + MARGIN, (height - 3 * size) // 8)\n",
                      "40 dp is below the 48 dp touch target. I'll move the button below "
                      "the title instead and keep its size.", **knobs),
            edit_turn(layout, "PLAY_BUTTON_SIZE = 40", "PLAY_BUTTON_SIZE = 72", **knobs),
            _verifiers(),
            text_turn("The play button now always starts below the title (at least 72 dp "
                      "down) and keeps its 72 dp size. All checks pass.", **knobs),
        ),
        verdict="The button is moved below the title; nothing else changed.",
    )
    screen = "player/screen.py"
    pause = SuggestedRequest(
        text="The play button should say Pause while a track is playing",
        agent=(
            edit_turn(screen, '    return f"{APP_TITLE} - {track}" if track else APP_TITLE\n',
                      '    return f"{APP_TITLE} - {track}" if track else APP_TITLE\n\n\n'
                      "def play_label(playing: bool) -> str:\n"
                      '    """The play button\'s label."""\n'
                      '    return "Pause" if playing else "Play\n',
                      "I'll add a label function next to the title text.", **knobs),
            _verifiers(),
            edit_turn(screen, 'else "Play\n', 'else "Play"\n',
                      "I left a string unterminated; fixing it.", **knobs),
            _verifiers(),
            text_turn("Added `play_label(playing)`: Pause while playing, else Play.", **knobs),
        ),
        verdict="Adds the label function asked for and nothing else.",
    )
    return overlap, pause


def own_request(text: str, pace_s: float = 0.0) -> SuggestedRequest:
    """What the scripted model plays for a request in the person's own words (any text no
    suggestion matches): one small, real change to the sample app that fails a check once,
    is fixed, then verifies, builds, installs and can be approved."""
    knobs: dict[str, Any] = {"chunk_chars": 12, "delay_s": pace_s}
    layout = "player/layout.py"
    return SuggestedRequest(
        text=text,
        agent=(
            edit_turn(layout, "    size = PLAY_BUTTON_SIZE\n",
                      "    # Narrow screens: a bigger button is easier to hit with a thumb.\n"
                      "    size = PLAY_BUTTON_SIZE + 16 if width < SMALL_SCREEN_WIDTH "
                      "else PLAY_BUTTON_SIZE\n",
                      "This is the demo's scripted model: for a request in your own words it "
                      "plays one small, real change to the sample app, so you can follow the "
                      "whole flow. I'll give the play button more room on narrow screens.",
                      **knobs),
            _verifiers(),
            edit_turn(layout, "MARGIN = 16\n",
                      "MARGIN = 16\nSMALL_SCREEN_WIDTH = 400  # dp: upright phones are "
                      "360 to 412 dp wide\n",
                      "SMALL_SCREEN_WIDTH is not defined yet; I'll add it next to the other "
                      "sizes.", **knobs),
            _verifiers(),
            text_turn("On screens narrower than 400 dp the play button is now 88 dp (72 dp "
                      "elsewhere); it stays on screen and above the 48 dp touch target. All "
                      "checks pass.", **knobs),
        ),
        verdict="A small layout change: the play button is 16 dp larger on narrow screens; "
                "nothing else changed.",
    )


def _scripts(requests: tuple[SuggestedRequest, ...], own: SuggestedRequest | None = None,
             ) -> tuple[dict[str, list[Response]], list[Route]]:
    scripts: dict[str, list[Response]] = {}
    routes: list[Route] = []
    for i, req in enumerate(requests):
        verdict = {"verdict": "approve", "summary": req.verdict, "reasons": [], "flags": []}
        scripts[f"judge-{i}"] = [tool_turn("submit_verdict", verdict)] * _REPEATS
        scripts[f"agent-{i}"] = list(req.agent) * _REPEATS
        # The judge quotes the request too, so its tool route goes first.
        routes.insert(0, Route(f"judge-{i}", tool="submit_verdict", first_user_contains=req.text))
        routes.append(Route(f"agent-{i}", first_user_contains=req.text))
    if own is not None:  # any other request: after every suggestion's routes, judge first
        verdict = {"verdict": "approve", "summary": own.verdict, "reasons": [], "flags": []}
        scripts["judge-own"] = [tool_turn("submit_verdict", verdict)] * _OWN_REPEATS
        scripts["agent-own"] = list(own.agent) * _OWN_REPEATS
        routes.insert(len(requests), Route("judge-own", tool="submit_verdict"))
        routes.append(Route("agent-own"))
    return scripts, routes


def _git(cwd: Path, *args: str) -> str:
    try:
        return git(*args, cwd=cwd)
    except GitError as exc:
        raise DemoError(f"git {' '.join(args)} in {cwd} failed: {exc}") from None


class DemoEnvironment:
    """Stand-ins for the model, the phone and production, all torn down on exit."""

    def __init__(self, *, pace_s: float = 0.0, base_env: Mapping[str, str] | None = None) -> None:
        self.pace_s = pace_s
        self.base_env = dict(os.environ if base_env is None else base_env)
        self.suggested_requests = suggested_requests(pace_s)
        self.own_request = own_request("", pace_s)  # any other request plays this session
        self.tmp: Path | None = None
        self.env: dict[str, str] = {}
        self.api: ScriptedMessagesAPI | None = None
        self.slack: FakeSlack | None = None  # the phone's Slack workspace
        self.device: Any = None  # VirtualAdbDevice, imported lazily with the adb pieces
        self._device_thread: Any = None
        self._adb: PrivateAdbServer | None = None
        self._adb_env: dict[str, str] = {}

    @property
    def root(self) -> Path:
        if self.tmp is None:
            raise DemoError("the demo environment is not started")
        return self.tmp

    @property
    def repo(self) -> Path:
        """The sample app's checkout (what a person would pass as --repo)."""
        return self.root / "honk-player"

    @property
    def remote(self) -> Path:
        """The bare "production" remote, named origin in the checkout."""
        return self.root / "production.git"

    @property
    def serial(self) -> str:
        """The virtual phone's adb serial."""
        return str(self.device.address)

    def __enter__(self) -> Self:
        self.tmp = Path(tempfile.mkdtemp(prefix="honk-demo-"))
        try:
            self._make_repo()
            self._start_api()
            self._start_device()
            self._start_slack()
        except BaseException:
            self.close()
            raise
        assert self.slack is not None
        self.env = {
            **self.base_env,
            "HONK_HOME": str(self.root / "honk-home"),
            "HONK_DEMO": "1",
            "ANTHROPIC_API_KEY": DEMO_KEY,
            "ANTHROPIC_BASE_URL": self.api.base_url if self.api else "",
            "HONK_RETRY_BACKOFF_S": "0.05",
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_APP_TOKEN": self.slack.app_token,
            "HONK_SLACK_API_URL": self.slack.api_url,
            **self._adb_env,
        }
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _make_repo(self) -> None:
        shutil.copytree(demo_resources() / "demo" / "app", self.repo,
                        ignore=shutil.ignore_patterns("__pycache__", "build"))
        _git(self.root, "init", "-q", "--bare", "-b", "main", str(self.remote))
        _git(self.repo, "init", "-q", "-b", "main")
        _git(self.repo, "config", "user.name", "Demo Engineer")
        _git(self.repo, "config", "user.email", "demo@example.invalid")
        _git(self.repo, "add", "--all")
        _git(self.repo, "commit", "-q", "-m", "Honk Player: sample app")
        _git(self.repo, "remote", "add", "origin", str(self.remote))
        _git(self.repo, "push", "-q", "-u", "origin", "main")

    def _start_api(self) -> None:
        scripts, routes = _scripts(self.suggested_requests, self.own_request)
        self.api = ScriptedMessagesAPI(scripts, route_by(routes), expected_api_key=DEMO_KEY)
        self.api.start()

    def _start_device(self) -> None:
        # Lazy: the adb pieces load only when the demo's phone starts.
        from desktop.sim.adb_device import VirtualAdbDevice
        from desktop.sim.adb_thread import DeviceThread
        from desktop.sim.private_adb import PrivateAdbError, PrivateAdbServer

        self._device_thread = DeviceThread(VirtualAdbDevice(model="Honk Demo Phone"))
        self.device = self._device_thread.start()
        self._adb = PrivateAdbServer(self.root, self.base_env)
        self._adb_env = self._adb.env
        try:
            self._adb.connect(self.serial)
        except PrivateAdbError as exc:
            raise DemoError(str(exc)) from None

    def _start_slack(self) -> None:
        # A fresh app token each time: Honk serves one Slack app once per machine, and two
        # demos may run at once.
        self.slack = FakeSlack(app_token=f"xapp-1-A0HONKDEMO-{secrets.token_hex(8)}",
                               users={PHONE_USER: PHONE_USER_NAMES})
        self.slack.start()

    def close(self) -> None:
        """Stop Slack, the adb server, the device and the API, and delete every file made."""
        if self.slack is not None:
            self.slack.stop()
            self.slack = None
        if self._adb is not None:
            with contextlib.suppress(Exception):
                self._adb.close()  # it daemonizes and would outlive us
            self._adb = None
        if self._device_thread is not None:
            with contextlib.suppress(Exception):
                self._device_thread.stop()
            self._device_thread = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


async def run_headless(out: TextIO, *, json_lines: bool = False, request: int = 0,
                       text: str | None = None) -> int:
    """Run one suggested request (or ``text``, a request in the person's own words) end to
    end; 0 only if every stage truly happened."""
    with DemoEnvironment() as demo:
        chosen = (demo.suggested_requests[request] if text is None
                  else own_request(text, demo.pace_s))
        phone = next(r for r in demo.suggested_requests if r.text != chosen.text)
        return await run_story(demo, chosen, out, json_lines=json_lines, phone=phone)


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
        if event.ephemeral:
            return
        self.events.append(event)
        if self.json_lines:
            self.out.write(dumps(event_to_dict(event)) + "\n")
            return
        line = _story_line(event)
        if line:
            self.say(line)


def _story_line(e: Any) -> str | None:
    lines: dict[str, Any] = {
        "agent_text": lambda: f"agent: {e.text.strip()}",
        "edit_applied": lambda: f"edit applied: {e.path} (+{e.added} -{e.removed})",
        "verifier_result": lambda: (f"verifier {e.name!r} passed" if e.passed else
                                    f"verifier {e.name!r} FAILED: {_gist(e.output)}"),
        "committed": lambda: f"committed {e.commit[:10]} on {e.branch}",
        "judge_verdict": lambda: f"judge: {e.verdict}: {e.summary}",
        "artifact_built": lambda: f"built {Path(e.path).name} ({e.size} bytes, "
                                  f"sha256 {e.sha256[:12]})",
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


async def run_story(demo: DemoEnvironment, request: SuggestedRequest, out: TextIO, *,
                    json_lines: bool = False, phone: SuggestedRequest | None = None) -> int:
    """Run ``request`` through the real services on ``demo``; print the story and checks.
    ``phone``: then ask for that one from the phone, over Slack (the phone path)."""
    from desktop.app.services import build_services
    from desktop.core.options import RunOptions
    from desktop.core.stages import ChangeState

    story = _Story(out, json_lines, [])
    story.say("Honk Desktop demo: scripted model, virtual phone, throw-away repo; "
              "no real API, phone, Slack or GitHub is touched")
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
        story.say("OK: edits streamed, verified, judged, built, installed, approved, merged, "
                  "audit verified")
    out.flush()
    return 1 if failed else 0


def _checks(demo: DemoEnvironment, story: _Story) -> dict[str, tuple[bool, str]]:
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
    tip = ""
    with contextlib.suppress(DemoError):
        tip = _git(demo.remote, "rev-parse", "main")
    checks["merged"] = (bool(merged) and merged[-1].merged_commit == tip,
                        f"production main at {tip[:10]}")
    return checks
