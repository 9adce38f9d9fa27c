"""GitHub Actions for the loopback GitHub (``FakeGitHub.actions``), shaped as GitHub documents
it (API version 2022-11-28); a run's head is what its branch points to in the real bare repo.

- dispatch: 200 with the run's id for ``return_run_details`` (204 in ``dispatch_answers_204``,
  as older GitHub Enterprise); 404 for an unknown workflow, 422 for a ref that is no branch
- runs (list: ``event``, ``branch``, ``head_sha``), one run, cancel (202; 409 once completed),
  jobs and artifacts, every list paged with ``Link`` headers
- job logs and artifact zips: 302 to the redirect host (``desktop/sim/github_blobs.py``)
  whose signed links expire after ``url_ttl_s`` (403); an expired artifact is a 410
- the rate limit every call counts against (``desktop/sim/github_rate_limit.py``)

A run is queued for ``queued_s``, in progress for ``running_s``, then completed with the
``next_conclusion`` it was dispatched under, all on ``clock`` (a test steps it).
"""

from __future__ import annotations

import io
import math
import re
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from desktop.sim.github_blobs import BlobHost, HostRequest
from desktop.sim.github_rate_limit import ACTIONS_DOCS, RateLimit
from desktop.sim.github_reply import Reply, error, iso
from desktop.sim.github_repo import BareRepo

__all__ = ["WORKFLOW", "ActionsSim", "Build", "honk_toml"]

Logs = str | Mapping[str, str]  # one log for a job named "build", or job name -> log
Artifacts = Mapping[str, Mapping[str, bytes]]  # artifact name -> file name -> bytes
Build = Callable[[str, dict[str, str]], tuple[Logs, Artifacts]]
Query = dict[str, str]

CONCLUSIONS = ("success", "failure", "cancelled", "timed_out")
WORKFLOW = "honk-build.yml"  # the workflow every ActionsSim starts with
_HONK_TOML = f"""[build]
via = "github-actions"
workflow = "{WORKFLOW}"
actions_artifact = "app-debug"
artifact = "*.apk"
[merge]
via = "github"
github_repo = "acme/app"
"""


def honk_toml(api_url: str = "") -> str:
    """A honk.toml whose build runs on this stand-in's Actions (``FakeGitHub``'s default
    ``acme/app``): ``WORKFLOW`` uploads the APK as the artifact ``app-debug``. ``api_url`` is
    the loopback GitHub's; none leaves GitHub's own, for a stand-in not called over HTTP."""
    return _HONK_TOML + (f'github_api = "{api_url}"\n' if api_url else "")


def _default_build(sha: str, inputs: dict[str, str]) -> tuple[Logs, Artifacts]:
    return f"Checking out {sha}\nRun ./gradlew assembleDebug\nBUILD FINISHED\n", {}


def _error(code: int, message: str) -> Reply:
    return error(code, message, docs=ACTIONS_DOCS, status=f"{code}")


@dataclass
class _Job:
    id: int
    name: str
    log: str


@dataclass
class _Artifact:
    id: int
    name: str
    data: bytes  # the zip
    expired: bool = False


@dataclass
class _Run:
    id: int
    number: int
    workflow: str
    branch: str
    sha: str
    created: float  # clock() at dispatch
    queued_s: float
    running_s: float
    conclusion: str
    jobs: list[_Job]
    artifacts: list[_Artifact]
    forced: str | None = None  # a conclusion set by cancel or complete(): completed now


