"""Where secrets are kept: the keyring, or (headless, no Secret Service) nowhere unless the
person opts in to an unencrypted 0600 file, with a loud warning on every use. Also against a
real Secret Service (gnome-keyring in a private D-Bus session) when it is installed."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.adapters.secrets import (
    ANTHROPIC_KEY,
    GITHUB_TOKEN,
    INSECURE_ENV,
    SecretStore,
    SecretsUnavailable,
)
from tests.security.honkrun import honk

VALUE = "sk-ant-api03-STORETEST-0123456789abcdef"
TOKEN = "ghp_STORETEST0123456789abcdefABCDEF0123"
FAIL_BACKEND = "keyring.backends.fail.Keyring"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", FAIL_BACKEND)
    import keyring.core

    monkeypatch.setattr(keyring.core, "_keyring_backend", None)  # re-read the choice


def all_bytes(root: Path) -> bytes:
    """Every file's bytes under ``root``. A keyring daemon still shutting down removes its
    runtime directory (sockets, no data) meanwhile: what vanishes mid-walk held nothing."""
    out = []
    for folder, _dirs, files in os.walk(root):  # os.walk skips a folder that is gone
        for name in files:
            path = Path(folder) / name
            with contextlib.suppress(FileNotFoundError):
                if path.is_file():  # not the daemon's sockets
                    out.append(path.read_bytes())
    return b"".join(out)


def key_set(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
            name: str, value: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(value + "\n"))
    result = honk(capsys, "key", "set", name)
    return result.code, result.out, result.err


def store(home: Path, opt_in: str = "1") -> tuple[SecretStore, list[str]]:
    warnings: list[str] = []
    return SecretStore({INSECURE_ENV: opt_in}, home=home, warn=warnings.append), warnings


def test_without_a_keyring_key_set_fails_saying_how_to_opt_in_and_writes_nothing(
        no_keyring: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, err = key_set(capsys, monkeypatch, "anthropic", VALUE)
    assert code == 2
    assert "no keyring backend is available" in err
    assert "gnome-keyring" in err and "ANTHROPIC_API_KEY" in err
    assert f"{INSECURE_ENV}=1" in err and "secrets.insecure" in err
    assert "stored" not in out
    home = tmp_path / "honk-home"
    assert not (home / "secrets.insecure").exists()
    assert VALUE.encode() not in all_bytes(tmp_path)  # no silent plaintext anywhere


def test_opting_in_stores_a_0600_file_and_warns_loudly_on_every_use(
        no_keyring: None, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(INSECURE_ENV, "1")
    old = os.umask(0)  # even a permissive umask must not widen the file
    try:
        code, _, err = key_set(capsys, monkeypatch, "anthropic", VALUE)
    finally:
        os.umask(old)
    assert code == 0, err
    assert "WARNING" in err and "UNENCRYPTED" in err and "secrets.insecure" in err
    path = tmp_path / "honk-home" / "secrets.insecure"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {ANTHROPIC_KEY: VALUE}
    code, _, err = key_set(capsys, monkeypatch, "github", TOKEN)
    assert code == 0 and "WARNING" in err
    assert json.loads(path.read_text()) == {ANTHROPIC_KEY: VALUE, GITHUB_TOKEN: TOKEN}
    assert [p.name for p in path.parent.iterdir() if "insecure" in p.name] == [path.name]

    secrets, warnings = store(tmp_path / "honk-home")
    assert secrets.get(ANTHROPIC_KEY) == VALUE
    assert secrets.get(ANTHROPIC_KEY) == VALUE
    assert len(warnings) == 2 and all("UNENCRYPTED" in w for w in warnings)
    assert sorted(secrets.known_values()) == sorted([VALUE, TOKEN])


def test_without_the_opt_in_an_existing_file_is_not_read(no_keyring: None, tmp_path: Path
                                                         ) -> None:
    opted, _ = store(tmp_path)
    assert opted.set(ANTHROPIC_KEY, VALUE) == f"the UNENCRYPTED file {tmp_path / 'secrets.insecure'}"
    plain, warnings = store(tmp_path, opt_in="0")
    assert plain.get(ANTHROPIC_KEY) is None and warnings == []
    with pytest.raises(SecretsUnavailable, match=INSECURE_ENV):
        plain.set(ANTHROPIC_KEY, "sk-ant-other-value-0000")
    assert json.loads((tmp_path / "secrets.insecure").read_text()) == {ANTHROPIC_KEY: VALUE}


@pytest.mark.parametrize("value", ["yes", "true", "2", " on "])
def test_an_unreadable_opt_in_value_is_a_clear_error_and_stores_nothing(
        no_keyring: None, tmp_path: Path, value: str) -> None:
    secrets, warnings = store(tmp_path, opt_in=value)
    with pytest.raises(SecretsUnavailable, match=f"{INSECURE_ENV}=.*expected 1"):
        secrets.set(ANTHROPIC_KEY, VALUE)
    assert not (tmp_path / "secrets.insecure").exists()
    assert secrets.get(ANTHROPIC_KEY) is None
    assert INSECURE_ENV in warnings[0]


def test_a_file_others_can_read_is_refused_and_left_alone(no_keyring: None, tmp_path: Path
                                                          ) -> None:
    path = tmp_path / "secrets.insecure"
    path.write_text(json.dumps({ANTHROPIC_KEY: VALUE}))
    path.chmod(0o644)
    secrets, warnings = store(tmp_path)
    assert secrets.get(ANTHROPIC_KEY) is None
    assert "mode 0644" in warnings[0] and "expected 0600" in warnings[0] and str(path) in warnings[0]
    with pytest.raises(SecretsUnavailable, match="chmod 600"):
        secrets.set(GITHUB_TOKEN, TOKEN)
    assert json.loads(path.read_text()) == {ANTHROPIC_KEY: VALUE}


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"anthropic-api-key": 5}', "\xff"])
def test_a_corrupt_file_is_named_and_never_overwritten(
        no_keyring: None, tmp_path: Path, content: str) -> None:
    path = tmp_path / "secrets.insecure"
    path.write_bytes(content.encode("latin-1"))
    path.chmod(0o600)
    secrets, warnings = store(tmp_path)
    assert secrets.get(ANTHROPIC_KEY) is None
    assert str(path) in warnings[0] and "left as it is" in warnings[0]
    with pytest.raises(SecretsUnavailable, match="left as it is"):
        secrets.set(ANTHROPIC_KEY, VALUE)
    assert path.read_bytes() == content.encode("latin-1")


def test_a_symlinked_file_is_refused(no_keyring: None, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text("{}")
    elsewhere.chmod(0o600)
    home = tmp_path / "home"
    home.mkdir()
    (home / "secrets.insecure").symlink_to(elsewhere)
    secrets, warnings = store(home)
    with pytest.raises(SecretsUnavailable, match="symlink"):
        secrets.set(ANTHROPIC_KEY, VALUE)
    assert elsewhere.read_text() == "{}"
    assert secrets.get(ANTHROPIC_KEY) is None and "symlink" in warnings[0]


def test_the_environment_wins_and_no_file_is_touched(no_keyring: None, tmp_path: Path) -> None:
    warnings: list[str] = []
    secrets = SecretStore({"ANTHROPIC_API_KEY": VALUE, INSECURE_ENV: "1"}, home=tmp_path,
                          warn=warnings.append)
    assert secrets.get(ANTHROPIC_KEY) == VALUE and warnings == []
    assert list(tmp_path.iterdir()) == []


SESSION = """
set -e
eval "$(printf pw | gnome-keyring-daemon --unlock --components=secrets)"
trap 'kill "$GNOME_KEYRING_PID" 2>/dev/null || true' EXIT
printf '%s\\n' "$HONK_TEST_VALUE" | "$PY" -m desktop key set anthropic
"$PY" -c 'from desktop.adapters.secrets import SecretStore as S, ANTHROPIC_KEY as K; \
print("read back:", S({}).get(K) == __import__("os").environ["HONK_TEST_VALUE"])'
"""


@pytest.mark.skipif(shutil.which("gnome-keyring-daemon") is None
                    or shutil.which("dbus-run-session") is None,
                    reason="no gnome-keyring-daemon/dbus-run-session (apt-get install "
                           "--no-install-recommends gnome-keyring dbus-daemon)")
def test_a_real_secret_service_stores_the_key_encrypted_and_never_in_a_file(
        tmp_path: Path) -> None:
    user_home = tmp_path / "user"
    user_home.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS")}
    env.update(HOME=str(user_home), XDG_DATA_HOME=str(user_home / ".local/share"),
               XDG_RUNTIME_DIR=str(tmp_path), PY=sys.executable, HONK_TEST_VALUE=VALUE,
               PYTHONPATH=str(ROOT), **{INSECURE_ENV: "1"})  # a real keyring wins over it
    done = subprocess.run(["dbus-run-session", "--", "sh", "-c", SESSION], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored the Anthropic API key in the keyring" in done.stdout
    assert "read back: True" in done.stdout
    assert "WARNING" not in done.stderr
    home = Path(os.environ["HONK_HOME"])
    assert not (home / "secrets.insecure").exists()
    keyrings = user_home / ".local/share/keyrings"
    assert any(keyrings.iterdir())  # gnome-keyring kept it, encrypted with the login password
    assert VALUE.encode() not in all_bytes(tmp_path)
