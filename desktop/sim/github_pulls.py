"""The loopback GitHub's pull requests: in memory, with their branches in the real bare repo.

A PR's head is whatever its branch points to right now (push to it and a guarded merge gets
409), and merging writes a real merge commit onto the base branch.

- ``GET/POST /repos/{owner}/{repo}/pulls`` (list with ``state``/``head``/``base``, create)
- ``GET /repos/{owner}/{repo}/pulls/{n}``
- ``PUT /repos/{owner}/{repo}/pulls/{n}/merge`` (``sha`` guard: 409; not mergeable: 405)

Every method expects the caller (``FakeGitHub``) to hold its lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desktop.adapters.git.cli import GitError
from desktop.sim.github_checks import Checks
from desktop.sim.github_reply import Reply, error, iso
from desktop.sim.github_repo import BareRepo

__all__ = ["Pull", "Pulls"]

_NOT_MERGEABLE = "Pull Request is not mergeable"
_HEAD_CHANGED = "Head branch was modified. Review and try the merge again."
_NOT_LISTED = ("merged", "mergeable", "mergeable_state", "merged_by")


@dataclass
class Pull:
    number: int
    title: str
    body: str | None
    head: str
    base: str
    created_at: str
    state: str = "open"
    merged: bool = False
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    merged_head_sha: str | None = None
    mergeable_override: bool | None = None


def _invalid(**error_fields: Any) -> Reply:
    return error(422, "Validation Failed", errors=[{"resource": "PullRequest", **error_fields}])


class Pulls:
    """The pull requests of ``owner/repo``; ``api_url()`` is where the API answers now and
    ``merged(number)`` runs once a merge is done, before GitHub answers."""

    def __init__(self, repo: BareRepo, checks: Checks, *, owner: str, name: str,
                 api_url: Callable[[], str], merged: Callable[[int], None]) -> None:
        self.repo, self.checks, self.owner, self.name = repo, checks, owner, name
        self._api_url, self._merged = api_url, merged
        self._pulls: dict[int, Pull] = {}

    def get(self, number: int) -> Pull:
        return self._pulls[number]

    def json(self, pr: Pull) -> dict[str, Any]:
        """The PR as the API shows it."""
        head_sha = pr.merged_head_sha or self.repo.branch(pr.head) or ""
        base_sha = self.repo.branch(pr.base) or ""
        mergeable: bool | None
        if pr.merged or pr.state != "open":
            mergeable, state = False, "unknown"
        elif pr.mergeable_override is not None:
            mergeable = pr.mergeable_override
            state = "clean" if mergeable else "blocked"
        else:
            mergeable = self.repo.merge_tree(base_sha, head_sha) is not None
            state = "clean" if mergeable else "dirty"
        api = f"{self._api_url()}/repos/{self.owner}/{self.name}"
        repo_json = {"name": self.name, "full_name": f"{self.owner}/{self.name}",
                     "owner": {"login": self.owner}}
        return {
            "url": f"{api}/pulls/{pr.number}", "id": 1000 + pr.number,
            "node_id": f"PR_{pr.number}", "number": pr.number,
            "html_url": f"https://github.invalid/{self.owner}/{self.name}/pull/{pr.number}",
            "state": pr.state, "locked": False, "title": pr.title, "body": pr.body,
            "user": {"login": "honk"}, "draft": False,
            "created_at": pr.created_at, "updated_at": pr.merged_at or pr.created_at,
            "closed_at": pr.merged_at, "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "head": {"label": f"{self.owner}:{pr.head}", "ref": pr.head, "sha": head_sha,
                     "repo": repo_json},
            "base": {"label": f"{self.owner}:{pr.base}", "ref": pr.base, "sha": base_sha,
                     "repo": repo_json},
            "merged": pr.merged, "mergeable": mergeable, "mergeable_state": state,
            "merged_by": {"login": "honk"} if pr.merged else None,
        }

    # -- routes ---------------------------------------------------------------------------

    def listing(self, *, query: dict[str, str], body: Any) -> Reply:
        state = query.get("state", "open")
        head = query.get("head")
        found = [
            pr for pr in self._pulls.values()
            if state in ("all", pr.state)
            and (head is None or head in (f"{self.owner}:{pr.head}", pr.head))
            and query.get("base", pr.base) == pr.base
        ]
        # GitHub lists "pull request simple" objects: merged_at, but no merged or mergeable.
        simple = [{k: v for k, v in self.json(pr).items() if k not in _NOT_LISTED}
                  for pr in found]
        return Reply(200, simple)

    def create(self, *, query: dict[str, str], body: Any) -> Reply:
        if not isinstance(body, dict):
            return error(400, "Problems parsing JSON")
        missing = [k for k in ("title", "head", "base") if not isinstance(body.get(k), str)]
        if missing:
            return error(422, "Validation Failed", errors=[
                {"resource": "PullRequest", "field": k, "code": "missing_field"}
                for k in missing])
        head = body["head"].split(":", 1)[-1]
        base = body["base"]
        for name, branch in (("head", head), ("base", base)):
            if self.repo.branch(branch) is None:
                return _invalid(field=name, code="invalid")
        for pr in self._pulls.values():
            if pr.state == "open" and (pr.head, pr.base) == (head, base):
                return _invalid(code="custom",
                                message=f"A pull request already exists for {self.owner}:{head}.")
        if self.repo.is_ancestor(f"refs/heads/{head}", f"refs/heads/{base}"):
            return _invalid(code="custom", message=f"No commits between {base} and {head}")
        number = len(self._pulls) + 1
        pr = Pull(number, body["title"], body.get("body"), head, base, iso())
        self._pulls[number] = pr
        data = self.json(pr)
        return Reply(201, data, {"Location": data["url"]})

    def show(self, number: str, *, query: dict[str, str], body: Any) -> Reply:
        pr = self._pulls.get(int(number))
        if pr is None:
            return error(404, "Not Found", status="404")
        return Reply(200, self.json(pr))

    def merge(self, number: str, *, query: dict[str, str], body: Any) -> Reply:
        pr = self._pulls.get(int(number))
        if pr is None:
            return error(404, "Not Found", status="404")
        body = body if isinstance(body, dict) else {}
        method = body.get("merge_method", "merge")
        if method not in ("merge", "squash", "rebase"):
            return _invalid(field="merge_method", code="invalid")
        if pr.state != "open":
            return error(405, _NOT_MERGEABLE)
        head_sha, base_sha = self.repo.branch(pr.head), self.repo.branch(pr.base)
        if head_sha is None or base_sha is None:
            return error(405, _NOT_MERGEABLE)
        if body.get("sha") is not None and body["sha"] != head_sha:
            return error(409, _HEAD_CHANGED)
        blocked = self.checks.blocking(head_sha)
        if blocked:
            return error(405, blocked)
        tree = self.repo.merge_tree(base_sha, head_sha)
        if pr.mergeable_override is False or tree is None:
            return error(405, _NOT_MERGEABLE)
        title = body.get("commit_title") or f"Merge pull request #{pr.number} from {pr.head}"
        message = title + (f"\n\n{body['commit_message']}" if body.get("commit_message") else "")
        if method == "rebase":
            if not self.repo.is_ancestor(base_sha, head_sha):
                return error(405, "This branch can't be rebased")
            new = head_sha  # the simulator rebases only when it is a fast-forward
        else:
            parents = [base_sha] + ([head_sha] if method == "merge" else [])
            new = self.repo.commit_tree(tree, parents, message)
        try:
            self.repo.move_branch(pr.base, new, base_sha)
        except GitError:
            return error(405, "Base branch was modified. Review and try the merge again.")
        pr.state, pr.merged, pr.merged_at = "closed", True, iso()
        pr.merge_commit_sha, pr.merged_head_sha = new, head_sha
        self._merged(pr.number)
        return Reply(200, {"sha": new, "merged": True,
                           "message": "Pull Request successfully merged"})
