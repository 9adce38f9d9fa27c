"""`honk demo`'s "Phone: Slack" window: a request sent from the phone (Enter sends
``/honk``), the thread filling up to the approval reply with the build in it, Approve
pressed, and the Merged reply, all against the demo's loopback Slack."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from desktop.app.services import build_services
from desktop.demo.environment import DemoEnvironment
from desktop.demo.phone import PhoneLeg
from desktop.ui.phone_window import PhoneWindow
from tests.ui.conftest import wait_until


@pytest.fixture(autouse=True)
def _collect_on_the_loop_thread() -> Iterator[None]:
    yield
    gc.collect()  # Qt objects must die on this thread, not in a worker's collection


async def test_phone_window_requests_follows_and_approves(qapp: QApplication,
                                                          qtbot: Any) -> None:
    qapp.setQuitOnLastWindowClosed(False)
    demo = DemoEnvironment(pace_s=0.0)
    await asyncio.to_thread(demo.__enter__)
    try:
        assert demo.slack is not None
        services = build_services(demo.env)
        window = PhoneWindow(PhoneLeg(services, demo.slack, demo.repo, demo.serial))
        window.show()
        window.start()
        try:
            assert window.windowTitle() == "Phone: Slack"
            assert not window.approve_button.isVisible()
            await wait_until(lambda: "connected" in window.connection.text(), 20,
                             "Slack connected")
            window.input.setFocus()
            qtbot.keyClicks(window.input, demo.suggested_requests[0].text)
            qtbot.keyClick(window.input, Qt.Key.Key_Return)
            assert window.input.text() == ""
            text = window.conversation.toPlainText
            await wait_until(lambda: "ready for approval" in text().lower()
                             and window.approve_button.isVisible(), 60,
                             "the approval reply")
            await wait_until(lambda: "📎 app-debug.apk" in text(), 20, "the build in the thread")
            window.approve_button.click()
            assert not window.approve_button.isVisible()  # one tap
            await wait_until(lambda: "Merged" in text(), 60, "the Merged reply")
            assert not window.approve_button.isVisible()
            assert services.audit.verify().ok
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the phone showed:\n{window.conversation.toPlainText()}\n"
                                 f"{window.connection.text()} {window.leg.problems}") from exc
        finally:
            await window.stop()
            window.close()
            await services.context.aclose()
            services.close()
            window.deleteLater()
            await asyncio.sleep(0)
    finally:
        await asyncio.to_thread(demo.close)
