"""Driving the real `honk` CLI in-process for the security tests, capturing everything it
prints, against the scripted Messages API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from desktop.cli.main import main
from tests.helpers.gitrepo import RepoWithRemote, run_git


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def events(self) -> list[dict[str, Any]]:
        """The JSON lines of stdout (event streams print one object per line)."""
        return [json.loads(line) for line in self.out.splitlines() if line.startswith("{")]


def honk(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    code = main(list(args))
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def remote_refs(repo: RepoWithRemote) -> str:
    """Every ref of the bare 'production' remote with its commit: compare to prove no push."""
    return run_git(repo.remote, "for-each-ref", "--format=%(refname) %(objectname)")


def tool_results(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool_result blocks of a conversation, in order."""
    return [b for m in messages if isinstance(m["content"], list) for b in m["content"]
            if b.get("type") == "tool_result"]
