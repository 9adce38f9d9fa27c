"""Run the real app on a display and save PNGs of its main states (used by the xvfb test).

    python -m tests.ui.screenshot_app OUT_DIR      (DISPLAY and HONK_HOME set by the caller)
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from desktop.sim.messages_script import edit_turn, text_turn, tool_turn

KEY = "sk-ant-screenshot-0123456789"
SCREEN = """package com.example.player

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp

@Composable
fun PlayerHeader(title: String, onPlay: () -> Unit) {
    Column(modifier = Modifier.padding(8.dp)) {
        Text(text = title, maxLines = 1)
        Button(onClick = onPlay, modifier = Modifier.padding(top = 0.dp)) {
            Text("Play")
        }
    }
}
"""
OLD = "        Text(text = title, maxLines = 1)\n        Button(onClick = onPlay, modifier = Modifier.padding(top = 0.dp)) {"
NEW = ("        // Small screens: let the title wrap and keep the button clear of it.\n"
       "        Text(text = title, maxLines = 2, overflow = TextOverflow.Ellipsis)\n"
       "        Spacer(modifier = Modifier.height(12.dp))\n"
       "        Button(onClick = onPlay, modifier = Modifier.fillMaxWidth()) {")
CONFIG = '[agent]\nmodel = "claude-sonnet-4-6"\n\n[judge]\nenabled = false\n\n[[verify]]\nname = "kotlin-lint"\ncommand = ["true"]\n'


async def capture(out: Path) -> None:
    import os

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from desktop.app.services import build_services
    from desktop.sim.messages_api import ScriptedMessagesAPI
    from desktop.ui.main_window import MainWindow
    from tests.helpers.gitrepo import make_repo

    repo = make_repo(Path(tempfile.mkdtemp(prefix="honk-shot-")), {
        "README.md": "# Player\n", "honk.toml": CONFIG,
        "app/src/main/java/com/example/player/PlayerHeader.kt": SCREEN})
    path = "app/src/main/java/com/example/player/PlayerHeader.kt"
    api = ScriptedMessagesAPI([
        tool_turn("str_replace_based_edit_tool", {"command": "view", "path": path},
                  "I'll look at the header composable first."),
        edit_turn(path, OLD, NEW, "The title and the button share a row height; I'll let the "
                  "title wrap and add a spacer.", chunk_chars=4, delay_s=0.03),
        tool_turn("run_verifiers", {}),
        text_turn("The title now wraps to two lines and the Play button sits below it."),
    ], expected_api_key=KEY)
    api.start()
    os.environ.update(ANTHROPIC_API_KEY=KEY, ANTHROPIC_BASE_URL=api.base_url)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    services = build_services()
    window = MainWindow(services, QSettings(str(services.home / "ui.ini"),
                                            QSettings.Format.IniFormat), use_dbus=False)
    window.ask = lambda _t, _x: True
    window.start()
    window.resize(1280, 800)
    window.show()
    await asyncio.sleep(0.5)

    async def until(cond: object, timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():  # type: ignore[operator]
            if loop.time() > end:
                raise SystemExit(f"timed out: {cond}")
            await asyncio.sleep(0.02)

    async def shot(name: str, whole_screen: bool = False) -> None:
        # Let Qt paint through the running loop: a nested processEvents() here would make
        # qasync wake another task inside this one.
        await asyncio.sleep(0.05)
        image = app.primaryScreen().grabWindow(0) if whole_screen else window.grab()
        image.save(str(out / f"{name}.png"))

    window.composer.repo.setCurrentText(str(repo.path))
    window.composer.request.setPlainText("The play button overlaps the title on small screens")
    await shot("01-compose")
    window.send_request()
    await until(lambda: "streaming" in window.diff.unified.toPlainText()
                and window.diff.unified.toPlainText().count("\n") > 4)
    await asyncio.sleep(0.4)
    await shot("02-streaming-edit")
    cid = window.current_id()
    await until(lambda: cid and window.bridge.views[cid].state.value == "awaiting_approval")
    await asyncio.sleep(0.3)
    await shot("03-applied-awaiting-approval")
    window.diff.set_mode("split")
    await asyncio.sleep(0.2)
    await shot("04-side-by-side")
    window.diff.set_mode("unified")
    window.open_palette()
    await asyncio.sleep(0.3)
    await shot("05-command-palette", whole_screen=True)
    window.active_dialog.close()
    window.cheat_sheet()
    await asyncio.sleep(0.3)
    await shot("06-cheat-sheet", whole_screen=True)
    window.active_dialog.close()
    await until(lambda: window.approval.review is not None and window.approval.isVisible())
    window.work.setSizes([560, 520])  # give the evidence room beside the diff
    window.side.setSizes([520, 280])
    await asyncio.sleep(0.3)
    await shot("07-approval-panel")
    window.quitting = True
    await window.bridge.shutdown()
    window.close()
    services.close()
    api.stop()


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.gc_guard import MainThreadCollector
    from desktop.ui.icons import icon, stylesheet
    from desktop.ui.pyside_fix import protect_none

    protect_none()
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(icon("honk"))
    app.setStyleSheet(stylesheet())
    collector = MainThreadCollector(app)  # as the app does: GC only on the GUI thread
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(capture(out))
    collector.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
