from __future__ import annotations

import pytest

from desktop.core.config import ConfigError, load_config

FULL = """
[agent]
model = "claude-haiku-4-5"
max_turns = 12
max_cost_usd = 0.5

[[verify]]
name = "unit"
command = "python -m pytest -q"
timeout = 60

[[verify]]
name = "lint"
command = ["ruff", "check", "."]

[build]
command = "./gradlew assembleDebug"
artifact = "app/build/outputs/apk/debug/*.apk"
timeout = 900

[device]
kind = "android"
package = "com.example.player"
activity = ".MainActivity"

[merge]
target = "release"
via = "git"
remote = "production"
method = "ff-only"
require = ["verified", "judged", "built", "installed"]
"""


def test_full_config_parses_into_typed_settings() -> None:
    cfg = load_config(FULL, "repo/honk.toml")
    assert cfg.found
    assert cfg.agent.model == "claude-haiku-4-5" and cfg.agent.max_turns == 12
    assert cfg.agent.max_cost_usd == 0.5
    assert [v.name for v in cfg.verify] == ["unit", "lint"]
    assert cfg.verify[0].command == ("python", "-m", "pytest", "-q")
    assert cfg.verify[1].timeout == 300.0
    assert cfg.build is not None and cfg.build.command == ("./gradlew", "assembleDebug")
    assert cfg.device is not None and cfg.device.package == "com.example.player"
    assert cfg.merge.target == "release" and cfg.merge.method == "ff-only"
    assert cfg.merge.require == ("verified", "judged", "built", "installed")


def test_no_file_gives_defaults_and_a_hint() -> None:
    cfg = load_config(None, "repo/honk.toml")
    assert not cfg.found
    assert cfg.verify == () and cfg.merge.target == "main"
    hint = cfg.hint()
    assert hint is not None and "honk.toml" in hint


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[agent]\nmax_turns = "ten"', "agent.max_turns", "a positive integer"),
        ("[agent]\nmax_turns = 0", "agent.max_turns", "a positive integer"),
        ("[agent]\nmax_cost_usd = -1", "agent.max_cost_usd", "a positive number"),
        ("[agent]\nmodle = 'x'", "agent.modle", "no such key"),
        ("[[verify]]\nname = 'a'", "verify[0].command", "a command"),
        ("[[verify]]\ncommand = 5", "verify[0].command", "a command"),
        ("[[verify]]\ncommand = 'a \"b'", "verify[0].command", "splits cleanly"),
        ("[build]\ncommand = 'make'", "build.artifact", "a glob"),
        ("[build]\ncommand = 'make'\nartifact = '../x.apk'", "build.artifact", "inside the repo"),
        ("[device]\nkind = 'windows-phone'", "device.kind", "one of 'android', 'ios', 'local'"),
        ("[device]\nkind = 'android'", "device.package", "the app id"),
        ("[device]\nkind = 'local'", "device.install", "a command"),
        ("[merge]\nvia = 'gitlab'", "merge.via", "one of 'git', 'github'"),
        ("[merge]\nrequire = ['verified', 'blessed']", "merge.require", "one of"),
        ("[merge]\nvia = 'github'", "merge.github_repo", "'owner/name'"),
        ("verify = 3", "verify", "an array of tables"),
        ("[agent\nmodel = 'x'", "(toml syntax)", "valid TOML"),
    ],
)
def test_bad_config_names_file_key_value_and_expectation(text: str, key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(text, "/r/honk.toml")
    message = str(info.value)
    assert message.startswith("/r/honk.toml: ")
    assert info.value.key == key
    assert expected in message
