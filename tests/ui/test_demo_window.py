"""`honk demo` opens the real window on the demo's stand-ins: DEMO in the title and on a
badge, the demo repo and virtual phone prefilled, the suggested requests offered."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.app.services import build_services
from desktop.demo.environment import DemoEnvironment
from desktop.ui.launch import open_window
from tests.helpers.gitrepo import run_git
from tests.ui.conftest import wait_until


@pytest.fixture(autouse=True)
def _collect_on_the_loop_thread() -> Iterator[None]:
    yield
    gc.collect()  # Qt objects must die on this thread, not in a worker's collection


@pytest.mark.parametrize("remote_build", [False, True], ids=["local-build", "remote-build"])
async def test_demo_window_is_labelled_and_prefilled(tmp_path: Path, qapp: QApplication,
                                                     remote_build: bool) -> None:
    qapp.setQuitOnLastWindowClosed(False)
    demo = DemoEnvironment(pace_s=0.0, remote_build=remote_build)
    await asyncio.to_thread(demo.__enter__)
    root = demo.root
    try:
        services = build_services(demo.env)
        assert services.home == demo.root / "honk-home"  # never the person's HONK_HOME
        settings = QSettings(str(services.home / "ui.ini"), QSettings.Format.IniFormat)
        window = open_window(services, settings, demo)
        window.ask = lambda _title, _text: True
        window.show()
        try:
            assert "DEMO" in window.windowTitle()
            assert window.demo_badge.text() == "DEMO" and window.demo_badge.isVisible()
            c = window.composer
            assert c.repo.currentText() == str(demo.repo)
            assert c.options().device == demo.serial
            offered = [c.suggestions.itemText(i) for i in range(1, c.suggestions.count())]
            assert offered == [r.text for r in demo.suggested_requests]
            assert c.suggestions.isVisible()
            c.use_suggestion(1)
            assert c.request.toPlainText() == demo.suggested_requests[1].text
            await wait_until(c.request.hasFocus, what="the request box focused")

            # The suggestion runs end to end in the window: installed on the virtual phone,
            # every gate met, approved from the panel, merged into the bare remote.
            c.use_suggestion(0)
            window.send_request()
            await wait_until(lambda: window.current_id() is not None, what="the change")
            cid = window.current_id()
            assert cid
            p = window.approval
            await wait_until(lambda: p.review is not None and p.approve_button.isEnabled(), 30,
                             "the change approvable with every gate met")
            assert "Honk Demo Phone" in p.fields["installed"].text()
            if remote_build:  # `honk demo --remote-build`: built by the Actions run, not here
                assert demo.actions is not None
                evidence = p.review.evidence
                built = demo.actions.built_for(evidence.commit or "")
                assert built is not None and built.ok and evidence.on_device
                assert evidence.installed is not None
                assert built.sha256 == evidence.installed.artifact_sha256
            assert p.fields["judge"].text().startswith("judge: approve")
            commit = p.review.evidence.commit
            p.approve_button.click()
            await wait_until(lambda: commit is not None and "Merged into" in p.status.text()
                             and commit[:12] in p.status.text(), 20,
                             "the merge shown")
            assert services.audit.verify().ok
            assert run_git(demo.remote, "rev-parse", "main") == commit
        finally:
            assert window.request_quit()
            await wait_until(lambda: not window.isVisible(), what="the window closed")
            services.close()
            window.deleteLater()
            await asyncio.sleep(0)
    finally:
        await asyncio.to_thread(demo.close)
    assert not root.exists()  # the throw-away repo, home and adb state are gone
