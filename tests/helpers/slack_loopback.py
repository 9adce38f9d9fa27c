"""What the tests of slack_sdk against the loopback Slack share: a message with a button,
and the guard that keeps proxies out and no thread behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

__all__ = ["BUTTONS", "no_proxy_no_leaks"]

BUTTONS = [{"type": "actions", "block_id": "decide", "elements": [
    {"type": "button", "action_id": "approve", "value": "change-1",
     "text": {"type": "plain_text", "text": "Approve"}}]}]


@contextmanager
def no_proxy_no_leaks(monkeypatch: pytest.MonkeyPatch, *,
                      spare: tuple[str, ...] = ()) -> Iterator[None]:
    """No proxy in the environment while it runs; after, every thread started meanwhile
    must end within 3 s, but those whose names start with one of ``spare``."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)  # slack_sdk would send loopback calls there
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3
    while (left := {t for t in set(threading.enumerate()) - before
                    if not t.name.startswith(spare)}) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left, f"threads left running: {left}"
