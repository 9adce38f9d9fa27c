"""`honk.toml`: per-repository settings, validated into typed dataclasses.

Every error names the file, the key, the bad value and what was expected. Unknown keys are
errors too: a typo that silently does nothing is worse than a refusal.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.config_table import ConfigError, Table

__all__ = [
    "DEFAULT_MODEL",
    "ENGINES",
    "GATES",
    "SANDBOX_MODES",
    "AgentConfig",
    "BuildConfig",
    "ConfigError",
    "DeviceConfig",
    "HonkConfig",
    "JudgeConfig",
    "MergeConfig",
    "SandboxConfig",
    "SandboxPolicy",
    "SlackConfig",
    "VerifierConfig",
    "load_config",
    "parse_config",
]

CONFIG_NAME = "honk.toml"
DEFAULT_MODEL = "claude-sonnet-4-6"
GATES = ("verified", "judged", "built", "installed")
SANDBOX_MODES = ("auto", "required", "off")
# Who runs the agent loop: Honk's own over the Messages API, or the Claude Code CLI (boxed
# the same way; see desktop/steps/claude_code_agent.py).
ENGINES = ("messages", "claude-code")


@dataclass(frozen=True)
class AgentConfig:
    model: str = DEFAULT_MODEL
    max_turns: int = 30
    max_cost_usd: float = 5.0
    max_tokens: int = 16000  # per model turn
    verify_rounds: int = 3  # how often failing verifiers go back to the agent
    engine: str = "messages"  # one of ENGINES


@dataclass(frozen=True)
class SandboxPolicy:
    """How one verifier or build command is boxed (see desktop/adapters/sandbox.py)."""

    mode: str = "auto"  # auto: box when bwrap works | required: refuse without | off
    network: bool = False
    read_only: tuple[str, ...] = ()  # extra host paths the command may read ("~/" allowed)
    writable: tuple[str, ...] = ()  # extra host paths it may write (e.g. "~/.gradle")


@dataclass(frozen=True)
class SandboxConfig:
    """The ``[sandbox]`` table. Builds get the network by default: Gradle fetches
    dependencies; verifiers do not, since they run code nobody has reviewed yet."""

    mode: str = "auto"
    network: bool = False  # for verifiers
    build_network: bool = True
    read_only: tuple[str, ...] = ()
    writable: tuple[str, ...] = ()

    def for_verifiers(self) -> SandboxPolicy:
        return SandboxPolicy(self.mode, self.network, self.read_only, self.writable)

    def for_build(self) -> SandboxPolicy:
        return SandboxPolicy(self.mode, self.build_network, self.read_only, self.writable)


@dataclass(frozen=True)
class VerifierConfig:
    name: str
    command: tuple[str, ...]
    timeout: float = 300.0
    # Carried by each command so every runner of it (the verify stage, the agent's tool)
    # boxes it the same way.
    sandbox: SandboxPolicy = field(default_factory=SandboxConfig().for_verifiers)


@dataclass(frozen=True)
class BuildConfig:
    command: tuple[str, ...]  # empty when the build runs on GitHub Actions
    artifact: str
    timeout: float = 1800.0
    sandbox: SandboxPolicy = field(default_factory=SandboxConfig().for_build)
    via: str = "local"  # local | github-actions
    workflow: str = ""  # github-actions: the workflow file (or id), on workflow_dispatch
    actions_artifact: str = ""  # github-actions: the artifact the workflow uploads
    github_repo: str = ""  # owner/name (default: [merge] github_repo)
    github_api: str = ""  # default: [merge] github_api

    @property
    def remote(self) -> bool:
        return self.via == "github-actions"


@dataclass(frozen=True)
class DeviceConfig:
    kind: str = "android"  # android | ios | local
    package: str = ""
    activity: str = ""
    install: tuple[str, ...] = ()  # local: command template with {artifact}
    launch: tuple[str, ...] = ()


@dataclass(frozen=True)
class JudgeConfig:
    enabled: bool = True
    model: str | None = None  # default: the agent's model


@dataclass(frozen=True)
class MergeConfig:
    target: str = "main"
    via: str = "git"  # git | github
    remote: str = "origin"
    method: str = "merge"  # merge | rebase | ff-only
    require: tuple[str, ...] = ("verified",)
    github_repo: str = ""  # owner/name, for via = "github"
    github_api: str = "https://api.github.com"


@dataclass(frozen=True)
class SlackConfig:
    """Who may ask for changes and approve merges of this repo from Slack."""

    approvers: tuple[str, ...]  # Slack user IDs who may approve merges
    requesters: tuple[str, ...]  # who may request changes (default: the approvers)
    channels: tuple[str, ...] = ()  # where requests are taken; empty: anywhere, and DMs
    upload_artifact: bool = True  # post the build into the change's thread
    max_upload_mb: float = 50.0

    def may_request(self, user: str) -> bool:
        return user in self.requesters or user in self.approvers

    def may_approve(self, user: str) -> bool:
        return user in self.approvers

    def takes_requests_in(self, channel: str) -> bool:
        return not self.channels or channel in self.channels


@dataclass(frozen=True)
class HonkConfig:
    file: str = CONFIG_NAME
    found: bool = False
    agent: AgentConfig = field(default_factory=AgentConfig)
    verify: tuple[VerifierConfig, ...] = ()
    build: BuildConfig | None = None
    device: DeviceConfig | None = None
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)
    slack: SlackConfig | None = None  # None: not served over Slack

    def hint(self) -> str | None:
        """What to tell a person whose repo has no honk.toml."""
        if self.found:
            return None
        return (
            f"no {CONFIG_NAME} in the repo: using defaults (model {self.agent.model}, "
            f"merge target {self.merge.target!r}, no verifiers). Add one to configure "
            "verifiers, build and device."
        )


def parse_config(data: Mapping[str, Any], file: str = CONFIG_NAME) -> HonkConfig:
    """Validate parsed TOML into a :class:`HonkConfig`."""
    root = Table(file, "", data)

    sandbox_t = Table(file, "sandbox", root.get("sandbox") or {})
    sandbox = SandboxConfig(
        mode=sandbox_t.string("mode", "auto", SANDBOX_MODES),
        network=sandbox_t.boolean("network", SandboxConfig.network),
        build_network=sandbox_t.boolean("build_network", SandboxConfig.build_network),
        read_only=sandbox_t.paths("read_only"),
        writable=sandbox_t.paths("writable"),
    )
    sandbox_t.finish()

    agent_t = Table(file, "agent", root.get("agent") or {})
    agent = AgentConfig(
        model=agent_t.string("model", DEFAULT_MODEL),
        max_turns=agent_t.positive_int("max_turns", AgentConfig.max_turns),
        max_cost_usd=agent_t.positive_number("max_cost_usd", AgentConfig.max_cost_usd),
        max_tokens=agent_t.positive_int("max_tokens", AgentConfig.max_tokens),
        verify_rounds=agent_t.positive_int("verify_rounds", AgentConfig.verify_rounds),
        engine=agent_t.string("engine", AgentConfig.engine, ENGINES),
    )
    agent_t.finish()

    raw_verify = root.get("verify") or []
    if not isinstance(raw_verify, list):
        raise ConfigError(file, "verify", raw_verify, "an array of tables ([[verify]])")
    verifiers: list[VerifierConfig] = []
    for i, item in enumerate(raw_verify):
        t = Table(file, f"verify[{i}]", item)
        name = t.string("name", f"verify-{i + 1}")
        if any(v.name == name for v in verifiers):
            raise t.fail("name", "a name no other verifier uses")
        verifiers.append(
            VerifierConfig(
                name=name,
                command=t.command("command", required=True),
                timeout=t.positive_number("timeout", VerifierConfig.timeout),
                sandbox=sandbox.for_verifiers(),
            )
        )
        t.finish()

    build_t = Table(file, "build", root.get("build")) if root.get("build") is not None \
        else None

    device: DeviceConfig | None = None
    if root.get("device") is not None:
        t = Table(file, "device", root.get("device"))
        kind = t.string("kind", "android", ("android", "ios", "local"))
        device = DeviceConfig(
            kind=kind,
            package=t.string("package", ""),
            activity=t.string("activity", ""),
            install=t.command("install", required=kind == "local"),
            launch=t.command("launch", required=False),
        )
        if kind in ("android", "ios") and not device.package:
            raise t.fail("package", "the app id to launch (e.g. 'com.example.app')")
        t.finish()

    judge_t = Table(file, "judge", root.get("judge") or {})
    judge_model = judge_t.get("model")
    if judge_model is not None and (not isinstance(judge_model, str) or not judge_model.strip()):
        raise judge_t.fail("model", "a model id")
    judge = JudgeConfig(enabled=judge_t.boolean("enabled", True), model=judge_model)
    judge_t.finish()

    merge_t = Table(file, "merge", root.get("merge") or {})
    merge = MergeConfig(
        target=merge_t.string("target", MergeConfig.target),
        via=merge_t.string("via", "git", ("git", "github")),
        remote=merge_t.string("remote", MergeConfig.remote),
        method=merge_t.string("method", "merge", ("merge", "rebase", "ff-only")),
        require=merge_t.strings("require", MergeConfig.require, GATES),
        github_repo=merge_t.string("github_repo", ""),
        github_api=merge_t.string("github_api", MergeConfig.github_api),
    )
    if merge.via == "github" and merge.github_repo.count("/") != 1:
        raise merge_t.fail("github_repo", "'owner/name' when via = 'github'")
    merge_t.finish()
    build = _build(build_t, sandbox, merge) if build_t is not None else None
    slack = _slack(Table(file, "slack", root.get("slack"))) if root.get("slack") is not None \
        else None
    root.finish()

    return HonkConfig(
        file=file,
        found=True,
        agent=agent,
        verify=tuple(verifiers),
        build=build,
        device=device,
        judge=judge,
        merge=merge,
        sandbox=sandbox,
        slack=slack,
    )


def _build(t: Table, sandbox: SandboxConfig, merge: MergeConfig) -> BuildConfig:
    artifact = t.get("artifact")
    if not isinstance(artifact, str) or not artifact.strip():
        raise t.fail("artifact", "a glob relative to the repo, e.g. 'app/build/**/*.apk'")
    if Path(artifact).is_absolute() or ".." in Path(artifact).parts:
        raise t.fail("artifact", "a glob inside the repo (relative, no '..')")
    via = t.string("via", "local", ("local", "github-actions"))
    timeout = t.positive_number("timeout", BuildConfig.timeout)
    if via == "local":
        for key in ("workflow", "actions_artifact", "github_repo", "github_api"):
            if t.get(key) is not None:
                raise t.fail(key, "nothing with via = 'local' (it is for via = 'github-actions')")
        config = BuildConfig(command=t.command("command", required=True), artifact=artifact,
                             timeout=timeout, sandbox=sandbox.for_build())
        t.finish()
        return config
    if t.get("command") is not None:
        raise t.fail("command", "no command with via = 'github-actions' (the workflow builds)")
    workflow = t.get("workflow")
    if (not isinstance(workflow, str | int) or isinstance(workflow, bool)
            or not str(workflow).strip() or "/" in str(workflow)):
        raise t.fail("workflow", "the workflow's file name in .github/workflows (e.g. "
                     "'honk-build.yml') or its numeric id")
    github_repo = t.string("github_repo", merge.github_repo)
    if github_repo.count("/") != 1:
        raise t.fail("github_repo", "'owner/name' (here or as [merge] github_repo) when "
                     "via = 'github-actions'")
    config = BuildConfig(
        command=(), artifact=artifact, timeout=timeout, sandbox=sandbox.for_build(),
        via=via, workflow=str(workflow), actions_artifact=t.string("actions_artifact", ""),
        github_repo=github_repo, github_api=t.string("github_api", merge.github_api))
    if not config.actions_artifact:
        raise t.fail("actions_artifact", "the name of the artifact the workflow uploads "
                     "(actions/upload-artifact's name)")
    t.finish()
    return config


_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_SLACK_CHANNEL = re.compile(r"[CDG][A-Z0-9]{2,}")


def _slack_ids(t: Table, name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...] | None:
    value = t.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise t.fail(name, f"a list of {what}")
    for item in value:
        if not pattern.fullmatch(item):
            raise ConfigError(t.file, t.key(name), item, what)
    return tuple(value)


def _slack(t: Table) -> SlackConfig:
    users = "Slack user IDs like 'U0123ABCD' (a profile's 'Copy member ID')"
    approvers = _slack_ids(t, "approvers", _SLACK_USER, users) or ()
    requesters = _slack_ids(t, "requesters", _SLACK_USER, users)
    channels = _slack_ids(t, "channels", _SLACK_CHANNEL, "Slack channel IDs like 'C0123ABCD'")
    config = SlackConfig(
        approvers=approvers,
        requesters=approvers if requesters is None else requesters,
        channels=channels or (),
        upload_artifact=t.boolean("upload_artifact", SlackConfig.upload_artifact),
        max_upload_mb=t.positive_number("max_upload_mb", SlackConfig.max_upload_mb),
    )
    t.finish()
    return config


def load_config(text: str | None, file: str = CONFIG_NAME) -> HonkConfig:
    """Parse the text of a honk.toml (None when the repo has none: defaults)."""
    if text is None:
        return HonkConfig(file=file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "(toml syntax)", None, f"valid TOML: {exc}") from None
    return parse_config(data, file)
