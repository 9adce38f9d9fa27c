"""The HTTP core the GitHub clients share: one httpx client per API host, the token sent to
that host only, GitHub's JSON errors turned into the ``GitHubError`` family, ``Link`` paging,
rate limits waited out, and the documented 302s to another host followed without the token;
``GitHubApiClient`` is the base each client (merge route, Actions) builds on. The error
family lives in ``forge.errors`` (import it from there) and the reading of GitHub's failed
answers in ``forge.answers``.

The token is passed in by the caller (from the keyring); it is sent only as the
``Authorization`` header to the API's own origin and never appears in a message, an
exception or a repr.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
import re
import ssl
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any, ClassVar, Self, TypedDict, Unpack

import httpx

from desktop.adapters.forge.answers import github_message, rate_wait, status_error
from desktop.adapters.forge.errors import (
    GitHubError,
    GitHubRateLimited,
    GitHubUnreachable,
)

__all__ = [
    "API_VERSION",
    "LARGE_BODY",
    "Explain",
    "GitHubApiClient",
    "GitHubHttp",
    "HttpOptions",
    "OnWait",
    "Sleep",
    "Write",
    "tls_context",
]

API_VERSION = "2022-11-28"
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_MAX_PAGES = 100
# A body this big is decoded on a worker thread (a page of 100 workflow runs is about a MB of
# JSON: ~10 ms of parsing, most of a frame).
LARGE_BODY = 256 * 1024
_TLS_LOCK = threading.Lock()
_TLS: dict[tuple[str, str], ssl.SSLContext] = {}
# What httpcore imports at its first request (anyio's asyncio backend, ~30 ms).
_FIRST_REQUEST_IMPORTS = ("httpcore._backends.anyio", "anyio._backends._asyncio")


def _tls_key() -> tuple[str, str]:
    return os.environ.get("SSL_CERT_FILE", ""), os.environ.get("SSL_CERT_DIR", "")


def tls_context() -> ssl.SSLContext:
    """The TLS settings httpx builds for a client by default (certifi's CAs, or SSL_CERT_FILE
    / SSL_CERT_DIR), made once per process and shared: making one parses every CA
    certificate (10-40 ms of CPU), too much to pay per client. Blocks; call it off the
    event loop the first time."""
    key = _tls_key()
    with _TLS_LOCK:
        made = _TLS.get(key)
        if made is None:
            made = _TLS[key] = httpx.create_ssl_context()
        return made


def _first_request_ready() -> ssl.SSLContext | None:
    """The TLS context, when the one-off work of a first request is already done."""
    if all(name in sys.modules for name in _FIRST_REQUEST_IMPORTS):
        return _TLS.get(_tls_key())
    return None


def _prepare_first_request() -> ssl.SSLContext:
    """A first request's one-off work, done ahead on a worker thread: the TLS context and
    the imports httpcore would make on the loop."""
    for name in _FIRST_REQUEST_IMPORTS:
        with contextlib.suppress(ImportError):  # moved in a newer httpx: it imports it then
            importlib.import_module(name)
    return tls_context()


OnWait = Callable[[float, str], None]  # (seconds, why): "rate limited, waiting 12 s"
Sleep = Callable[[float], Awaitable[None]]
Write = Callable[[bytes], Awaitable[object]]  # takes the next bytes of a download
# (status, GitHub's message, "METHOD /path at base") -> a more precise error, or None.
Explain = Callable[[int, str, str], GitHubError | None]


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return url.scheme, url.host, url.port or default


class _Bearer(httpx.Auth):
    """Adds the token to requests for the API's own origin only; its repr never shows it."""

    def __init__(self, token: str, origin: tuple[str, str, int | None]) -> None:
        self._token = token
        self._origin = origin

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if _origin(request.url) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_Bearer(<token hidden>)"


class HttpOptions(TypedDict, total=False):
    """The keywords a GitHub client takes for its ``GitHubHttp`` (defaults there)."""

    base_url: str
    timeout: float
    transport: httpx.AsyncBaseTransport | None
    on_wait: OnWait | None
    sleep: Sleep
    clock: Callable[[], float]
    max_wait: float


