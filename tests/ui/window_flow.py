"""Drive the real `honk demo` window through a change's resting states on a display, and write
what a person would see: a screenshot per state and a report of the window's geometry and
state (JSON) that tests/ui/test_window_fit.py asserts on.

    python -m tests.ui.window_flow OUT_DIR WIDTHxHEIGHT light|dark

DISPLAY (an Xvfb screen of that size) is set by the caller. The states: running (an edit
streaming), awaiting approval (built, installed, the phone's screen taken), merged (approved
in the panel), failed (a second request whose build breaks).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

OWN_REQUEST = "Make the play button larger on small screens"


def _report(window: Any, state: str) -> dict[str, Any]:
    """What the tests check, read off the widgets (geometry and text, never pixels)."""
    from PySide6.QtWidgets import QLabel

    cid = window.current_id()
    view = window.bridge.views.get(cid or "")
    panel = window.approval
    evidence = panel.evidence
    body = evidence.widget()
    labels = [lb for lb in body.findChildren(QLabel) if lb.isVisible() and lb.wordWrap()]
    cut = [lb.objectName() for lb in labels
           if lb.height() + 1 < lb.heightForWidth(lb.width())]
    device = window.device_panel
    shot = device.shots.get(cid or "")
    return {
        "state": state,
        "view_state": view.state.value if view else None,
        "window": [window.width(), window.height()],
        "diff_width": window.diff.stack.width(),
        "tree_visible": window.diff.tree.isVisible(),
        "files": len(window.diff.diffs.get(cid or "").files) if cid in window.diff.diffs else 0,
        "approval_visible": panel.isVisible(),
        "approval_hscroll": evidence.horizontalScrollBar().isVisible(),
        "approval_fits": body.width() <= evidence.viewport().width() and not cut,
        "approval_cut": cut,
        "approval_status": panel.status.text(),
        "follow_up": window.follow_up.status,
        "composer_folded": window.composer.folded,
        "composer_height": window.composer.height(),
        "transcript_at_end": window.transcript.at_end(),
        "transcript_scroll": [window.transcript.text.verticalScrollBar().value(),
                              window.transcript.text.verticalScrollBar().maximum()],
        "device_visible": device.isVisible(),
        "device_png": bool(shot and shot.png),
        "device_image": [device.image.shown_rect().width(), device.image.shown_rect().height()],
        "scheme": "dark" if window.palette().color(window.palette().ColorRole.Base).lightness()
        < 128 else "light",
    }


async def flow(out: Path, width: int, height: int) -> list[dict[str, Any]]:
    """Run the four states; save ``<state>.png`` (and the phone panel) into ``out``."""
    from PySide6.QtCore import QSettings

    from desktop.app.services import build_services
    from desktop.demo.environment import DemoEnvironment
    from desktop.ui.launch import open_window

    demo = DemoEnvironment(pace_s=0.01)
    await asyncio.to_thread(demo.__enter__)
    services = build_services(demo.env)
    settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
    window = open_window(services, settings, demo)
    window.ask = lambda _title, _text: True
    window.setGeometry(0, 0, width, height)
    window.show()
    reports: list[dict[str, Any]] = []

    async def until(cond: Any, what: str, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while not cond():
            if loop.time() > end:
                raise SystemExit(f"timed out waiting for {what}")
            await asyncio.sleep(0.01)

    async def shot(state: str) -> None:
        await asyncio.sleep(0.3)  # painted through the running loop, never processEvents()
        window.grab().save(str(out / f"{state}.png"))
        reports.append(_report(window, state))

    def state() -> str:
        view = window.bridge.views.get(window.current_id() or "")
        return view.state.value if view else ""

    try:
        await asyncio.sleep(0.5)
        window.composer.use_suggestion(0)
        window.send_request()
        await until(lambda: window.current_id() is not None, "the change")
        await until(lambda: "streaming" in window.diff.unified.toPlainText(), "an edit streaming")
        await shot("running")
        await until(lambda: state() == "awaiting_approval" and window.approval.review is not None
                    and window.approval.approve_button.isEnabled(), "awaiting approval")
        await until(lambda: window.device_panel.shots.get(window.current_id() or ""),
                    "the phone's screen")
        await shot("awaiting_approval")
        window.device_panel.grab().save(str(out / "device_panel.png"))
        window.side.grab().save(str(out / "evidence_and_phone.png"))
        window.approval.approve_button.click()
        await until(lambda: state() == "merged" and "Merged into" in window.approval.status.text(),
                    "merged")
        await shot("merged")
        # The phone refuses the next install, as a full one does: the change fails there.
        demo.device.faults.install_failure = "INSTALL_FAILED_INSUFFICIENT_STORAGE"
        window.new_request()
        window.composer.request.setPlainText(OWN_REQUEST)
        first = window.current_id()
        window.send_request()
        await until(lambda: window.current_id() not in (None, first), "the second change")
        await until(lambda: state() == "failed", "failed")
        await shot("failed")
    finally:
        window.quitting = True
        await window.bridge.shutdown()
        window.close()
        services.close()
        await asyncio.to_thread(demo.close)
    return reports


def main() -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    from desktop.ui.gc_guard import MainThreadCollector
    from desktop.ui.icons import icon, stylesheet
    from desktop.ui.pyside_fix import protect_none
    from desktop.ui.theme import SchemeFollower

    protect_none()
    out, size, scheme = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    width, height = (int(n) for n in size.split("x"))
    out.mkdir(parents=True, exist_ok=True)
    os.environ["HONK_COLOR_SCHEME"] = scheme
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(icon("honk"))
    app.setStyleSheet(stylesheet())
    SchemeFollower(app)
    collector = MainThreadCollector(app)  # as the app does: GC only on the GUI thread
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        reports = runner.run(flow(out, width, height))
    collector.stop()
    (out / "report.json").write_text(json.dumps(reports, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
