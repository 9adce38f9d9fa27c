"""honk.toml text for tests, built from parts instead of pasted into every file.

``honk_toml()`` alone is the smallest useful config (judge off); each keyword adds a table.
``configure`` writes it into a test repo and commits it (and pushes, for approval tests).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from tests.helpers.gitrepo import RepoWithRemote

__all__ = ["JUDGE_OFF", "OK", "SWEDISH", "Verifier", "configure", "honk_toml"]


@dataclass(frozen=True)
class Verifier:
    """One ``[[verify]]`` entry."""

    name: str
    command: Sequence[str]
    timeout: int | None = None

    def toml(self) -> str:
        # JSON strings are valid TOML basic strings for everything a test command holds.
        lines = ["[[verify]]", f"name = {json.dumps(self.name)}",
                 f"command = [{', '.join(json.dumps(part) for part in self.command)}]"]
        if self.timeout is not None:
            lines.append(f"timeout = {self.timeout}")
        return "\n".join(lines) + "\n"


OK = Verifier("ok", ["python3", "-c", "pass"])
# Passes once app/greeting.py says Hej (the scripted agent's usual edit).
SWEDISH = Verifier("greeting-is-swedish", [
    "python3", "-c",
    "import sys; sys.exit(0 if 'Hej' in open('app/greeting.py').read() else 1)"])


def honk_toml(*verifiers: Verifier, judge: bool = False, require: Sequence[str] | None = None,
              target: str = "main", remote: str = "origin", merge: str = "",
              extra: str = "") -> str:
    """A honk.toml: the verifiers, the judge on or off, a ``[merge]`` table when ``require``
    is given (with the ``merge`` lines added to it), then ``extra`` (more tables, verbatim)."""
    parts = [v.toml() for v in verifiers]
    parts.append(f"[judge]\nenabled = {'true' if judge else 'false'}\n")
    if require is not None:
        parts.append(f'[merge]\ntarget = "{target}"\nremote = "{remote}"\n'
                     f"require = [{', '.join(json.dumps(g) for g in require)}]\n"
                     + (merge.strip("\n") + "\n" if merge else ""))
    if extra:
        parts.append(extra.strip("\n") + "\n")
    return "\n".join(parts)


JUDGE_OFF = honk_toml()


def configure(repo: RepoWithRemote, toml: str, *, push: bool = False) -> RepoWithRemote:
    """Commit ``toml`` as the repo's honk.toml (and push main to origin if ``push``)."""
    repo.write("honk.toml", toml)
    repo.commit_all("honk.toml")
    if push:
        repo.git("push", "-q", "origin", "main")
    return repo
