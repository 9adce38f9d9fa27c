"""The GitHub merge route: push the branch, open (or reuse) a pull request with the
evidence, respect its checks, then merge it with the ``sha`` guard so GitHub refuses if the
head moved after the approval."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.adapters.forge.errors import GitHubError
from desktop.adapters.forge.github import GitHubClient
from desktop.adapters.git.merge import GitMerger, MergeError
from desktop.core.events import Merged

if TYPE_CHECKING:
    from desktop.core.review import Review

__all__ = ["merge_via_github", "pull_request_body"]

CHECKS_TIMEOUT_S = 600.0


def pull_request_body(review: Review) -> str:
    ev, view = review.evidence, review.view
    lines = [f"Honk change `{view.id}`, made by Claude ({view.model}) and approved by a person.",
             "", "## Request", "", view.request, "", "## Evidence", ""]
    for v in ev.verifiers:
        lines.append(f"- verifier `{v.name}`: {'passed' if v.passed else 'FAILED'}")
    if ev.verdict is not None:
        lines.append(f"- judge: **{ev.verdict.verdict}**: {ev.verdict.summary}")
    if ev.artifact is not None:
        lines.append(f"- build artifact sha256 `{ev.artifact.sha256}`")
    if ev.installed is not None:
        lines.append(f"- installed on `{ev.installed.device}`")
    lines.append(f"- cost ${view.cost_usd:.4f}")
    return "\n".join(lines)


async def merge_via_github(review: Review, commit: str, token: str, home: Path,
                           notify: Callable[[str], None]) -> Merged:
    """Merge ``commit`` through a pull request; ``notify`` tells the person what happens.

    A retry whose first try merged on GitHub but was cut before it was recorded finds that
    pull request merged with this very commit and records it: nothing is pushed or merged twice.
    """
    m, view = review.config.merge, review.view
    owner, repo = m.github_repo.split("/", 1)
    method = "rebase" if m.method == "rebase" else "merge"
    try:
        async with GitHubClient(token, base_url=m.github_api) as gh:
            done = await gh.find_merged_pull(owner, repo, view.branch, m.target, commit)
            if done is not None:
                notify(f"pull request #{done.number} was already merged: {done.url}")
                return Merged(change=view.id, commit=commit, target=m.target,
                              remote=m.github_repo, merged_commit=done.merge_commit_sha or commit,
                              method=method, already_merged=True, pull_request=done.url)
            merger = GitMerger(Path(view.repo), home / "scratch")
            await asyncio.to_thread(merger.push_branch, branch=view.branch, sha=commit,
                                    remote=m.remote)
            pr = await gh.create_pull(owner, repo, view.branch, m.target,
                                      view.request.splitlines()[0][:72], pull_request_body(review))
            notify(f"pull request #{pr.number} open: {pr.url}")

            def tick(status: object, left: float) -> None:
                notify(f"waiting for checks ({status}); {left:.0f} s left")

            status = await gh.wait_for_checks(owner, repo, commit, timeout=CHECKS_TIMEOUT_S,
                                              interval=5.0, on_tick=tick)
            if status.state == "failure":
                raise MergeError(f"required checks failed on #{pr.number}: {status.summary()}")
            if status.state == "pending":
                raise MergeError(f"checks still pending on #{pr.number} after "
                                 f"{CHECKS_TIMEOUT_S:.0f} s: {status.summary()}")
            merged = await gh.merge_pull(owner, repo, pr.number, commit, method,
                                         f"Merge Honk change {view.id} (#{pr.number})")
    except GitHubError as exc:
        raise MergeError(f"GitHub refused the merge: {exc}") from None
    return Merged(change=view.id, commit=commit, target=m.target, remote=m.github_repo,
                  merged_commit=merged, method=method, pull_request=pr.url)
