"""`store_key`: the use case behind `honk key set` and the Settings page."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.adapters.secrets import ANTHROPIC_KEY, INSECURE_ENV, SecretStore
from desktop.app.keys import KEY_NAMES, store_key
from desktop.core.errors import UsageError

FAIL_BACKEND = "keyring.backends.fail.Keyring"


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """keyring's own "no backend" (what headless Linux has), whatever an earlier test chose:
    keyring keeps the first backend it settles on, so the environment alone is not enough."""
    import keyring
    from keyring.backends import fail

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL_BACKEND)
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def store(home: Path, opt_in: str = "") -> SecretStore:
    return SecretStore({INSECURE_ENV: opt_in}, home=home, warn=lambda _m: None)


def test_an_unknown_name_is_refused_naming_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown key 'slack': expected one of anthropic, "
                                         r"github, slack-bot, slack-app"):
        store_key(store(tmp_path), "slack", "xoxb-1")
    assert KEY_NAMES == ("anthropic", "github", "slack-bot", "slack-app")


def test_an_empty_value_stores_nothing(tmp_path: Path, no_keyring: None) -> None:
    secrets = store(tmp_path, opt_in="1")
    with pytest.raises(UsageError, match="no Anthropic API key given; nothing was stored"):
        store_key(secrets, "anthropic", "  \n")
    assert secrets.get(ANTHROPIC_KEY) is None
    assert not list(tmp_path.iterdir())


def test_no_keyring_is_a_usage_error_and_writes_no_file(tmp_path: Path, no_keyring: None) -> None:
    with pytest.raises(UsageError, match="keyring"):
        store_key(store(tmp_path), "anthropic", "sk-ant-0123456789abcdef")
    assert not list(tmp_path.iterdir())


def test_with_the_file_opt_in_the_value_is_stored_trimmed(tmp_path: Path, no_keyring: None) -> None:
    secrets = store(tmp_path, opt_in="1")
    with warnings.catch_warnings():
        where = store_key(secrets, "anthropic", "  sk-ant-0123456789abcdef\n")
    assert "UNENCRYPTED file" in where
    assert secrets.get(ANTHROPIC_KEY) == "sk-ant-0123456789abcdef"


def test_honk_key_set_offers_exactly_the_known_names(
        capsys: pytest.CaptureFixture[str]) -> None:
    from desktop.cli.main import build_parser

    parser = build_parser()
    assert [parser.parse_args(["key", "set", n]).name for n in KEY_NAMES] == list(KEY_NAMES)
    with pytest.raises(SystemExit):
        parser.parse_args(["key", "set", "slack"])
    offered = capsys.readouterr().err.split("choose from ")[1]
    assert [name.strip(" '\n)") for name in offered.split(",")] == list(KEY_NAMES)
