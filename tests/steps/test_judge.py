"""The judge step: the real anthropic SDK against the scripted Messages API on loopback,
judging real `git diff` output."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from desktop.core.config import HonkConfig, JudgeConfig
from desktop.core.events import ChangeFinished, Event, Notice, Usage
from desktop.core.judge_events import JudgeVerdict
from desktop.core.pipeline import ChangeContext, Pipeline, StepResult
from desktop.core.pricing import PriceTable, TurnUsage
from desktop.core.stages import ChangeState, Stage
from desktop.sim.messages_api import RecordedRequest, Route, ScriptedMessagesAPI, route_by
from desktop.sim.messages_script import HttpError, Turn, text_turn, tool_turn
from desktop.sim.messages_script import Usage as SimUsage
from desktop.steps.judge import (
    VERDICT_SCHEMA,
    JudgeSettings,
    JudgeStep,
    parse_verdict,
    truncate_diff,
)
from tests.helpers.gitrepo import RepoWithRemote, make_repo

MODEL = "claude-sonnet-4-6"
KEY = "sk-ant-test-judge-0123456789"
REQUEST = "Make the play button smaller so it no longer overlaps the title"
UI = "PLAY_BUTTON_SIZE = 64\nTITLE_MARGIN = 8\n"
TESTS = "def test_play_button():\n    assert True\n\n\ndef test_title():\n    assert True\n"

APPROVE = {"verdict": "approve", "summary": "Only the button size changed.", "reasons": [],
           "flags": []}
VETO = {
    "verdict": "veto", "summary": "The title margin was changed too.",
    "reasons": [{"file": "app/ui.py", "where": "+2", "text": "TITLE_MARGIN was not asked for"}],
    "flags": ["out_of_scope"],
}


@pytest.fixture(scope="module")
def sdk() -> ModuleType:
    import anthropic  # slow: once per module

    return anthropic


@dataclass
class Change:
    repo: RepoWithRemote
    base: str
    events: list[Event] = field(default_factory=list)

    def edit(self, files: dict[str, str | None]) -> None:
        for rel, text in files.items():
            if text is None:
                (self.repo.path / rel).unlink()
            else:
                self.repo.write(rel, text)
        self.repo.commit_all("agent change")

    async def diff(self) -> str:
        return self.repo.git("diff", self.base, "HEAD") + "\n"

    def ctx(self, config: HonkConfig | None = None, request: str = REQUEST) -> ChangeContext:
        return ChangeContext(
            change_id="c1", request=request, worktree=str(self.repo.path), branch="honk/c1",
            base_commit=self.base, config=config or HonkConfig(), emit=self.events.append,
            model=MODEL, prompt=request, commit=self.repo.git("rev-parse", "HEAD"),
        )

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@pytest.fixture
def change(tmp_path: Path) -> Change:
    repo = make_repo(tmp_path / "git", {"app/ui.py": UI, "tests/test_ui.py": TESTS})
    made = Change(repo, repo.git("rev-parse", "HEAD"))
    made.edit({"app/ui.py": UI.replace("64", "48")})
    return made


@pytest.fixture
async def serve(sdk: ModuleType) -> AsyncIterator[Callable[[list[Any]], Any]]:
    """Start a scripted API and return (api, client); both closed at teardown."""
    opened: list[tuple[ScriptedMessagesAPI, Any]] = []

    def start(script: list[Any]) -> tuple[ScriptedMessagesAPI, Any]:
        api = ScriptedMessagesAPI(script, expected_api_key=KEY)
        api.start()
        client = sdk.AsyncAnthropic(api_key=KEY, base_url=api.base_url, max_retries=0)
        opened.append((api, client))
        return api, client

    yield start
    for api, client in opened:
        await client.close()
        api.stop()


async def received(api: ScriptedMessagesAPI, count: int) -> list[RecordedRequest]:
    """The message requests, once ``count`` are recorded: the server records a request
    just after answering it, so the client can be a moment ahead."""
    for _ in range(200):
        requests = api.message_requests()
        if len(requests) >= count:
            return requests
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {count} requests, got {len(api.message_requests())}")


def verdict(data: dict[str, Any], **knobs: Any) -> Turn:
    return tool_turn("submit_verdict", data, **knobs)


async def test_approve_path_accounts_cost_and_sends_forced_tool_with_schema(
    change: Change, serve: Any
) -> None:
    api, client = serve([verdict(APPROVE, usage=SimUsage(input_tokens=900, output_tokens=80))])
    ctx = change.ctx()
    result = await JudgeStep(client, change.diff).run(ctx)

    assert result == StepResult(ok=True, reason="Only the button size changed.")
    [event] = change.of(JudgeVerdict)
    assert (event.verdict, event.model_verdict, event.model) == ("approve", "approve", MODEL)
    assert event.flags == () and event.commit == ctx.commit and not event.diff_truncated
    expected = PriceTable().cost(MODEL, TurnUsage(input_tokens=900, output_tokens=80))
    assert ctx.cost_usd == pytest.approx(expected) and event.cost_usd == pytest.approx(expected)
    [usage] = change.of(Usage)
    assert (usage.input_tokens, usage.output_tokens) == (900, 80)

    [request] = await received(api, 1)
    body = request.body
    assert body["tool_choice"] == {"type": "tool", "name": "submit_verdict"}
    assert body["tools"] == [{"name": "submit_verdict", "input_schema": VERDICT_SCHEMA,
                              "description": body["tools"][0]["description"]}]
    assert not body.get("stream") and body["model"] == MODEL
    [message] = body["messages"]
    assert REQUEST in message["content"]
    assert "-PLAY_BUTTON_SIZE = 64\n+PLAY_BUTTON_SIZE = 48" in message["content"]


async def test_veto_returns_to_agent_with_the_reasons(change: Change, serve: Any) -> None:
    _, client = serve([verdict(VETO)])
    result = await JudgeStep(client, change.diff).run(change.ctx())
    assert not result.ok and result.back_to_agent is not None
    assert "app/ui.py (+2): TITLE_MARGIN was not asked for" in result.back_to_agent
    assert "Flags: out_of_scope" in result.back_to_agent
    assert "TITLE_MARGIN was not asked for" in result.reason
    [event] = change.of(JudgeVerdict)
    assert event.verdict == "veto" and event.flags == ("out_of_scope",)


@dataclass
class FakeAgent:
    """Stands in for the agent: records the prompts it was given."""

    stage: Stage = Stage.AGENT
    max_returns: int = 0
    prompts: list[str] = field(default_factory=list)

    async def run(self, ctx: ChangeContext) -> StepResult:
        self.prompts.append(ctx.prompt)
        return StepResult(ok=True)


async def test_second_veto_stops_the_change_and_shows_the_reasons(
    change: Change, serve: Any
) -> None:
    _, client = serve([verdict(VETO), verdict(VETO)])
    agent = FakeAgent()
    ctx = change.ctx()
    state = await Pipeline([agent, JudgeStep(client, change.diff)]).run(ctx)
    assert state is ChangeState.FAILED
    assert len(agent.prompts) == 2 and "TITLE_MARGIN was not asked for" in agent.prompts[1]
    finished = change.of(ChangeFinished)[-1]
    assert "the judge vetoed the change" in finished.reason
    assert "app/ui.py (+2): TITLE_MARGIN was not asked for" in finished.reason
    assert [e.round for e in change.of(JudgeVerdict)] == [1, 2]


async def test_veto_then_approve_goes_on(change: Change, serve: Any) -> None:
    _, client = serve([verdict(VETO), verdict(APPROVE)])
    state = await Pipeline([FakeAgent(), JudgeStep(client, change.diff)]).run(change.ctx())
    assert state is ChangeState.COMMITTED
    assert [e.verdict for e in change.of(JudgeVerdict)] == ["veto", "approve"]


async def test_malformed_verdict_is_asked_for_again(change: Change, serve: Any) -> None:
    api, client = serve([verdict({**APPROVE, "verdict": "maybe"}), verdict(APPROVE)])
    ctx = change.ctx()
    result = await JudgeStep(client, change.diff).run(ctx)
    assert result.ok
    first, second = await received(api, 2)
    note = "Your previous answer was rejected: input.verdict: expected one of"
    assert note in second.body["messages"][0]["content"]
    assert note not in first.body["messages"][0]["content"]
    [notice] = change.of(Notice)
    assert notice.level == "warning" and "malformed verdict" in notice.message
    assert len(change.of(Usage)) == 2  # both calls are paid for
    assert change.of(JudgeVerdict)[0].cost_usd == pytest.approx(ctx.cost_usd)


async def test_malformed_twice_fails_the_stage_naming_the_problem(
    change: Change, serve: Any
) -> None:
    _, client = serve([text_turn("I approve."), verdict({"verdict": "veto", "summary": "x",
                                                         "reasons": [], "flags": []})])
    result = await JudgeStep(client, change.diff).run(change.ctx())
    assert not result.ok and result.back_to_agent is None
    assert result.reason == ("the judge's answer was malformed 2 times; "
                             "last: input.reasons: a veto needs at least one reason")
    assert change.of(JudgeVerdict) == []


async def test_rule_turns_an_approval_into_a_veto_for_a_deleted_test(
    change: Change, serve: Any
) -> None:
    change.edit({"tests/test_ui.py": TESTS.split("\n\n\n")[0] + "\n"})  # drops test_title
    _, client = serve([verdict(APPROVE)])
    result = await JudgeStep(client, change.diff).run(change.ctx())
    assert result.back_to_agent is not None
    assert "tests/test_ui.py (-5): [rule] test test_title removed" in result.back_to_agent
    [event] = change.of(JudgeVerdict)
    assert (event.verdict, event.model_verdict) == ("veto", "approve")
    assert event.rule_flags == ("deleted_or_disabled_tests",)


async def test_ci_change_is_flagged_but_does_not_veto(change: Change, serve: Any) -> None:
    change.edit({".github/workflows/ci.yml": "on: push\n"})
    _, client = serve([verdict(APPROVE)])
    result = await JudgeStep(client, change.diff).run(change.ctx())
    assert result.ok
    [event] = change.of(JudgeVerdict)
    assert event.verdict == "approve" and event.flags == ("ci_config_changed",)


async def test_secrets_never_reach_the_model(change: Change, serve: Any) -> None:
    known = "hunter2-signing-password"
    aws = "AKIA" + "QWERTYUIOPASDFGH"
    change.edit({"app/keys.py": f"PASSWORD = '{known}'\nAWS = '{aws}'\n"})
    api, client = serve([verdict(APPROVE)])
    step = JudgeStep(client, change.diff, secret_values=lambda: [known, KEY])
    result = await step.run(change.ctx(request=f"use password {known}"))
    raw = json.dumps((await received(api, 1))[0].body)
    assert known not in raw and aws not in raw
    assert "[redacted]" in raw and "[redacted: an AWS access key id]" in raw
    assert result.back_to_agent is not None  # the AWS key is a blocking rule finding
    assert change.of(JudgeVerdict)[0].rule_flags == ("secret_in_diff",)


async def test_huge_diff_is_truncated_and_the_model_is_told(change: Change, serve: Any) -> None:
    change.edit({"app/big.py": "".join(f"LINE_{i} = {i}\n" for i in range(3000)),
                 "app/zzz.py": "Z = 1\n"})
    api, client = serve([verdict(APPROVE)])
    step = JudgeStep(client, change.diff, settings=JudgeSettings(max_diff_chars=8000))
    await step.run(change.ctx())
    content = (await received(api, 1))[0].body["messages"][0]["content"]
    assert len(content) < 9500
    assert "too long to show whole" in content and "app/zzz.py (+1 -0 lines)" in content
    assert "the rest of app/big.py" in content
    assert change.of(JudgeVerdict)[0].diff_truncated


def test_truncate_diff_keeps_small_diffs_whole() -> None:
    diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n"
    assert truncate_diff(diff, 1000) == (diff, [])


async def test_model_from_config_is_used_and_priced(change: Change, serve: Any) -> None:
    api, client = serve([verdict(APPROVE)])
    config = HonkConfig(judge=JudgeConfig(model="claude-haiku-4-5"))
    await JudgeStep(client, change.diff).run(change.ctx(config))
    assert (await received(api, 1))[0].body["model"] == "claude-haiku-4-5"
    assert change.of(Usage)[0].model == "claude-haiku-4-5"
    assert change.of(JudgeVerdict)[0].model == "claude-haiku-4-5"


async def test_api_error_fails_the_stage_clearly(change: Change, serve: Any) -> None:
    _, client = serve([HttpError(400, "invalid_request_error", "model: unknown model")])
    result = await JudgeStep(client, change.diff).run(change.ctx())
    assert not result.ok and result.back_to_agent is None
    assert result.reason.startswith("the judge's Messages API call failed: HTTP 400")
    assert "unknown model" in result.reason


async def test_empty_diff_and_disabled_judge_make_no_call(tmp_path: Path, serve: Any) -> None:
    repo = make_repo(tmp_path / "git", {"a.txt": "a\n"})
    unchanged = Change(repo, repo.git("rev-parse", "HEAD"))
    api, client = serve([])
    result = await JudgeStep(client, unchanged.diff).run(unchanged.ctx())
    assert result == StepResult(ok=False, reason="nothing to judge: the change's diff is empty")
    off = HonkConfig(judge=JudgeConfig(enabled=False))
    assert (await JudgeStep(client, unchanged.diff).run(unchanged.ctx(off))).ok
    assert api.message_requests() == []


async def test_judge_shares_a_server_with_the_agent_by_route(
    change: Change, sdk: ModuleType
) -> None:
    router = route_by([Route(key="judge", tool="submit_verdict"), Route(key="agent")])
    scripts = {"judge": [verdict(APPROVE)], "agent": []}
    with ScriptedMessagesAPI(scripts, router, expected_api_key=KEY) as api:
        async with sdk.AsyncAnthropic(api_key=KEY, base_url=api.base_url) as client:
            assert (await JudgeStep(client, change.diff).run(change.ctx())).ok
        assert api.remaining() == {"judge": 0, "agent": 0}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([], "input: expected object, got list []"),
        ({**APPROVE, "extra": 1}, "input: unexpected key(s) ['extra']"),
        ({k: v for k, v in APPROVE.items() if k != "summary"}, "input.summary: required"),
        ({**APPROVE, "summary": "  "}, "input.summary: expected a non-empty string"),
        ({**APPROVE, "flags": ["cosmic_rays"]}, "input.flags[0]: expected one of"),
        ({**APPROVE, "reasons": [{"file": "a"}]}, "input.reasons[0].text: required"),
        ({**APPROVE, "reasons": ["why"]}, "input.reasons[0]: expected object, got str 'why'"),
    ],
)
def test_parse_verdict_names_what_is_wrong(value: object, problem: str) -> None:
    answer, found = parse_verdict(value)
    assert answer is None and found.startswith(problem)
