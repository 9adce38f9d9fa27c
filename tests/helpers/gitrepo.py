"""Real git repositories in temp dirs: a working repo with a bare 'production' remote."""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from collections.abc import Iterator
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
    return make_repo(
        tmp_path / "git", {"README.md": "# sample\n", "app/greeting.py": 'GREETING = "Hello"\n'}
    )


# ---- a worktree in a hostile neighbourhood, for the editor tool's confinement tests ----------

SECRET = "TOPSECRET-3f9c1e-do-not-leak"


@dataclass
class BoxedWorktree:
    """A real git worktree with a secret beside it and symlinks inside that point out."""

    base: Path  # everything outside the worktree that must stay untouched lives under here
    root: Path  # the worktree
    repo: RepoWithRemote
    secret: Path
    outside: Path


def make_boxed_worktree(base: Path) -> BoxedWorktree:
    repo = make_repo(base / "git", {"README.md": "# sample\n", "app/greeting.py": 'G = "Hello"\n'})
    root = base / "wts" / "c1"
    repo.git("worktree", "add", "-q", "-b", "honk/c1-box", str(root), "main")
    secret = base / "secret.txt"
    secret.write_text(SECRET + "\n")
    outside = base / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text(f"TARGET line\n{SECRET}\n")
    links = {
        "out": str(outside),  # absolute, outside
        "rel_out": "../../outside",  # relative, outside
        "secret_link": "../../secret.txt",
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "self_loop": "self_loop",
        "gitdir_link": ".git",
        "maingit": str(repo.path / ".git"),
        "in_link": "app",  # inside: allowed
        "in_abs": str(root / "app"),  # absolute but inside: allowed
        "dangling_out": str(base / "not-yet"),
    }
    for name, dest in links.items():
        (root / name).symlink_to(dest)
    return BoxedWorktree(base=base, root=root, repo=repo, secret=secret, outside=outside)


def tree_snapshot(base: Path, skip: Path, *, content: bool = True) -> dict[str, tuple[object, ...]]:
    """Every entry under ``base`` except the contents of ``skip`` (its ``.git`` file is kept):
    kind, mode, inode, times and content (or link target). Compare two to prove nothing
    changed. ``content=False`` skips hashing (the inode change time still betrays a write)."""
    snap: dict[str, tuple[object, ...]] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        here = Path(dirpath)
        if here == skip:
            dirnames[:] = []
            filenames = [n for n in filenames if n == ".git"]
        for name in dirnames + filenames:
            p = here / name
            st = p.lstat()
            key = str(p.relative_to(base))
            if stat.S_ISLNK(st.st_mode):
                snap[key] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                snap[key] = ("dir", st.st_mode, st.st_ino)
            else:
                digest = hashlib.sha256(p.read_bytes()).hexdigest() if content else ""
                times = (st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_size)
                snap[key] = ("file", st.st_mode, *times, digest)
    return snap


def assert_same_tree(
    before: dict[str, tuple[object, ...]], after: dict[str, tuple[object, ...]]
) -> None:
    """Fail naming only the entries that appeared, vanished or changed."""
    changed = {
        key: (before.get(key), after.get(key))
        for key in before.keys() | after.keys()
        if before.get(key) != after.get(key)
    }
    assert not changed, f"outside the worktree changed: {changed}"


@pytest.fixture(scope="module")
def shared_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BoxedWorktree]:
    """One boxed worktree per test module, for checks that must leave it unchanged anyway."""
    with pytest.MonkeyPatch.context() as mp:
        for var in ("GIT_AUTHOR", "GIT_COMMITTER"):
            mp.setenv(f"{var}_NAME", "Test Engineer")
            mp.setenv(f"{var}_EMAIL", "engineer@example.invalid")
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield make_boxed_worktree(tmp_path_factory.mktemp("box"))
