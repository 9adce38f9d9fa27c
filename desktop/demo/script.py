"""What the demo's scripted model plays: the suggested requests, the session for a request in
the person's own words, and the Messages API scripts and routes that serve them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.sim.messages_api import Route
from desktop.sim.messages_script import Response, Turn, edit_turn, text_turn, tool_turn

__all__ = ["SuggestedRequest", "own_request", "scripts", "suggested_requests"]

_REPEATS = 5  # each request can be tried this many times per demo session
_OWN_REPEATS = 20  # requests in the person's own words, together, per demo session


@dataclass(frozen=True)
class SuggestedRequest:
    """A request shown in the composer, with the session the scripted model plays for it."""

    text: str
    agent: tuple[Response, ...]
    verdict: str  # the judge's summary


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


def scripts(requests: tuple[SuggestedRequest, ...], own: SuggestedRequest | None = None,
            ) -> tuple[dict[str, list[Response]], list[Route]]:
    """The scripted model's sessions by name, and the routes that pick one per request."""
    sessions: dict[str, list[Response]] = {}
    routes: list[Route] = []
    for i, req in enumerate(requests):
        verdict = {"verdict": "approve", "summary": req.verdict, "reasons": [], "flags": []}
        sessions[f"judge-{i}"] = [tool_turn("submit_verdict", verdict)] * _REPEATS
        sessions[f"agent-{i}"] = list(req.agent) * _REPEATS
        # The judge quotes the request too, so its tool route goes first.
        routes.insert(0, Route(f"judge-{i}", tool="submit_verdict", first_user_contains=req.text))
        routes.append(Route(f"agent-{i}", first_user_contains=req.text))
    if own is not None:  # any other request: after every suggestion's routes, judge first
        verdict = {"verdict": "approve", "summary": own.verdict, "reasons": [], "flags": []}
        sessions["judge-own"] = [tool_turn("submit_verdict", verdict)] * _OWN_REPEATS
        sessions["agent-own"] = list(own.agent) * _OWN_REPEATS
        routes.insert(len(requests), Route("judge-own", tool="submit_verdict"))
        routes.append(Route("agent-own"))
    return sessions, routes
