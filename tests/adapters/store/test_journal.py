from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.adapters.store.journal import ChangeJournal, JournalError
from desktop.core.events import (
    ChangeCreated,
    ChangeFinished,
    EditPreview,
    StageStarted,
    Usage,
    VerifierResult,
)
from desktop.core.stages import ChangeState, Stage


def created(change: str, at: float) -> ChangeCreated:
    return ChangeCreated(change=change, request=f"request {change}", repo="/r", branch=f"honk/{change}",
                         worktree=f"/w/{change}", base="main", base_commit="a" * 40, model="m", at=at)


def test_append_then_read_back_and_summary_equals_replay(tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "j.sqlite3")
    journal.append(created("c1", 1.0))
    journal.append(StageStarted(change="c1", stage=Stage.AGENT))
    journal.append(Usage(change="c1", model="m", input_tokens=5, output_tokens=7, cost_usd=0.01,
                         total_cost_usd=0.01))
    journal.append(VerifierResult(change="c1", name="unit", passed=False, seconds=0.5, output="E"))
    journal.append(ChangeFinished(change="c1", state="failed", reason="unit failed"))
    journal.append(created("c2", 2.0))
    assert [v.id for v in journal.changes()] == ["c2", "c1"]  # newest first
    view = journal.view("c1")
    assert view == journal.replay("c1")
    assert view is not None and view.state is ChangeState.FAILED and view.verifiers[0].output == "E"
    assert journal.find("c") == ["c1", "c2"] and journal.view("nope") is None
    journal.close()
    # Durable: a new connection sees it all, and the database is in WAL mode.
    again = ChangeJournal(tmp_path / "j.sqlite3")
    assert len(again.events("c1")) == 5
    mode = sqlite3.connect(tmp_path / "j.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    again.close()


def test_stream_deltas_are_not_journalled(tmp_path: Path) -> None:
    journal = ChangeJournal(tmp_path / "j.sqlite3")
    with pytest.raises(ValueError, match="ephemeral"):
        journal.append(EditPreview(change="c", tool_use_id="t", command="create", path="a",
                                   field="file_text", delta="x"))
    journal.close()


def test_corrupt_journal_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(JournalError, match="unreadable") as info:
        ChangeJournal(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == garbage
