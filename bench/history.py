"""A HONK_HOME with past changes in its journal, for the start-up and memory benchmarks."""

from __future__ import annotations

from pathlib import Path

__all__ = ["write_history"]


def write_history(home: Path, changes: int, diff_lines: int = 60) -> list[str]:
    """Journal ``changes`` finished changes (request, agent text, an edit, checks, commit,
    merge) under ``home``; returns their ids, oldest first."""
    from desktop.adapters.store.journal import ChangeJournal
    from desktop.core.events import (
        AgentText,
        ChangeCreated,
        ChangeFinished,
        Committed,
        EditApplied,
        Event,
        StageFinished,
        StageStarted,
        VerifierResult,
    )
    from desktop.core.stages import ChangeState, Stage

    home.mkdir(parents=True, exist_ok=True)
    journal = ChangeJournal(home / "journal.sqlite3")
    ids = []
    try:
        for n in range(changes):
            cid = f"hist{n:04d}"
            ids.append(cid)
            path = f"app/src/main/java/com/example/player/Screen{n}.kt"
            body = "".join(f"+    val row{i} = label({i}) // change {n}\n"
                           for i in range(diff_lines))
            diff = (f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
                    f"@@ -1,0 +1,{diff_lines} @@\n{body}")
            events: list[Event] = [
                ChangeCreated(change=cid, request=f"Past request number {n}: tidy the player",
                              repo="/tmp/bench-repo", branch=f"honk/{cid}-tidy",
                              worktree=f"/tmp/bench-wt/{cid}", base="main",
                              base_commit="0" * 40, model="claude-sonnet-4-6"),
                StageStarted(change=cid, stage=Stage.AGENT),
                AgentText(change=cid, text="I'll tidy the player screen. " * 8),
                EditApplied(change=cid, tool_use_id=f"toolu_{n}", command="create", path=path,
                            diff=diff, added=diff_lines, removed=0),
                StageFinished(change=cid, stage=Stage.AGENT, seconds=3.0),
                StageStarted(change=cid, stage=Stage.VERIFY),
                VerifierResult(change=cid, name="unit tests", passed=True, seconds=0.4),
                StageFinished(change=cid, stage=Stage.VERIFY, seconds=0.4),
                Committed(change=cid, commit=f"{n:040x}", branch=f"honk/{cid}-tidy",
                          files=(path,)),
                ChangeFinished(change=cid, state=ChangeState.MERGED.value),
            ]
            for event in events:
                journal.append(event)
    finally:
        journal.close()
    return ids
