"""Reading GitHub's answers to failed requests: its message, whether it is a rate limit (and
how long to wait it out), and the ``GitHubError`` a status stands for."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from desktop.adapters.forge.errors import (
    GitHubAuthError,
    GitHubError,
    GitHubForbidden,
    GitHubNotFound,
    GitHubValidation,
)

__all__ = ["github_message", "rate_wait", "status_error"]

# GitHub's advice when a secondary limit names no time: wait at least a minute.
_SECONDARY_DEFAULT_S = 60.0
# A reset already passed by our clock (skew) still waits a little, so a loop cannot spin.
_MIN_WAIT_S = 1.0


def github_message(response: httpx.Response, scrub: Callable[[str], str]) -> str:
    """GitHub's ``message`` (and its ``errors``' details) on a failed answer, scrubbed; ""
    for a success, a redirect or a body that is not GitHub's JSON."""
    if response.is_success or response.is_redirect:
        return ""
    try:
        data = response.json()
    except ValueError:
        return ""
    if not (isinstance(data, dict) and isinstance(data.get("message"), str)):
        return ""
    said: str = data["message"]
    errors = [e for e in data.get("errors") or [] if isinstance(e, dict)]
    details = [e.get("message") for e in errors if e.get("message")]
    details += [f"{e.get('field')} {e.get('code')}" for e in errors
                if not e.get("message") and e.get("field")]
    if details:
        said += ": " + "; ".join(str(d) for d in details)
    return scrub(said)


def rate_wait(response: httpx.Response, said: str,
              clock: Callable[[], float]) -> tuple[float, str] | None:
    """How long to wait before trying again, and why; None when this is no rate limit."""
    code, headers = response.status_code, response.headers
    if code not in (403, 429):
        return None
    retry_after = headers.get("retry-after", "")
    if retry_after.strip().isdigit():
        seconds = max(float(retry_after), _MIN_WAIT_S)
        return seconds, f"GitHub rate limit (secondary): waiting {seconds:.0f} s"
    reset = headers.get("x-ratelimit-reset", "")
    if headers.get("x-ratelimit-remaining") == "0" and reset.strip().isdigit():
        seconds = max(float(reset) - clock(), _MIN_WAIT_S)
        return seconds, f"GitHub rate limit used up: waiting {seconds:.0f} s for its reset"
    if code == 429 or "secondary rate limit" in said.lower():
        return (_SECONDARY_DEFAULT_S,
                f"GitHub rate limit (secondary): waiting {_SECONDARY_DEFAULT_S:.0f} s")
    return None


def status_error(code: int, said: str, where: str, permissions: str) -> GitHubError:
    """The error for a failed ``where`` ("METHOD /path at base"); ``permissions`` names what
    the client's token needs, for a 403."""
    quoted = f"{code} {said}".strip()
    if code == 401:
        return GitHubAuthError(f"GitHub refused the token ({quoted}) for {where}: store a "
                               "valid token in the keyring", code, said)
    if code == 403:
        return GitHubForbidden(f"GitHub denied {where} ({quoted}): the token lacks "
                               f"permission ({permissions}) or a rate limit was hit",
                               code, said)
    if code == 404:
        return GitHubNotFound(f"GitHub found nothing at {where} ({quoted}): check "
                              "github_repo and that the token can see the repository",
                              code, said)
    if code == 422:
        return GitHubValidation(f"GitHub rejected {where} ({quoted})", code, said)
    return GitHubError(f"GitHub {where} failed ({quoted})", code, said)
