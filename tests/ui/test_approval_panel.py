"""The approval panel in the real window: evidence, gates that disable Approve, an override
that needs a typed reason and is audited, install onto the virtual phone through the real
adb (Ctrl+I), and approve (Ctrl+Shift+A) merging into the bare remote."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from desktop.app.reinstall import install_change
from desktop.app.services import Services, build_services
from desktop.core.options import RunOptions
from desktop.core.stages import ChangeState
from desktop.sim.adb_device import VirtualAdbDevice
from desktop.sim.messages_api import ScriptedMessagesAPI
from desktop.ui.approval_panel import ReasonDialog
from tests.helpers.adb import AdbServer
from tests.helpers.gitrepo import RepoWithRemote, run_git
from tests.ui.conftest import Harness, wait_until

PACKAGE = "com.example.honk"
BUILD = '''import pathlib, zipfile
out = pathlib.Path("build/app.apk")
out.parent.mkdir(exist_ok=True)
manifest = ('<manifest xmlns:android="http://schemas.android.com/apk/res/android" '
            'package="com.example.honk"><application><activity '
            'android:name=".MainActivity"/></application></manifest>')
with zipfile.ZipFile(out, "w") as apk:
    apk.writestr("AndroidManifest.xml", manifest)
    apk.writestr("classes.dex", pathlib.Path("app/greeting.py").read_text() * 50)
'''


def honk_toml(require: str, *, build: bool, device: bool | None = None) -> str:
    text = f"""
[judge]
enabled = false

[[verify]]
name = "greeting-is-swedish"
command = ["python3", "-c", "import sys; sys.exit(0 if 'Hej' in open('app/greeting.py').read() else 1)"]

[merge]
target = "main"
remote = "origin"
require = {require}
"""
    if build:
        text += """
[build]
command = ["python3", "build.py"]
artifact = "build/*.apk"
"""
    if build if device is None else device:
        text += f"""
