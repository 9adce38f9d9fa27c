"""`honk history` lists the newest changes first; -n limits, --all shows every one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.adapters.store.journal import ChangeJournal
from desktop.cli.main import main
from desktop.core.events import ChangeCreated, ChangeFinished


def journal_changes(home: Path, count: int) -> None:
    journal = ChangeJournal(home / "journal.sqlite3")
    for n in range(count):
        cid = f"h{n:03d}"
        journal.append(ChangeCreated(change=cid, request=f"request {n}", repo="/r",
                                     branch=f"honk/{cid}", worktree=f"/w/{cid}", base="main",
                                     base_commit="a" * 40, model="m", at=1000.0 + n))
        journal.append(ChangeFinished(change=cid, state="merged", at=1000.5 + n))
    journal.close()


def history(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    assert main(["history", "--json", *args]) == 0
    return [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]


def test_newest_first_limited_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    journal_changes(tmp_path / "honk-home", 60)
    assert history(capsys)[:3] == ["h059", "h058", "h057"]
    assert len(history(capsys)) == 50
    assert history(capsys, "-n", "2") == ["h059", "h058"]
    assert len(history(capsys, "--all")) == 60


def test_bad_limit_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["history", "-n", "0"])
    assert info.value.code == 2
    assert "expected a positive integer" in capsys.readouterr().err
