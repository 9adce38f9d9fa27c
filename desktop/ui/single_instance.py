"""One Honk per home, and a second launch brings the first one's window forward.

Honk keeps running in the tray after its window closes, so launching it again is the usual
way back to the window. The running window serves a local socket (a Unix socket, or a named
pipe on Windows, via QLocalServer); a second `honk` for the same HONK_HOME asks it to show
its window and leaves, instead of a "Honk is already open" box.

The wire is one line each way: ``show`` in, ``shown`` back.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

__all__ = ["ActivationServer", "activate_running", "server_name"]

ASK = b"show\n"
DONE = b"shown\n"
ANSWER_TIMEOUT_MS = 3_000  # a window that does not answer in this is hung: say so instead
RETRY_S = 0.05  # between tries to reach a Honk that is still starting

log = logging.getLogger("honk.gui")


def server_name(home: Path) -> str:
    """The socket's name for ``home``: short (Unix socket paths are limited to ~100 bytes)
    and the same for every spelling of the same directory."""
    digest = hashlib.sha256(str(home.resolve()).encode("utf-8")).hexdigest()[:16]
    return f"honk-{digest}"


class ActivationServer(QObject):
    """Listens for second launches and calls ``show`` for each (on the GUI thread)."""

    def __init__(self, home: Path, show: Callable[[], None],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._show = show
        self._server = QLocalServer(self)
        # Only this user may connect (the socket file's mode; a named pipe's ACL).
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        self.name = server_name(home)

    def listen(self) -> bool:
        """Start listening; False (logged) when it cannot. The app lock is held by us, so a
        socket left by a crashed Honk is stale and is removed first."""
        QLocalServer.removeServer(self.name)
        if self._server.listen(self.name):
            return True
        log.warning("a second launch cannot reach this window: %s", self._server.errorString())
        return False

    def close(self) -> None:
        self._server.close()

    def _accept(self) -> None:
        while (conn := self._server.nextPendingConnection()) is not None:
            conn.readyRead.connect(lambda c=conn: self._answer(c))
            conn.disconnected.connect(conn.deleteLater)
            self._answer(conn)  # the line may have come with the connection

    def _answer(self, conn: QLocalSocket) -> None:
        if not conn.canReadLine():
            return
        line = bytes(conn.readLine().data())
        if line == ASK:
            log.info("a second launch asked for the window; showing it")
            self._show()
            conn.write(DONE)
            conn.flush()
        conn.disconnectFromServer()


def activate_running(home: Path, timeout_ms: int = ANSWER_TIMEOUT_MS) -> bool:
    """Ask the Honk that holds ``home``'s app lock to show its window; True once it says it
    has. False when nothing answers in ``timeout_ms`` (an older or hung Honk). A Honk still
    starting serves once its window is complete, so a missing server is asked again until
    then."""
    deadline = time.monotonic() + timeout_ms / 1000
    sock = QLocalSocket()
    while True:
        sock.connectToServer(server_name(home))
        if sock.waitForConnected(timeout_ms):
            break
        if time.monotonic() >= deadline:
            return False
        time.sleep(RETRY_S)
    sock.write(ASK)
    if not sock.waitForBytesWritten(timeout_ms):
        return False
    answer = b""
    while not answer.endswith(b"\n"):
        if not sock.waitForReadyRead(timeout_ms):
            return False
        answer += bytes(sock.readAll().data())
    sock.disconnectFromServer()
    return answer == DONE