[device]
kind = "android"
package = "{PACKAGE}"
activity = ".MainActivity"
"""
    return text


def prepare(repo: RepoWithRemote, require: str, *, build: bool) -> None:
    repo.git("config", "user.name", "Ada Approver")
    repo.git("config", "user.email", "ada@example.invalid")
    repo.write("honk.toml", honk_toml(require, build=build))
    repo.write("build.py", BUILD)
    repo.write(".gitignore", "build/\n")
    repo.commit_all("honk.toml")
    repo.git("push", "-q", "origin", "main")


async def run_change(services: Services, repo: RepoWithRemote) -> str:
    """One scripted change, run to its resting state (no device chosen: no install yet)."""
    ctx, workspace, worktree = await asyncio.to_thread(
        services.changes.create, "Say hello in Swedish", repo.path, RunOptions())
    state = await services.changes.run(ctx, workspace, worktree)
    assert state is ChangeState.AWAITING_APPROVAL
    return ctx.change_id


@pytest.fixture(autouse=True)
def _collect_on_the_loop_thread() -> Iterator[None]:
    # A closed window's wrapper sits in a reference cycle (its ask hook); collected later by
    # a worker thread, Qt would destroy it there and abort. Collect it here instead.
    yield
    gc.collect()


def make_harness(settings: QSettings, env: dict[str, str] | None = None) -> Harness:
    QApplication.instance().setQuitOnLastWindowClosed(False)  # type: ignore[union-attr]
    return Harness(build_services(env), settings)


async def test_unmet_gate_disables_approve_and_an_override_needs_a_typed_reason(
    repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, ui_settings: QSettings,
) -> None:
    prepare(repo, '["verified", "built"]', build=False)
    h = make_harness(ui_settings)
    w = h.window
    try:
        cid = await run_change(h.services, repo)
        before = run_git(repo.remote, "rev-parse", "main")
        await wait_until(lambda: w.changes.select(cid), what="the change listed")
        p = w.approval
        await wait_until(lambda: p.review is not None, what="the evidence loaded")
        assert p.isVisible()
        assert p.fields["request"].text() == "Say hello in Swedish"
        assert "✓ greeting-is-swedish" in p.fields["verifiers"].text()
        commit = h.services.context.view(cid).commit
        assert commit and p.fields["commit"].text() == commit[:12]  # shortened; Copy has it all
        p.copy_commit.click()
        assert QGuiApplication.clipboard().text() == commit
        assert p.fields["target"].text() == "origin/main"
        assert "no build" in p.fields["artifact"].text()
        assert "built: no build of this commit exists" in p.gates.text()
        assert not p.approve_button.isEnabled()
        assert "no build of this commit exists" in p.approve_button.toolTip()
        action = w.actions_by_id["approve"]
        assert not action.isEnabled() and "no build" in action.toolTip()
        # Ctrl+Shift+A does nothing while the gate is unmet (the action is disabled).
        w.approve()
        assert not h.asked and "no build" in w.statusBar().currentMessage()

        # Override: OK stays disabled until a reason is typed.
        assert p.override_button.isEnabled()
        p.override_button.click()
        dialog = w.active_dialog
        assert isinstance(dialog, ReasonDialog)
        assert "built" in dialog.findChild(type(p.status)).text()  # names the unmet gate
        assert not dialog.ok.isEnabled()
        dialog.accept()  # Enter with no reason: refused
        assert dialog.isVisible()
        dialog.edit.setPlainText("   ")
        assert not dialog.ok.isEnabled()
        dialog.edit.setPlainText("hotfix, the build server is down")
        assert dialog.ok.isEnabled()
        dialog.ok.click()
        await wait_until(lambda: h.services.context.view(cid).state is ChangeState.MERGED,
                         what="the overridden change merged")
        assert h.asked and cid in h.asked[-1] and "origin/main" in h.asked[-1]
        assert "built" in h.asked[-1]
        record = h.services.audit.records()[0].record
        assert record.action == "override"
        assert record.reason == "hotfix, the build server is down"
        assert run_git(repo.remote, "rev-parse", "main") != before
        await wait_until(lambda: "Merged into origin/main" in p.status.text(),
                         what="the merged commit shown")
        assert run_git(repo.remote, "rev-parse", "main")[:12] in p.status.text()
        assert not action.isEnabled()
    finally:
        await h.close()


async def test_a_moved_branch_voids_the_approval_in_the_panel(
    repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, ui_settings: QSettings,
) -> None:
    prepare(repo, '["verified"]', build=False)
    h = make_harness(ui_settings)
    w = h.window
    try:
        cid = await run_change(h.services, repo)
        worktree = Path(h.services.context.view(cid).worktree)
        (worktree / "sneaky.txt").write_text("not reviewed\n")
        run_git(worktree, "add", "sneaky.txt")
        run_git(worktree, "commit", "-q", "-m", "manual commit after the evidence")
        await wait_until(lambda: w.changes.select(cid), what="the change listed")
        await wait_until(lambda: w.approval.review is not None, what="the evidence loaded")
        assert "Approval void" in w.approval.status.text()
        assert "branch moved" in w.approval.approve_button.toolTip()
        assert not w.actions_by_id["approve"].isEnabled()
        assert not w.approval.override_button.isEnabled()
    finally:
        await h.close()


async def test_install_onto_the_virtual_phone_then_approve_merges_into_the_remote(
    repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, ui_settings: QSettings,
    adb_server: AdbServer, virtual_device: VirtualAdbDevice,
) -> None:
    prepare(repo, '["verified", "built", "installed"]', build=True)
    env = {**os.environ, "ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    h = make_harness(ui_settings, env)
    w = h.window
    try:
        cid = await run_change(h.services, repo)
        await wait_until(lambda: w.changes.select(cid), what="the change listed")
        p = w.approval
        await wait_until(lambda: p.review is not None, what="the evidence loaded")
        assert "sha256" in p.fields["artifact"].text()
        assert "installed: " in p.gates.text() and not p.approve_button.isEnabled()

        percents: list[float] = []
        w.bridge.events.connect(lambda batch: percents.extend(
            e.percent for e in batch if e.type == "stage_progress" and e.percent is not None))
        # No device picked and none chosen for the change: said in the panel, nothing runs.
        w.actions_by_id["install"].trigger()
        await wait_until(lambda: "no device chosen" in p.status.text(), what="no device")
        w.composer.set_device(virtual_device.address, "virtual phone")
        await h.active()
        w.actions_by_id["install"].trigger()  # Ctrl+I
        await wait_until(lambda: PACKAGE in virtual_device.packages, 20, "the app on the phone")
        await wait_until(lambda: p.review is not None and p.review.evidence.installed is not None
                         and p.approve_button.isEnabled(), 10, "the install in the evidence")
        artifact = p.review.evidence.artifact
        assert artifact is not None
        assert virtual_device.packages[PACKAGE].sha256 == artifact.sha256
        assert virtual_device.address in p.fields["installed"].text()
        assert percents and max(percents) == 100.0
        assert h.services.context.view(cid).state is ChangeState.AWAITING_APPROVAL
        assert not p.gates.isVisible()

        commit = p.review.evidence.commit
        w.actions_by_id["approve"].trigger()  # Ctrl+Shift+A; the confirmation is accepted
        await wait_until(lambda: h.services.context.view(cid).state is ChangeState.MERGED,
                         what="the change merged")
        assert commit and commit in h.asked[-1] and "origin/main" in h.asked[-1]
        assert run_git(repo.remote, "rev-parse", "main") == commit  # a fast-forward
        await wait_until(lambda: "Merged into" in p.status.text() and commit[:12] in p.status.text(),
                         what="the merged commit shown")
        records = [r.record for r in h.services.audit.records()]
        assert [r.action for r in records] == ["approved", "merged"]
        installed = p.review.evidence.installed
        assert installed is not None and records[0].device == installed.device
    finally:
        await h.close()


async def test_install_says_clearly_when_there_is_no_build_or_no_device(
    repo: RepoWithRemote, swedish_api: ScriptedMessagesAPI, ui_settings: QSettings,
) -> None:
    from desktop.core.errors import UsageError

    prepare(repo, '["verified"]', build=False)
    services = build_services()
    try:
        cid = await run_change(services, repo)
        with pytest.raises(UsageError, match=r"honk\.toml: no \[device\] section"):
            await install_change(services.context, cid, "127.0.0.1:5555")
        # With a device configured but no build of this commit: the build is named.
        repo.write("honk.toml", honk_toml('["verified"]', build=False, device=True))
        with pytest.raises(UsageError, match="no build of its latest commit"):
            await install_change(services.context, cid, "127.0.0.1:5555")
        assert services.context.view(cid).state is ChangeState.AWAITING_APPROVAL
    finally:
        await services.context.aclose()
        services.close()
