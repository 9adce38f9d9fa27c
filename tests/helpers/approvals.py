"""What approval tests share: a change waiting for approval (made through the CLI against the
scripted API), and readers for the audit log and the journal in ``HONK_HOME``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.adapters.store.audit_log import AuditLog
from desktop.adapters.store.journal import ChangeJournal
from desktop.core.events import Event, event_to_dict
from tests.helpers.gitrepo import RepoWithRemote
from tests.helpers.honk_toml import OK, configure, honk_toml
from tests.helpers.scripted_api import cli

__all__ = ["Capsys", "audit_actions", "journal", "journal_append", "start_change"]

Capsys = pytest.CaptureFixture[str]


def start_change(repo: RepoWithRemote, capsys: Capsys, require: tuple[str, ...] = ("verified",),
                 merge: str = "") -> tuple[str, str]:
    """Run a change to awaiting approval; (change id, commit). ``merge``: more [merge] keys."""
    configure(repo, honk_toml(OK, require=require, merge=merge), push=True)
    code, lines, out = cli(capsys, "run", "Swedish greeting", "--repo", str(repo.path), "--json")
    assert code == 0 and lines[-1]["state"] == "awaiting_approval", out
    return str(lines[-1]["change"]), str(lines[-1]["commit"])


def audit_actions(change: str) -> list[tuple[str, str]]:
    """(action, commit) of the change's audit records; the chain must verify."""
    log = AuditLog(Path(os.environ["HONK_HOME"]) / "audit.sqlite3")
    assert log.verify().ok, log.verify()
    return [(r.record.action, r.record.commit_sha) for r in log.find(change)]


def journal(change: str) -> list[dict[str, object]]:
    store = ChangeJournal(Path(os.environ["HONK_HOME"]) / "journal.sqlite3")
    try:
        return [event_to_dict(e) for e in store.events(change)]
    finally:
        store.close()


def journal_append(*events: Event) -> None:
    store = ChangeJournal(Path(os.environ["HONK_HOME"]) / "journal.sqlite3")
    try:
        for event in events:
            store.append(event)
    finally:
        store.close()
