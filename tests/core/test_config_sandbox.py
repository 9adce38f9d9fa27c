"""`[sandbox]` in honk.toml: defaults, how each command inherits it, and clear refusals."""

from __future__ import annotations

import pytest

from desktop.core.config import ConfigError, SandboxConfig, SandboxPolicy, load_config

COMMANDS = """
[[verify]]
command = "pytest -q"

[build]
command = "./gradlew assembleDebug"
artifact = "app/*.apk"
"""


def test_defaults_box_everything_and_give_only_the_build_the_network() -> None:
    config = load_config(COMMANDS)
    assert config.sandbox == SandboxConfig()
    assert config.verify[0].sandbox == SandboxPolicy(mode="auto", network=False)
    assert config.build is not None
    assert config.build.sandbox == SandboxPolicy(mode="auto", network=True)
    assert load_config(None).sandbox.mode == "auto"


def test_the_table_reaches_every_verifier_and_the_build() -> None:
    config = load_config(
        '[sandbox]\nmode = "required"\nnetwork = true\nbuild_network = false\n'
        'read_only = ["~/Android/Sdk", "/opt/jdk"]\nwritable = ["~/.gradle"]\n' + COMMANDS
    )
    paths = (("~/Android/Sdk", "/opt/jdk"), ("~/.gradle",))
    assert config.verify[0].sandbox == SandboxPolicy("required", True, *paths)
    assert config.build is not None
    assert config.build.sandbox == SandboxPolicy("required", False, *paths)


@pytest.mark.parametrize(
    ("line", "key", "value", "expected"),
    [
        ('mode = "sometimes"', "sandbox.mode", "'sometimes'", "one of 'auto', 'required', 'off'"),
        ("mode = 1", "sandbox.mode", "1", "a non-empty string"),
        ('network = "no"', "sandbox.network", "'no'", "true or false"),
        ("build_network = 0", "sandbox.build_network", "0", "true or false"),
        ('read_only = "~/sdk"', "sandbox.read_only", "'~/sdk'", "a list of paths"),
        ('writable = ["build"]', "sandbox.writable", "'build'", "an absolute path or one"),
        ('writable = ["~"]', "sandbox.writable", "'~'", "not '/' or '~' itself"),
        ('read_only = ["/"]', "sandbox.read_only", "'/'", "not '/' or '~' itself"),
        ('read_only = ["/opt/../root"]', "sandbox.read_only", "'/opt/../root'", "no '..'"),
        ("netwrok = false", "sandbox.netwrok", "False", "no such key"),
    ],
)
def test_a_bad_sandbox_value_names_file_key_value_and_what_was_expected(
        line: str, key: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(f"[sandbox]\n{line}\n", file="app/honk.toml")
    message = str(caught.value)
    assert message.startswith(f"app/honk.toml: {key} = {value}: expected "), message
    assert expected in message
    assert caught.value.file == "app/honk.toml" and caught.value.key == key


def test_sandbox_must_be_a_table() -> None:
    with pytest.raises(ConfigError, match=r"honk.toml: sandbox = 'off': expected a table"):
        load_config('sandbox = "off"\n')
