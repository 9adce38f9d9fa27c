"""A second `honk` for the same home shows the running window instead of an error box."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from PySide6.QtNetwork import QLocalServer, QLocalSocket
from pytestqt.qtbot import QtBot

from desktop.ui.single_instance import ActivationServer, activate_running, server_name

ASK_FROM_CHILD = ("import sys; from pathlib import Path; "
                  "from desktop.ui.single_instance import activate_running; "
                  "print(activate_running(Path(sys.argv[1]), int(sys.argv[2])))")


def _ask(qtbot: QtBot, home: Path, timeout_ms: int) -> bool:
    """The second launch's ask, from a child process as a second launch makes it (its wait
    blocks holding the GIL, so it cannot share a process with the server's loop)."""
    child = subprocess.Popen([sys.executable, "-c", ASK_FROM_CHILD, str(home), str(timeout_ms)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL)
    qtbot.waitUntil(lambda: child.poll() is not None, timeout=30_000)
    out, err = child.communicate()
    assert child.returncode == 0, err
    return {"True": True, "False": False}[out.strip()]


def test_server_shows_the_window_and_answers(qtbot: QtBot, tmp_path: Path) -> None:
    shown: list[int] = []
    server = ActivationServer(tmp_path, lambda: shown.append(1))
    assert server.listen()
    try:
        assert _ask(qtbot, tmp_path, 5_000) is True
        assert shown == [1]
        # Another home is another Honk: nobody answers for it.
        assert activate_running(tmp_path / "other", 200) is False
        assert server_name(tmp_path) != server_name(tmp_path / "other")
        assert server_name(tmp_path) == server_name(tmp_path / "." / "")
    finally:
        server.close()


def test_a_socket_that_never_answers_is_not_taken_for_a_window(qtbot: QtBot,
                                                               tmp_path: Path) -> None:
    mute = QLocalServer()  # accepts, never replies: an old or hung Honk
    assert mute.listen(server_name(tmp_path))
    try:
        started = time.monotonic()
        assert _ask(qtbot, tmp_path, 300) is False
        assert time.monotonic() - started < 20  # gave up after its timeout, did not hang
    finally:
        mute.close()


@pytest.mark.skipif(sys.platform == "win32", reason="Unix socket file left by a crash")
def test_a_socket_left_by_a_crash_is_replaced(qtbot: QtBot, tmp_path: Path) -> None:
    stale = Path(QDir.tempPath()) / server_name(tmp_path)
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(stale))  # bound and then abandoned, as a killed Honk leaves it
    leftover.close()
    assert stale.exists()
    shown: list[int] = []
    server = ActivationServer(tmp_path, lambda: shown.append(1))
    try:
        assert server.listen()
        assert _ask(qtbot, tmp_path, 5_000) is True
        assert shown == [1]
    finally:
        server.close()


def _serving(name: str) -> bool:
    """Whether a server answers on ``name`` (a connection that says nothing, then drops)."""
    probe = QLocalSocket()
    probe.connectToServer(name)
    connected = probe.waitForConnected(200)
    probe.abort()
    return connected


@pytest.mark.slow
def test_second_launch_brings_the_first_window_forward(tmp_path: Path) -> None:
    home = tmp_path / "honk-home"
    env = {**os.environ, "HONK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "HONK_DEVICE_WATCH": "0", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    first = subprocess.Popen([sys.executable, "-m", "desktop"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        # Connect without asking: a probe that listened on the name could, closing, unlink
        # the socket the first one had just made.
        while not _serving(server_name(home)):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first window never started serving"
            time.sleep(0.1)
        second = subprocess.run([sys.executable, "-m", "desktop"], env=env, text=True,
                                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        assert second.returncode == 0, second.stderr
        assert f"Honk is already running for {home}" in second.stderr
        assert first.poll() is None  # the first goes on
    finally:
        first.terminate()
        _, err = first.communicate(timeout=30)
    assert "a second launch asked for the window; showing it" in err
