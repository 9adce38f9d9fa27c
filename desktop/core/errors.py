"""One root for every error Honk means to show a person: `HonkError`.

Front ends catch `HonkError` once and print its message; anything else is a bug and keeps
its traceback. Each subclass keeps the builtin base it always had (``ValueError`` for bad
input, ``RuntimeError`` for a failing outside thing), so existing ``except`` clauses hold.
"""

from __future__ import annotations

__all__ = ["HonkError", "UsageError"]


class HonkError(Exception):
    """An expected failure, with a message that says what went wrong and what to do."""


class UsageError(HonkError, ValueError):
    """Bad input from the person (exit code 2 in the CLI); nothing was changed."""
