"""The loopback GitHub's commit statuses and check runs, and the required checks a merge needs.

- ``GET /repos/{owner}/{repo}/commits/{ref}/status`` (the combined status)
- ``GET /repos/{owner}/{repo}/commits/{ref}/check-runs``

Every method expects the caller (``FakeGitHub``) to hold its lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desktop.sim.github_reply import Reply, error, iso
from desktop.sim.github_repo import BareRepo

__all__ = ["Checks"]


class Checks:
    """Statuses and check runs by commit; ``required`` names the checks a merge waits for."""

    def __init__(self, repo: BareRepo, *, full_name: str, required: Sequence[str]) -> None:
        self.repo, self.full_name, self.required = repo, full_name, tuple(required)
        self._statuses: dict[str, dict[str, dict[str, Any]]] = {}  # sha -> context -> status
        self._check_runs: dict[str, dict[str, dict[str, Any]]] = {}  # sha -> name -> run
        self._next_id = 1

    def _take_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def set_status(self, sha: str, context: str, state: str, description: str) -> None:
        ident = self._take_id()
        self._statuses.setdefault(sha, {})[context] = {
            "id": ident, "node_id": f"SC_{ident}", "state": state, "context": context,
            "description": description or None, "target_url": None,
            "created_at": iso(), "updated_at": iso(),
        }

    def set_check_run(self, sha: str, name: str, status: str, conclusion: str | None) -> None:
        ident = self._take_id()
        self._check_runs.setdefault(sha, {})[name] = {
            "id": ident, "node_id": f"CR_{ident}", "name": name, "head_sha": sha,
            "status": status, "conclusion": conclusion, "started_at": iso(),
            "completed_at": iso() if conclusion else None,
            "html_url": None, "details_url": None,
        }

    def blocking(self, sha: str) -> str | None:
        """Why a merge of ``sha`` must wait for its required checks, or None."""
        states = {c: s["state"] for c, s in self._statuses.get(sha, {}).items()}
        for name, run in self._check_runs.get(sha, {}).items():
            states[name] = run["conclusion"] or "pending"
        for name in self.required:
            if name not in states:
                return f'Required status check "{name}" is expected.'
            if states[name] not in ("success", "neutral", "skipped"):
                return f'Required status check "{name}" is {states[name]}.'
        return None

    # -- routes ---------------------------------------------------------------------------

    def combined_status(self, ref: str, *, query: dict[str, str], body: Any) -> Reply:
        sha = self.repo.resolve(ref)
        if sha is None:
            return error(422, f"No commit found for SHA: {ref}")
        statuses = list(self._statuses.get(sha, {}).values())
        states = {s["state"] for s in statuses}
        if states & {"failure", "error"}:
            state = "failure"
        elif not statuses or "pending" in states:
            state = "pending"
        else:
            state = "success"
        return Reply(200, {"state": state, "statuses": statuses, "sha": sha,
                           "total_count": len(statuses),
                           "repository": {"full_name": self.full_name}})

    def check_runs(self, ref: str, *, query: dict[str, str], body: Any) -> Reply:
        sha = self.repo.resolve(ref)
        if sha is None:
            return error(422, f"No commit found for SHA: {ref}")
        runs = list(self._check_runs.get(sha, {}).values())
        return Reply(200, {"total_count": len(runs), "check_runs": runs})
