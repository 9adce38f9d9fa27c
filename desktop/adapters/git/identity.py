"""Who is acting, as an audit record names them: the repo's git identity and the OS login."""

from __future__ import annotations

import getpass
from pathlib import Path

from desktop.adapters.git.cli import GitError, git
from desktop.core.audit import format_actor

__all__ = ["current_actor"]


def current_actor(repo: Path) -> str:
    """``Name <email> (os: user)`` from the repo's git config and the OS login."""
    def config(key: str) -> str:
        try:
            return git("config", "--get", key, cwd=repo)
        except GitError:
            return ""  # unset: format_actor writes 'unknown'

    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):
        os_user = ""
    return format_actor(config("user.name"), config("user.email"), os_user)
