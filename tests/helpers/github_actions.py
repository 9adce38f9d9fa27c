"""The loopback GitHub's Actions on the test's bare remote: one clock for the sim and whoever
talks to it, and the change's branch pushed. A test module imports the fixtures it uses
(``# noqa: F401``), as it does those of ``tests.helpers.adb``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from desktop.sim.github_api import FakeGitHub
from tests.helpers.gitrepo import RepoWithRemote

TOKEN = "ghp_ActionsTestToken0123456789abcdefXYZ"
BRANCH = "honk/c1-greeting"
START = 1_767_225_600.0  # 2026-01-01T00:00:00Z
STARTED = "2026-01-01T00:00:00Z"


class Clock:
    """One time for the sim and the client, stepped by the test."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pushed(repo: RepoWithRemote) -> str:
    """The sha of a commit on ``BRANCH``, pushed to the bare remote."""
    repo.git("checkout", "-q", "-b", BRANCH)
    repo.write("app/greeting.py", 'GREETING = "Hi"\n')
    sha = repo.commit_all("change greeting")
    repo.git("push", "-q", "origin", BRANCH)
    return sha


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sim(repo: RepoWithRemote, clock: Clock) -> Iterator[FakeGitHub]:
    """The loopback GitHub on the bare remote, its Actions on ``clock``, wanting ``TOKEN``."""
    with FakeGitHub(git_dir=repo.remote, token=TOKEN) as server:
        server.actions.clock = clock
        yield server
