"""What a person gives a change (its request, the repo's honk.toml, run options), checked
before anything is touched; and the small facts the change services share."""

from __future__ import annotations

import secrets as pysecrets
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.core.errors import UsageError

if TYPE_CHECKING:
    from desktop.core.config import HonkConfig

__all__ = [
    "MAX_REQUEST_BYTES",
    "UsageError",
    "new_change_id",
    "read_config",
    "validate_request",
]

MAX_REQUEST_BYTES = 100_000


def validate_request(request: str) -> str:
    """The request without surrounding blanks; raises UsageError if empty or too large."""
    text = request.strip()
    if not text:
        raise UsageError("the request is empty: say what the agent should change")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_REQUEST_BYTES:
        raise UsageError(
            f"the request is {size:,} bytes; the limit is {MAX_REQUEST_BYTES:,}. Put long "
            "material in a file in the repo and refer to it"
        )
    return text


def read_config(repo: Path) -> HonkConfig:
    """The repo's honk.toml from the person's checkout (never from an agent's worktree)."""
    from desktop.core.config import CONFIG_NAME, load_config

    path = repo / CONFIG_NAME
    if not path.is_file():
        return load_config(None, str(path))
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return load_config(text, str(path))


def new_change_id() -> str:
    """Short, unique enough for one person's history, and easy to type."""
    return pysecrets.token_hex(4)
