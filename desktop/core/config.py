"""`honk.toml`: per-repository settings, validated into typed dataclasses.

Every error names the file, the key, the bad value and what was expected. Unknown keys are
errors too: a typo that silently does nothing is worse than a refusal.
"""

from __future__ import annotations

import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from desktop.core.errors import HonkError

__all__ = [
    "DEFAULT_MODEL",
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
    "VerifierConfig",
    "load_config",
    "parse_config",
]

CONFIG_NAME = "honk.toml"
DEFAULT_MODEL = "claude-sonnet-4-6"
GATES = ("verified", "judged", "built", "installed")
SANDBOX_MODES = ("auto", "required", "off")


class ConfigError(HonkError, ValueError):
    """Invalid configuration: ``str()`` is the whole message a person reads."""

    def __init__(self, file: str, key: str, value: object, expected: str) -> None:
        self.file, self.key, self.value, self.expected = file, key, value, expected
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{file}: {key} = {shown}: expected {expected}")


@dataclass(frozen=True)
class AgentConfig:
    model: str = DEFAULT_MODEL
    max_turns: int = 30
    max_cost_usd: float = 5.0
    max_tokens: int = 16000  # per model turn
    verify_rounds: int = 3  # how often failing verifiers go back to the agent


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
    command: tuple[str, ...]
    artifact: str
    timeout: float = 1800.0
    sandbox: SandboxPolicy = field(default_factory=SandboxConfig().for_build)


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

    def hint(self) -> str | None:
        """What to tell a person whose repo has no honk.toml."""
        if self.found:
            return None
        return (
            f"no {CONFIG_NAME} in the repo: using defaults (model {self.agent.model}, "
            f"merge target {self.merge.target!r}, no verifiers). Add one to configure "
            "verifiers, build and device."
        )


class _Table:
    """Reads one TOML table, tracking which keys were used so leftovers are errors."""

    def __init__(self, file: str, prefix: str, data: object) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(file, prefix, data, "a table")
        self.file, self.prefix, self.data = file, prefix, dict(data)
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, expected: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), self.data.get(name), expected)

    def get(self, name: str) -> Any:
        self.used.add(name)
        return self.data.get(name)

    def string(self, name: str, default: str, choices: tuple[str, ...] = ()) -> str:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "a non-empty string")
        if choices and value not in choices:
            raise self.fail(name, "one of " + ", ".join(repr(c) for c in choices))
        return value

    def positive_int(self, name: str, default: int) -> int:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.fail(name, "a positive integer")
        return value

    def positive_number(self, name: str, default: float) -> float:
        value = self.get(name)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.fail(name, "a positive number")
        return float(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, "true or false")
        return value

    def command(self, name: str, *, required: bool) -> tuple[str, ...]:
        """A command as a string (split like a shell would, but never run by one) or a list."""
        value = self.get(name)
        if value is None:
            if required:
                raise self.fail(name, "a command (string or list of strings)")
            return ()
        if isinstance(value, str):
            try:
                argv = tuple(shlex.split(value))
            except ValueError as exc:
                raise self.fail(name, f"a command that splits cleanly ({exc})") from None
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            argv = tuple(value)
        else:
            raise self.fail(name, "a command (string or list of strings)")
        if not argv or not argv[0]:
            raise self.fail(name, "a non-empty command")
        return argv

    def strings(
        self, name: str, default: tuple[str, ...], allowed: tuple[str, ...]
    ) -> tuple[str, ...]:
        value = self.get(name)
        if value is None:
            return default
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "a list of strings")
        for item in value:
            if item not in allowed:
                raise ConfigError(
                    self.file, self.key(name), item, "one of " + ", ".join(map(repr, allowed))
                )
        return tuple(value)

    def paths(self, name: str) -> tuple[str, ...]:
        """Host paths: absolute or "~/...", without "..", never "/" or "~" itself."""
        value = self.get(name)
        if value is None:
            return ()
        one = "an absolute path or one starting with '~/' (no '..'; not '/' or '~' itself)"
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(name, "a list of paths, each " + one)
        for item in value:
            ok = item.startswith("/") or item.startswith("~/")
            if not ok or ".." in Path(item).parts or item.rstrip("/") in ("", "~"):
                raise ConfigError(self.file, self.key(name), item, one)
        return tuple(value)

    def finish(self) -> None:
        for extra in sorted(set(self.data) - self.used):
            raise ConfigError(self.file, self.key(extra), self.data[extra], "no such key")


def parse_config(data: Mapping[str, Any], file: str = CONFIG_NAME) -> HonkConfig:
    """Validate parsed TOML into a :class:`HonkConfig`."""
    root = _Table(file, "", data)

    sandbox_t = _Table(file, "sandbox", root.get("sandbox") or {})
    sandbox = SandboxConfig(
        mode=sandbox_t.string("mode", "auto", SANDBOX_MODES),
        network=sandbox_t.boolean("network", SandboxConfig.network),
        build_network=sandbox_t.boolean("build_network", SandboxConfig.build_network),
        read_only=sandbox_t.paths("read_only"),
        writable=sandbox_t.paths("writable"),
    )
    sandbox_t.finish()

    agent_t = _Table(file, "agent", root.get("agent") or {})
    agent = AgentConfig(
        model=agent_t.string("model", DEFAULT_MODEL),
        max_turns=agent_t.positive_int("max_turns", AgentConfig.max_turns),
        max_cost_usd=agent_t.positive_number("max_cost_usd", AgentConfig.max_cost_usd),
        max_tokens=agent_t.positive_int("max_tokens", AgentConfig.max_tokens),
        verify_rounds=agent_t.positive_int("verify_rounds", AgentConfig.verify_rounds),
    )
    agent_t.finish()

    raw_verify = root.get("verify") or []
    if not isinstance(raw_verify, list):
        raise ConfigError(file, "verify", raw_verify, "an array of tables ([[verify]])")
    verifiers: list[VerifierConfig] = []
    for i, item in enumerate(raw_verify):
        t = _Table(file, f"verify[{i}]", item)
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

    build: BuildConfig | None = None
    if root.get("build") is not None:
        t = _Table(file, "build", root.get("build"))
        artifact = t.get("artifact")
        if not isinstance(artifact, str) or not artifact.strip():
            raise t.fail("artifact", "a glob relative to the repo, e.g. 'app/build/**/*.apk'")
        if Path(artifact).is_absolute() or ".." in Path(artifact).parts:
            raise t.fail("artifact", "a glob inside the repo (relative, no '..')")
        build = BuildConfig(
            command=t.command("command", required=True),
            artifact=artifact,
            timeout=t.positive_number("timeout", BuildConfig.timeout),
            sandbox=sandbox.for_build(),
        )
        t.finish()

    device: DeviceConfig | None = None
    if root.get("device") is not None:
        t = _Table(file, "device", root.get("device"))
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

    judge_t = _Table(file, "judge", root.get("judge") or {})
    judge_model = judge_t.get("model")
    if judge_model is not None and (not isinstance(judge_model, str) or not judge_model.strip()):
        raise judge_t.fail("model", "a model id")
    judge = JudgeConfig(enabled=judge_t.boolean("enabled", True), model=judge_model)
    judge_t.finish()

    merge_t = _Table(file, "merge", root.get("merge") or {})
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
    )


def load_config(text: str | None, file: str = CONFIG_NAME) -> HonkConfig:
    """Parse the text of a honk.toml (None when the repo has none: defaults)."""
    if text is None:
        return HonkConfig(file=file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, "(toml syntax)", None, f"valid TOML: {exc}") from None
    return parse_config(data, file)
