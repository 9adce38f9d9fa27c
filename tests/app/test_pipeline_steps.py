"""The steps a change's honk.toml asks for, in order, as the real services build them for a
change made in a real repo. Building them makes no request: no server is needed."""

from __future__ import annotations

import pytest

from desktop.app.pipeline_steps import pipeline_steps
from desktop.core.approval import ApprovalStep
from desktop.core.options import RunOptions
from desktop.core.pipeline import Step
from desktop.core.stages import Stage
from desktop.steps.agent import AgentStep
from desktop.steps.build import BuildStep
from desktop.steps.commit import CommitStep
from desktop.steps.install import InstallStep
from desktop.steps.judge import JudgeStep
from desktop.steps.verify import VerifyStep
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import OK, configure, honk_toml
from tests.helpers.services import app_services

BUILD = '[build]\ncommand = ["python3", "build.py"]\nartifact = "build/*.apk"\n'
ANDROID = '[device]\nkind = "android"\npackage = "com.example.honk"\n'
LOCAL = '[device]\nkind = "local"\ninstall = ["true", "{artifact}"]\n'


async def steps_for(repo: RepoWithRemote, toml: str, options: RunOptions | None = None
                    ) -> list[Step]:
    configure(repo, toml)
    async with app_services(ANTHROPIC_API_KEY="sk-ant-never-sent-0123456789") as services:
        ctx, workspace, worktree = await services.changes.create_async(
            "Swedish greeting", repo.path, options)
        return pipeline_steps(services.context, ctx, workspace, worktree)


def stages(steps: list[Step]) -> list[Stage]:
    return [step.stage for step in steps]


async def test_no_judge_build_or_device_is_agent_verify_commit_approval(
        repo: RepoWithRemote) -> None:
    steps = await steps_for(repo, honk_toml(OK, extra="[agent]\nverify_rounds = 2\n"))
    assert stages(steps) == [Stage.AGENT, Stage.VERIFY, Stage.COMMIT, Stage.APPROVAL]
    agent, verify, commit, approval = steps
    assert isinstance(agent, AgentStep) and isinstance(verify, VerifyStep)
    assert isinstance(commit, CommitStep) and isinstance(approval, ApprovalStep)
    assert verify.max_returns == 2  # failing verifiers go back to the agent that often


async def test_judge_and_build_come_after_the_commit_in_that_order(
        repo: RepoWithRemote) -> None:
    steps = await steps_for(repo, honk_toml(OK, judge=True, extra=BUILD))
    assert stages(steps) == [Stage.AGENT, Stage.VERIFY, Stage.COMMIT, Stage.JUDGE, Stage.BUILD,
                             Stage.APPROVAL]
    assert isinstance(steps[3], JudgeStep) and isinstance(steps[4], BuildStep)


@pytest.mark.parametrize(("device", "chosen", "installs"), [
    (ANDROID, None, False),  # no phone chosen: the change rests at approval instead
    (ANDROID, "emulator-5554", True),
    (LOCAL, None, True),  # this computer: always there
], ids=["android-none-chosen", "android-chosen", "local"])
async def test_a_device_installs_after_the_build_when_there_is_one_to_install_on(
        repo: RepoWithRemote, device: str, chosen: str | None, installs: bool) -> None:
    steps = await steps_for(repo, honk_toml(OK, extra=BUILD + device), RunOptions(device=chosen))
    install = [Stage.INSTALL] if installs else []
    assert stages(steps) == [Stage.AGENT, Stage.VERIFY, Stage.COMMIT, Stage.BUILD, *install,
                             Stage.APPROVAL]
    assert all(isinstance(s, InstallStep) for s in steps if s.stage is Stage.INSTALL)
