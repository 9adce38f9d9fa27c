"""Routing requests to scripts, so several conversations can share one scripted API.

A router maps a parsed Messages request body to a script key. `route_by` builds one
from `Route`s keyed on the tools offered and the first user message's text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

Router: TypeAlias = Callable[[Mapping[str, Any]], str]


class NoRouteError(LookupError):
    """No route matched a request; the server answers 500 with this message."""


@dataclass(frozen=True)
class Route:
    """Requests matching every given condition go to script `key`."""

    key: str
    tool: str | None = None  # the request offers a tool with this name
    first_user_contains: str | None = None  # substring of the first user message text

    def matches(self, body: Mapping[str, Any]) -> bool:
        """Whether `body` (a parsed Messages request) meets this route's conditions."""
        if self.tool is not None and self.tool not in offered_tools(body):
            return False
        return self.first_user_contains is None or self.first_user_contains in first_user_text(body)


def offered_tools(body: Mapping[str, Any]) -> list[str]:
    """Names of the tools a request offers."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return []
    return [t["name"] for t in tools if isinstance(t, dict) and isinstance(t.get("name"), str)]


def first_user_text(body: Mapping[str, Any]) -> str:
    """The text of the first user message (string content or its text blocks joined)."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in messages:
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(
                b["text"]
                for b in content
                if isinstance(b, dict)
                and b.get("type") == "text"
                and isinstance(b.get("text"), str)
            )
        return ""
    return ""


def route_by(routes: Sequence[Route], default: str | None = None) -> Router:
    """A router: the first matching route's key, else `default`, else NoRouteError.

    Put tool routes (e.g. the judge's `submit_verdict`) before text routes: a judge
    request usually quotes the same user request as the agent conversation.
    """
    routes = tuple(routes)

    def router(body: Mapping[str, Any]) -> str:
        for route in routes:
            if route.matches(body):
                return route.key
        if default is not None:
            return default
        text = first_user_text(body)
        raise NoRouteError(
            f"no route matched a request offering tools {offered_tools(body)} "
            f"whose first user message starts {text[:80]!r}"
        )

    return router


def numbered_request(i: int, text: str) -> str:
    """The request text of change ``i`` among several run at once (see :func:`numbered_routes`)."""
    return f"change number {i}: {text}"


def numbered_routes(n: int) -> list[Route]:
    """Routes sending change ``i``'s conversation (its request made by :func:`numbered_request`)
    to script ``c<i>``, so ``n`` changes can run at once against one scripted API."""
    return [Route(key=f"c{i}", first_user_contains=numbered_request(i, "")) for i in range(n)]
