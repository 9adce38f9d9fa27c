"""Real git repositories in temp dirs: a working repo with a bare 'production' remote."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


def run_git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@dataclass
class RepoWithRemote:
    path: Path
    remote: Path

    def git(self, *args: str) -> str:
        return run_git(self.path, *args)

    def write(self, rel: str, text: str) -> Path:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return target

    def commit_all(self, message: str) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


def make_repo(root: Path, files: dict[str, str] | None = None) -> RepoWithRemote:
    """A repo on branch main with one commit, pushed to a bare remote named origin."""
    remote = root / "remote.git"
    path = root / "repo"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    repo = RepoWithRemote(path=path, remote=remote)
    for rel, text in (files or {"README.md": "# sample\n"}).items():
        repo.write(rel, text)
    repo.commit_all("initial")
    repo.git("remote", "add", "origin", str(remote))
    repo.git("push", "-q", "origin", "main")
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> RepoWithRemote:
    return make_repo(tmp_path / "git", {"README.md": "# sample\n", "app/greeting.py": 'GREETING = "Hello"\n'})
