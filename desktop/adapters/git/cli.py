"""The one place that runs the `git` CLI. Every git call in Honk goes through `git()`."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from desktop.core.errors import HonkError

__all__ = ["GitError", "git", "git_ok"]

# Never let git open an editor, a pager or a credential prompt behind the app's back.
_QUIET_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_EDITOR": "true",
    "GIT_PAGER": "cat",
    "GIT_OPTIONAL_LOCKS": "0",
    "LC_ALL": "C",
}


# Names that look like credentials to the scrubber ("AUTH") but are only who commits.
_GIT_IDENTITY = frozenset(
    f"GIT_{who}_{what}" for who in ("AUTHOR", "COMMITTER") for what in ("NAME", "EMAIL", "DATE")
)


class GitError(HonkError, RuntimeError):
    """A git command failed; ``str()`` names the command and git's own message."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str,
                 stdout: str = "") -> None:
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr.strip()
        self.stdout = stdout  # what git printed before it refused (rev-parse answers in order)
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {self.stderr}")


def git(
    *args: str,
    cwd: Path,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    strip: bool = True,
    without_secrets: bool = False,
) -> str:
    """Run git in ``cwd`` and return stdout as text (UTF-8, undecodable bytes escaped).

    ``without_secrets``: for commands that run repo-controlled code (commit hooks, which the
    pre-commit framework or husky configure from files the agent can edit), drop every
    credential-looking variable, as for verifiers; git's own identity variables stay.
    """
    full_env = {**os.environ, **_QUIET_ENV, **(env or {})}
    if without_secrets:
        from desktop.adapters.process.commands import scrubbed_env

        kept = scrubbed_env(full_env)
        full_env = {k: v for k, v in full_env.items() if k in kept or k in _GIT_IDENTITY}
    proc = subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        env=full_env,
        check=False,
    )
    out = proc.stdout.decode("utf-8", "surrogateescape")
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"), out)
    return out.strip() if strip else out


def git_ok(*args: str, cwd: Path) -> bool:
    """True when the git command exits 0 (for questions like `rev-parse --verify`)."""
    try:
        git(*args, cwd=cwd)
    except GitError:
        return False
    return True