class GitHubHttp:
    """One API host's connection: requests, paging, rate limits and redirects elsewhere."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = "https://api.github.com",
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        on_wait: OnWait | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 900.0,
        permissions: str = "the permissions it needs",
    ) -> None:
        if not token:
            raise ValueError("GitHub token is empty: store one in the keyring first")
        if any(ch.isspace() or ord(ch) < 32 for ch in token):
            raise ValueError("GitHub token contains whitespace or control characters "
                             "(copied with a newline?)")
        if not re.match(r"https?://[^/\s]+", base_url):
            raise ValueError(f"GitHub API base URL = {base_url!r}: expected http(s)://HOST[/path]"
                             " (GitHub Enterprise: https://HOST/api/v3)")
        self.base_url = base_url.rstrip("/")
        self._origin = _origin(httpx.URL(self.base_url))
        self._secret = token  # only to scrub messages; the header comes from _Bearer
        self._on_wait, self._sleep, self._clock = on_wait, sleep, clock
        self.max_wait = max_wait
        self._permissions = permissions
        self._auth, self._timeout, self._transport = _Bearer(token, self._origin), timeout, transport
        # Made at the first request: they need the TLS context, which may have to be built
        # (off the loop, with httpcore's imports), and a client made on the loop must not
        # stall it.
        self._clients: tuple[httpx.AsyncClient, httpx.AsyncClient] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"GitHubHttp(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        self._closed = True
        clients, self._clients = self._clients, None
        if clients is not None:
            for client in clients:
                await client.aclose()

    async def _connected(self) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
        """(the API's client, the client for the hosts GitHub redirects to)."""
        if self._clients is None:
            verify: ssl.SSLContext | bool = True  # a given transport brings its own
            if self._transport is None:
                ready = _first_request_ready()
                verify = (ready if ready is not None
                          else await asyncio.to_thread(_prepare_first_request))
            if self._closed:
                raise RuntimeError("GitHubHttp is closed")
            if self._clients is None:  # another request may have made them meanwhile
                self._clients = (
                    httpx.AsyncClient(
                        base_url=self.base_url, auth=self._auth, timeout=self._timeout,
                        transport=self._transport, verify=verify,
                        headers={"Accept": "application/vnd.github+json",
                                 "X-GitHub-Api-Version": API_VERSION,
                                 "User-Agent": "honk-desktop"}),
                    # Redirect targets get their own client: no auth, no GitHub headers.
                    httpx.AsyncClient(timeout=self._timeout, transport=self._transport,
                                      verify=verify, headers={"User-Agent": "honk-desktop"}))
        return self._clients

    # -- helpers for the clients ----------------------------------------------------------

    @staticmethod
    def repo_path(owner: str, repo: str) -> str:
        """``/repos/{owner}/{repo}``, refusing names that would change the path."""
        for what, value in (("owner", owner), ("repo", repo)):
            if not _NAME.fullmatch(value):
                raise ValueError(f"GitHub {what} = {value!r}: expected letters, digits, "
                                 "'-', '_' or '.' (github_repo = 'owner/name')")
        return f"/repos/{owner}/{repo}"

    def scrub(self, text: str) -> str:
        """``text`` with the token replaced by ``<token>``."""
        return text.replace(self._secret, "<token>")

    def shape(self, method: str, path: str, expected: str) -> GitHubError:
        """The error for an answer that is not what GitHub documents."""
        return GitHubUnreachable(f"GitHub {method} {path} at {self.base_url}: unexpected "
                                 f"response (expected {expected}); is this a GitHub API URL?")

    # -- requests -------------------------------------------------------------------------

    async def json(self, method: str, path: str, *, body: Any = None,
                   params: dict[str, str] | None = None, explain: Explain | None = None) -> Any:
        """The JSON GitHub answers to a successful request."""
        return await self._decode(await self.send(method, path, body=body, params=params,
                                                  explain=explain), method, path)

    async def send(self, method: str, path: str, *, body: Any = None,
                   params: dict[str, str] | None = None,
                   explain: Explain | None = None) -> httpx.Response:
        """A 2xx or 3xx answer, after waiting out rate limits; anything else raises."""
        where = f"{method} {httpx.URL(path).path if '://' in path else path} at {self.base_url}"
        waited = 0.0
        api, _ = await self._connected()
        while True:
            try:
                response = await api.request(method, path, json=body, params=params)
            except httpx.HTTPError as exc:
                raise GitHubUnreachable(
                    self.scrub(f"GitHub {where} failed: {type(exc).__name__}: {exc}")
                ) from None
            said = github_message(response, self.scrub)
            wait = rate_wait(response, said, self._clock)
            if wait is None:
                break
            seconds, why = wait
            if waited + seconds > self.max_wait:
                raise GitHubRateLimited(
                    f"GitHub rate limit on {where} ({response.status_code} {said}".strip()
                    + f"): it lifts in {seconds:.0f} s, past the {self.max_wait:.0f} s Honk "
                    "waits; try again later", response.status_code, said)
            if self._on_wait is not None:
                self._on_wait(seconds, why)
            await self._sleep(seconds)
            waited += seconds
        if response.is_success or response.is_redirect:
            return response
        code = response.status_code
        error = explain(code, said, where) if explain is not None else None
        raise error or status_error(code, said, where, self._permissions)

    async def pages(self, path: str, key: str, *, params: dict[str, str] | None = None,
                    explain: Explain | None = None,
                    enough: Callable[[list[Any]], bool] | None = None) -> list[Any]:
        """Every item under ``key`` on every page, following ``Link: rel="next"``; stops
        early once ``enough(page_items)`` says so."""
        items: list[Any] = []
        target, query = path, params
        for _ in range(_MAX_PAGES):
            response = await self.send("GET", target, params=query, explain=explain)
            data = await self._decode(response, "GET", path)
            page = data.get(key) if isinstance(data, dict) else None
            if not isinstance(page, list):
                raise self.shape("GET", path, f"{{{key}: [...]}}")
            items.extend(page)
            following = response.links.get("next", {}).get("url")
            if not following or not page or (enough is not None and enough(page)):
                return items
            url = response.url.join(following)
            if _origin(url) != self._origin:  # the token goes to the API's host only
                raise self.shape("GET", path, "a Link to the same host")
            target, query = str(url), None
        raise GitHubError(f"GitHub GET {path} at {self.base_url}: more than {_MAX_PAGES} pages")

    async def fetch(self, path: str, write: Write, *, explain: Explain | None = None) -> int:
        """GET ``path``, which answers 302 to another host, and stream what that host serves
        into ``write``; the request there is a fresh one, without the token. Bytes written."""
        for attempt in (1, 2):
            response = await self.send("GET", path, explain=explain)
            if response.is_success:  # served here after all
                await write(response.content)
                return len(response.content)
            url = response.url.join(response.headers["location"])
            host = url.host  # never the whole URL: its query is a signature
            _, elsewhere = await self._connected()
            try:
                async with elsewhere.stream("GET", url) as got:
                    if got.status_code in (403, 410) and attempt == 1:
                        continue  # the short-lived link expired before we used it: ask again
                    if not got.is_success:
                        raise GitHubError(f"GitHub GET {path} at {self.base_url}: the download "
                                          f"from {host} failed ({got.status_code})",
                                          got.status_code)
                    written = 0
                    async for chunk in got.aiter_bytes():
                        await write(chunk)
                        written += len(chunk)
                    return written
            except httpx.HTTPError as exc:
                raise GitHubUnreachable(f"GitHub GET {path} at {self.base_url}: the download "
                                        f"from {host} failed: {type(exc).__name__}") from None
        raise GitHubError(f"GitHub GET {path} at {self.base_url}: the download link expired "
                          "twice before it could be used", 403)

    # -- plumbing -------------------------------------------------------------------------

    async def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            if len(response.content) >= LARGE_BODY:
                return await asyncio.to_thread(json.loads, response.content)
            return response.json()
        except ValueError:
            raise self.shape(method, path, "JSON") from None


class GitHubApiClient:
    """What the GitHub clients share: their ``GitHubHttp`` (``self._core``), made from the
    same keywords and naming the client's ``PERMISSIONS`` when GitHub answers 403, and
    ``async with`` closing it."""

    PERMISSIONS: ClassVar[str] = "the permissions it needs"

    def __init__(self, token: str, **options: Unpack[HttpOptions]) -> None:
        self._core = GitHubHttp(token, permissions=self.PERMISSIONS, **options)
        self.base_url = self._core.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._core.aclose()