class ActionsSim:
    """The Actions side of ``FakeGitHub``; tests turn the knobs on ``fake.actions``."""

    def __init__(self, *, git_dir: Path, owner: str, repo: str) -> None:
        self.git_dir, self.owner, self.repo = git_dir, owner, repo
        # -- knobs ------------------------------------------------------------------------
        self.workflows: dict[str, int] = {WORKFLOW: 4001}  # file name -> workflow id
        self.dispatch_answers_204 = False  # older GitHub Enterprise: no run details, ever
        self.fake_head_sha: str | None = None  # runs claim this head instead of the branch's
        self.queued_s, self.running_s = 0.2, 0.2  # seconds on `clock`
        self.next_conclusion = "success"
        self.build: Build = _default_build  # called at dispatch with (head sha, inputs)
        self.url_ttl_s = 60.0
        self.clock: Callable[[], float] = time.time
        # -- records ----------------------------------------------------------------------
        self.dispatches: list[Any] = []  # every dispatch body, as received
        self.cancels: list[int] = []  # run ids a cancel was asked for
        self.blobs = BlobHost(lambda: self.clock())  # the redirect host
        self.rate_limit = RateLimit(lambda: self.clock())  # every API call counts against it
        self._bare = BareRepo(git_dir)
        self._lock = threading.Lock()
        self._runs: dict[int, _Run] = {}
        self._ids = {"run": 9_000_000, "job": 7_000_000, "artifact": 5_000_000}
        self._api_url = ""

    @property
    def blob_requests(self) -> list[HostRequest]:
        """What reached the redirect host."""
        return self.blobs.requests

    def start(self) -> None:
        """Serve the redirect host (another origin than the API)."""
        self.blobs.start()

    def stop(self) -> None:
        self.blobs.stop()

    # -- knobs for tests ------------------------------------------------------------------

    def rate_limit_next(self, n: int, kind: str = "primary", reset_in_s: float = 1.0) -> None:
        """The next ``n`` API calls answer 403 with ``x-ratelimit-remaining: 0`` and the reset
        epoch (``primary``), or 429 with ``Retry-After`` (``secondary``)."""
        self.rate_limit.limit_next(n, kind, reset_in_s)

    def complete(self, run_id: int, conclusion: str = "success") -> None:
        """Finish a run now (a run held with a long ``running_s``)."""
        assert conclusion in CONCLUSIONS, conclusion
        with self._lock:
            self._runs[run_id].forced = conclusion

    def expire_artifact(self, name: str) -> None:
        """Mark every artifact called ``name`` expired (listed so; its zip answers 410)."""
        with self._lock:
            for run in self._runs.values():
                for artifact in run.artifacts:
                    artifact.expired = artifact.expired or artifact.name == name

    def run(self, run_id: int) -> dict[str, Any]:
        """The run as the API would show it."""
        with self._lock:
            return self._run_json(self._runs[run_id])

    # -- the front door (called by FakeGitHub for authorised API calls) -------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: Any, *,
               api_url: str) -> Reply:
        """Answer one ``/repos/{owner}/{repo}/actions/...`` call (``path`` without a prefix)."""
        base = f"/repos/{self.owner}/{self.repo}/actions".lower()
        if not path.lower().startswith(base + "/"):
            return _error(404, "Not Found")
        rest = path[len(base):]
        # (verb, path, what the path names, the action given that thing; 404 when it is gone)
        routes: list[tuple[str, str, Callable[[str], Any], Callable[..., Reply]]] = [
            ("POST", r"/workflows/([^/]+)/dispatches", self._workflow, self._dispatch),
            ("GET", r"/workflows/([^/]+)/runs", self._workflow, self._list_runs),
            ("GET", r"/runs/(\d+)", self._run_of, self._get_run),
            ("POST", r"/runs/(\d+)/cancel", self._run_of, self._cancel),
            ("GET", r"/runs/(\d+)/jobs", self._run_of, self._jobs),
            ("GET", r"/jobs/(\d+)/logs", self._job_of, self._job_logs),
            ("GET", r"/runs/(\d+)/artifacts", self._run_of, self._artifacts),
            ("GET", r"/artifacts/(\d+)/zip", self._artifact_of, self._artifact_zip),
        ]
        for verb, pattern, lookup, action in routes:
            match = re.fullmatch(pattern, rest)
            if match and verb == method:
                with self._lock:
                    self._api_url = api_url
                    if rest.endswith("/dispatches"):
                        self.dispatches.append(body)
                    found = lookup(match.group(1))
                    if found is None:
                        return _error(404, "Not Found")
                    return action(found, path, query, body)
        return _error(404, "Not Found")

    # -- runs -----------------------------------------------------------------------------

    def _take(self, kind: str) -> int:
        self._ids[kind] += 1
        return self._ids[kind]

    def _workflow(self, ident: str) -> str | None:
        return next((name for name, num in self.workflows.items()
                     if ident in (name, str(num))), None)

    def _run_of(self, ident: str) -> _Run | None:
        return self._runs.get(int(ident))

    def _job_of(self, ident: str) -> tuple[_Run, _Job] | None:
        return next(((run, job) for run in self._runs.values() for job in run.jobs
                     if job.id == int(ident)), None)

    def _artifact_of(self, ident: str) -> _Artifact | None:
        return next((a for run in self._runs.values() for a in self._visible(run)
                     if a.id == int(ident)), None)

    def _dispatch(self, workflow: str, path: str, query: Query, body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return _error(422, "Invalid request.\n\n\"ref\" wasn't supplied.")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            return _error(422, "Invalid request.\n\nFor 'properties/inputs', is not an object.")
        branch = body["ref"].removeprefix("refs/heads/")
        sha = self._bare.branch(branch)
        if sha is None:
            return _error(422, f"No ref found for: {body['ref']}")
        sha = self.fake_head_sha or sha
        logs, artifacts = self.build(sha, {str(k): str(v) for k, v in inputs.items()})
        named = {"build": logs} if isinstance(logs, str) else dict(logs)
        jobs = [_Job(self._take("job"), name, text) for name, text in named.items()]
        made = [_Artifact(self._take("artifact"), name, _zip(files))
                for name, files in artifacts.items()]
        run_id = self._take("run")
        assert self.next_conclusion in CONCLUSIONS, self.next_conclusion
        run = _Run(run_id, len(self._runs) + 1, workflow, branch, sha, self.clock(),
                   self.queued_s, self.running_s, self.next_conclusion, jobs, made)
        self._runs[run_id] = run
        if self.dispatch_answers_204 or body.get("return_run_details") is not True:
            return Reply(204, None)
        shown = self._run_json(run)
        return Reply(200, {"workflow_run_id": run_id, "run_url": shown["url"],
                           "html_url": shown["html_url"]})

    def _state(self, run: _Run) -> tuple[str, str | None]:
        if run.forced is not None:
            return "completed", run.forced
        elapsed = self.clock() - run.created
        if elapsed < run.queued_s:
            return "queued", None
        if elapsed < run.queued_s + run.running_s:
            return "in_progress", None
        return "completed", run.conclusion

    def _run_json(self, run: _Run) -> dict[str, Any]:
        status, conclusion = self._state(run)
        api = f"{self._api_url}/repos/{self.owner}/{self.repo}/actions/runs/{run.id}"
        return {
            "id": run.id, "name": run.workflow, "head_branch": run.branch, "head_sha": run.sha,
            "path": f".github/workflows/{run.workflow}", "run_number": run.number,
            "event": "workflow_dispatch", "status": status, "conclusion": conclusion,
            "workflow_id": self.workflows.get(run.workflow, 0), "url": api,
            "jobs_url": f"{api}/jobs", "artifacts_url": f"{api}/artifacts",
            "html_url": f"https://github.invalid/{self.owner}/{self.repo}/actions/runs/{run.id}",
            "created_at": iso(run.created), "updated_at": iso(self.clock()),
            "run_started_at": iso(run.created), "run_attempt": 1}

    def _list_runs(self, workflow: str, path: str, query: Query, body: Any) -> Reply:
        shown = [self._run_json(r) for r in sorted(self._runs.values(), key=lambda r: -r.id)
                 if r.workflow == workflow]
        for key, shows in (("event", "event"), ("branch", "head_branch"),
                           ("head_sha", "head_sha"), ("status", "status")):
            if query.get(key):  # a status filter also takes a conclusion, as GitHub's does
                shown = [r for r in shown
                         if query[key] in (r[shows], r["conclusion"] if key == "status" else 0)]
        return self._page(path, query, "workflow_runs", shown)

    def _get_run(self, run: _Run, path: str, query: Query, body: Any) -> Reply:
        return Reply(200, self._run_json(run))

    def _cancel(self, run: _Run, path: str, query: Query, body: Any) -> Reply:
        self.cancels.append(run.id)
        if self._state(run)[0] == "completed":
            return _error(409, "Cannot cancel a workflow run that is completed.")
        run.forced = "cancelled"
        return Reply(202, {})

    # -- jobs, logs, artifacts ------------------------------------------------------------

    def _jobs(self, run: _Run, path: str, query: Query, body: Any) -> Reply:
        status, conclusion = self._state(run)
        api = f"{self._api_url}/repos/{self.owner}/{self.repo}/actions"
        jobs = [{"id": job.id, "run_id": run.id, "run_url": f"{api}/runs/{run.id}",
                 "head_sha": run.sha, "head_branch": run.branch, "name": job.name,
                 "status": status, "conclusion": conclusion, "workflow_name": run.workflow,
                 "url": f"{api}/jobs/{job.id}", "run_attempt": 1, "steps": [],
                 "labels": ["ubuntu-latest"], "started_at": iso(run.created)}
                for job in run.jobs]
        return self._page(path, query, "jobs", jobs)

    def _job_logs(self, found: tuple[_Run, _Job], path: str, query: Query,
                  body: Any) -> Reply:
        run, job = found
        if self._state(run)[0] != "completed":  # GitHub serves a job's log once it is done
            return _error(404, "Not Found")
        return self._redirect(job.log.encode(), "text/plain; charset=utf-8")

    def _visible(self, run: _Run) -> list[_Artifact]:
        status, conclusion = self._state(run)
        return run.artifacts if status == "completed" and conclusion != "cancelled" else []

    def _artifacts(self, run: _Run, path: str, query: Query, body: Any) -> Reply:
        api = f"{self._api_url}/repos/{self.owner}/{self.repo}/actions/artifacts"
        shown = [{"id": a.id, "name": a.name, "size_in_bytes": len(a.data),
                  "url": f"{api}/{a.id}", "archive_download_url": f"{api}/{a.id}/zip",
                  "expired": a.expired, "created_at": iso(run.created),
                  "expires_at": iso(run.created + 90 * 86400),
                  "workflow_run": {"id": run.id, "head_branch": run.branch, "head_sha": run.sha}}
                 for a in self._visible(run) if query.get("name", a.name) == a.name]
        return self._page(path, query, "artifacts", shown)

    def _artifact_zip(self, artifact: _Artifact, path: str, query: Query,
                      body: Any) -> Reply:
        if artifact.expired:
            return _error(410, "Artifact has expired")
        return self._redirect(artifact.data, "application/zip")

    # -- plumbing -------------------------------------------------------------------------

    def _redirect(self, data: bytes, content_type: str) -> Reply:
        return Reply(302, None, {"Location": self.blobs.link(data, content_type, self.url_ttl_s)})

    def _page(self, path: str, query: Query, key: str,
              items: list[dict[str, Any]]) -> Reply:
        per_page = min(max(int(query.get("per_page", "30")), 1), 100)
        page = max(int(query.get("page", "1")), 1)
        last = max(math.ceil(len(items) / per_page), 1)

        def link(number: int, rel: str) -> str:
            return (f"<{self._api_url}{path}?{urlencode({**query, 'page': str(number)})}>; "
                    f'rel="{rel}"')

        links = [link(page + 1, "next"), link(last, "last")] if page < last else []
        links += [link(page - 1, "prev"), link(1, "first")] if page > 1 else []
        chunk = items[(page - 1) * per_page:page * per_page]
        return Reply(200, {"total_count": len(items), key: chunk},
                     {"Link": ", ".join(links)} if links else {})


def _zip(files: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()

