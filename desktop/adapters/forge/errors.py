"""The ``GitHubError`` family: how a failed GitHub request is told apart by the callers."""

from __future__ import annotations

from desktop.core.errors import HonkError

__all__ = [
    "GitHubAuthError",
    "GitHubError",
    "GitHubForbidden",
    "GitHubNotFound",
    "GitHubRateLimited",
    "GitHubUnreachable",
    "GitHubValidation",
    "HeadChanged",
    "NotMergeable",
]


class GitHubError(HonkError, RuntimeError):
    """A GitHub request failed; ``str()`` names the request, the status and GitHub's message."""

    def __init__(self, message: str, status: int | None = None,
                 github_message: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.github_message = github_message


class GitHubAuthError(GitHubError):
    """401: the token was refused."""


class GitHubForbidden(GitHubError):
    """403: the token lacks a permission, or a rate limit was hit."""


class GitHubRateLimited(GitHubForbidden):
    """403 or 429 for a rate limit that would not reset within the wait allowed."""


class GitHubNotFound(GitHubError):
    """404: no such repository or pull request (or the token cannot see it)."""


class NotMergeable(GitHubError):
    """405: GitHub will not merge the PR (conflicts, branch protection, required checks)."""


class HeadChanged(GitHubError):
    """409: the PR's head is no longer the approved commit; nothing was merged."""


class GitHubValidation(GitHubError):
    """422: GitHub rejected the request's fields."""


class GitHubUnreachable(GitHubError):
    """The API could not be reached or answered with something that is not GitHub JSON."""
