"""The scripted Messages API in a process of its own, as the real (remote) API always is.

In the client's process, the server's handler threads take the GIL from the client's event
loop, a handicap a remote API never imposes; a benchmark of the loop's stalls must not pay
it. Scripts (frozen dataclasses) and `Route`s are pickled to the child, which builds the
router there with `route_by` (a closure does not pickle) and serves until stopped.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from desktop.sim.http_server import Service
from desktop.sim.messages_routing import Route
from desktop.sim.messages_script import Script

__all__ = ["MessagesServerProcess"]

_STOP_TIMEOUT_S = 10.0
# The directory holding the `desktop` package, so the child imports this same tree.
_SOURCE_ROOT = Path(__file__).resolve().parent.parent.parent


class MessagesServerProcess(Service):
    """A `ScriptedMessagesAPI` serving ``scripts`` in a spawned child process.

    ``routes`` (with optional ``default``) become the child's `route_by` router; without
    routes, ``scripts`` is a single script. Use as a context
    manager; `base_url` is valid while it runs.
    """

    def __init__(
        self,
        scripts: Script | Mapping[str, Script],
        routes: Sequence[Route] | None = None,
        *,
        default: str | None = None,
        expected_api_key: str | None = None,
        nice: int = 0,
    ) -> None:
        if routes is None and isinstance(scripts, Mapping):
            raise TypeError("MessagesServerProcess: a mapping of scripts needs routes")
        if routes is not None and not isinstance(scripts, Mapping):
            raise TypeError(
                "MessagesServerProcess: with routes, pass a mapping key -> script, "
                f"got {type(scripts).__name__}"
            )
        self._args = (
            dict(scripts) if isinstance(scripts, Mapping) else list(scripts),
            None if routes is None else list(routes),
            default,
            expected_api_key,
            nice,
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._base_url: str | None = None

    def start(self) -> None:
        """Start the server process and wait until it listens.

        A plain `python -m` child rather than multiprocessing's spawn, which would re-run
        the parent's main script (breaking any caller without a `__main__` guard).
        """
        if self._proc is not None:
            raise RuntimeError("MessagesServerProcess is already started")
        path = os.pathsep.join(filter(None, [str(_SOURCE_ROOT), os.environ.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "desktop.sim.messages_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": path},
        )
        try:
            answer = self._exchange(self._args)
        except EOFError:
            self.stop()
            raise RuntimeError("the scripted Messages API process exited at start "
                               "(its error is on stderr)") from None
        if isinstance(answer, BaseException):
            self.stop()
            raise RuntimeError(f"the scripted Messages API failed to start: {answer!r}")
        self._base_url = str(answer)

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` of the child's server."""
        if self._base_url is None:
            raise RuntimeError("MessagesServerProcess is not started")
        return self._base_url

    def remaining(self) -> dict[str, int]:
        """How many scripted responses each key still has (asked of the child)."""
        return dict(self._exchange("remaining"))

    def message_count(self) -> int:
        """How many `POST /v1/messages` requests the child has answered."""
        return int(self._exchange("message_count"))

    def _exchange(self, message: Any) -> Any:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdout is None:
            raise RuntimeError("MessagesServerProcess is not started")
        pickle.dump(message, proc.stdin)
        proc.stdin.flush()
        return pickle.load(proc.stdout)

    def stop(self) -> None:
        """Stop the child's server and wait for the process to end."""
        proc, self._proc, self._base_url = self._proc, None, None
        if proc is None:
            return
        assert proc.stdin is not None and proc.stdout is not None
        with contextlib.suppress(OSError):  # the child may already be gone
            proc.stdin.close()  # end of input: the child stops serving and exits
        try:
            proc.wait(_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """The child: read the scripts, serve them, answer queries until input ends."""
    from desktop.sim.messages_api import ScriptedMessagesAPI
    from desktop.sim.messages_routing import route_by

    def answer(value: Any) -> None:
        pickle.dump(value, answers)
        answers.flush()

    scripts, routes, default, expected_api_key, nice = pickle.load(requests)
    try:
        if nice:
            os.nice(nice)
        router = None if routes is None else route_by(routes, default)
        api = ScriptedMessagesAPI(scripts, router, expected_api_key=expected_api_key)
        api.start()
    except Exception as exc:  # reported to the parent, which raises it
        answer(exc)
        return
    try:
        answer(api.base_url)
        while True:
            try:
                what = pickle.load(requests)
            except EOFError:  # the parent closed our input (or died): stop serving
                break
            if what == "remaining":
                answer(api.remaining())
            elif what == "message_count":
                answer(len(api.message_requests()))
            else:
                answer(ValueError(f"unknown query {what!r}"))
    finally:
        api.stop()


if __name__ == "__main__":
    # Answers go on a private copy of stdout; anything printed goes to stderr instead, so
    # it cannot corrupt the pickle stream.
    _answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    _serve(sys.stdin.buffer, _answers)
