"""Shared test set-up: every test gets its own HONK_HOME, git identity and no real keys."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.helpers.gitrepo", "tests.helpers.adb", "tests.helpers.scripted_api"]


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    home = tmp_path / "honk-home"
    monkeypatch.setenv("HONK_HOME", str(home))
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test Engineer")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "engineer@example.invalid")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test Engineer")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "engineer@example.invalid")
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    for var in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    yield
