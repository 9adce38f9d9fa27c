"""The loopback GitHub's rate limit: the ``x-ratelimit-*`` headers every API answer carries,
and injected limits, primary (403, ``x-ratelimit-remaining: 0``) or secondary (429,
``Retry-After``), as GitHub documents them (API version 2022-11-28)."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

from desktop.sim.github_reply import Reply, error

__all__ = ["ACTIONS_DOCS", "RateLimit"]

ACTIONS_DOCS = "https://docs.github.com/rest/actions"
_LIMIT = 5000


class RateLimit:
    """Counts the API calls; ``clock()`` gives the epoch the resets are on."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limited, self._limit_kind, self._limit_reset, self._retry_after = 0, "", 0, 0
        self._used, self._window_reset = 0, 0

    def limit_next(self, n: int, kind: str, reset_in_s: float) -> None:
        """The next ``n`` calls answer 403 (``primary``) or 429 (``secondary``)."""
        assert kind in ("primary", "secondary"), kind
        with self._lock:
            self._limited, self._limit_kind = n, kind
            self._limit_reset = math.ceil(self._clock() + reset_in_s)
            self._retry_after = math.ceil(reset_in_s)

    def take(self) -> Reply | None:
        """Count one API call; the rate-limit answer to give instead, if one is due."""
        with self._lock:
            self._used += 1
            if self._limited <= 0:
                return None
            self._limited -= 1
            if self._limit_kind == "secondary":
                reply = error(429, "You have exceeded a secondary rate limit. Please wait a "
                                   "few minutes before you try again.",
                              docs=ACTIONS_DOCS, status="429")
                reply.headers["Retry-After"] = str(self._retry_after)
                return reply
            reply = error(403, "API rate limit exceeded for user ID 1.", docs=ACTIONS_DOCS,
                          status="403")
            reply.headers.update({"x-ratelimit-remaining": "0",
                                  "x-ratelimit-reset": str(self._limit_reset)})
            return reply

    def headers(self) -> dict[str, str]:
        """The ``x-ratelimit-*`` headers every API answer carries."""
        with self._lock:
            if not self._window_reset:
                self._window_reset = math.ceil(self._clock()) + 3600
            return {"x-ratelimit-limit": str(_LIMIT),
                    "x-ratelimit-remaining": str(max(_LIMIT - self._used, 0)),
                    "x-ratelimit-reset": str(self._window_reset),
                    "x-ratelimit-used": str(self._used), "x-ratelimit-resource": "core"}
