"""`honk demo --remote-build`: the build stage on a loopback GitHub Actions.

:class:`DemoActions` starts the loopback GitHub (``desktop.sim.github_api.FakeGitHub``) on the
demo's bare "production" remote, with a token that exists only in the demo's environment, and
plays the workflow's runner: for each dispatched run it checks the dispatched commit out of that
remote, runs the sample app's own build command (what ``[build] command`` runs for a local
build) and uploads the APK as the run's artifact. The demo repo's honk.toml says
``[build] via = "github-actions"``, so Honk pushes the change's branch, dispatches the workflow,
follows the run, downloads the artifact and installs it exactly as it would with GitHub.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.adapters.git.cli import GitError, git
from desktop.adapters.process.commands import run_command, scrubbed_env
from desktop.core.config import BuildConfig
from desktop.sim.github_api import FakeGitHub

__all__ = ["ARTIFACT", "OWNER", "REPO_NAME", "WORKFLOW", "DemoActions", "RunnerBuild",
           "remote_build_toml", "workflow_yaml"]

OWNER, REPO_NAME = "demo", "honk-player"  # the loopback GitHub's owner/name for the sample app
WORKFLOW = "honk-build.yml"
ARTIFACT = "app-debug"
_BUILD_TABLE = re.compile(r"^\[build\]\n(?:[^\[\n].*\n|\n)*", re.MULTILINE)


@dataclass(frozen=True)
class RunnerBuild:
    """What the loopback runner built for one dispatch: ``ok`` with the uploaded file's name,
    size and sha256, or not (``log`` says why)."""

    commit: str
    ok: bool
    file: str = ""
    size: int = 0
    sha256: str = ""
    log: str = ""


def remote_build_toml(text: str, api_url: str, timeout: float) -> str:
    """``text`` (the sample app's honk.toml) with its ``[build]`` table sent to GitHub Actions
    at ``api_url``; ValueError when it has no ``[build]`` table to replace."""
    table = (
        "[build]\n"
        "# `honk demo --remote-build`: the build runs on the demo's loopback GitHub Actions; its\n"
        "# runner checks out the dispatched commit and runs build_apk.py, as a local build does.\n"
        'via = "github-actions"\n'
        f'workflow = "{WORKFLOW}"\n'
        f'actions_artifact = "{ARTIFACT}"\n'
        'artifact = "*.apk"\n'
        f"timeout = {timeout:g}\n"
        f'github_repo = "{OWNER}/{REPO_NAME}"\n'
        f'github_api = "{api_url}"\n\n'
    )
    replaced, count = _BUILD_TABLE.subn(lambda _: table, text, count=1)
    if count != 1:
        raise ValueError("the sample app's honk.toml has no [build] table to send to GitHub "
                         "Actions")
    return replaced


def workflow_yaml(build: BuildConfig) -> str:
    """The workflow the honk.toml names, saying what the loopback runner does for it."""
    command = " ".join(build.command)
    return (
        "# `honk demo --remote-build` plays this workflow on a loopback GitHub Actions.\n"
        "name: Honk build\n"
        "on:\n"
        "  workflow_dispatch:\n"
        "    inputs:\n"
        "      sha: {required: true}\n"
        "      change: {required: false}\n"
        "jobs:\n"
        "  build:\n"
        "    runs-on: ubuntu-latest\n"
        "    steps:\n"
        "      - uses: actions/checkout@v4\n"
        "        with: {ref: '${{ inputs.sha }}'}\n"
        f"      - run: {command}\n"
        "      - uses: actions/upload-artifact@v4\n"
        f"        with: {{name: {ARTIFACT}, path: '{build.artifact}'}}\n"
    )


class DemoActions:
    """The loopback GitHub with its Actions, and the runner that builds each dispatched run."""

    def __init__(self, *, remote: Path, work: Path, build: BuildConfig,
                 base_env: Mapping[str, str], queued_s: float = 1.0,
                 running_s: float = 1.5) -> None:
        # Long enough that Honk's polling (every 0.1 s at first, backing off to 1.5 s in the
        # demo) sees each state even on a busy machine.
        self.remote, self.work, self.build = remote, work, build
        self._base_env = dict(base_env)
        self._queued_s, self._running_s = queued_s, running_s
        # A fresh token per demo, in the demo's environment only (never a keyring).
        self.token = f"ghp_demo{secrets.token_hex(16)}"
        self.github: FakeGitHub | None = None
        self.builds: list[RunnerBuild] = []  # what the runner built, in dispatch order

    def start(self) -> None:
        self.github = FakeGitHub(git_dir=self.remote, token=self.token, owner=OWNER,
                                 repo=REPO_NAME)
        self.github.actions.queued_s, self.github.actions.running_s = (self._queued_s,
                                                                        self._running_s)
        self.github.actions.build = self._run_workflow
        self.github.start()

    def stop(self) -> None:
        """Stop both loopback hosts (the API and the one serving logs and artifacts)."""
        if self.github is not None:
            self.github.stop()
            self.github = None

    @property
    def api_url(self) -> str:
        assert self.github is not None, "the loopback GitHub is not started"
        return self.github.base_url

    @property
    def env(self) -> dict[str, str]:
        """What Honk needs in its environment to reach this GitHub."""
        return {"GITHUB_TOKEN": self.token}

    def dispatches(self) -> list[Any]:
        """Every dispatch body the loopback GitHub received."""
        return list(self.github.actions.dispatches) if self.github is not None else []

    def run(self, run_id: int) -> dict[str, Any]:
        """The run as GitHub's API shows it ({} when there is no such run)."""
        try:
            return self.github.actions.run(run_id) if self.github is not None else {}
        except KeyError:
            return {}

    def built_for(self, commit: str) -> RunnerBuild | None:
        """The runner's last build of ``commit``."""
        return next((b for b in reversed(self.builds) if b.commit == commit), None)

    # -- the runner -----------------------------------------------------------------------

    def _run_workflow(self, sha: str, inputs: dict[str, str]
                      ) -> tuple[str, dict[str, dict[str, bytes]]]:
        """Called by the loopback GitHub at dispatch: check out ``sha``, build, upload."""
        assert self.github is not None
        checkout = self.work / f"run-{len(self.builds) + 1}-{sha[:12]}"
        log = [f"Run actions/checkout@v4 (ref {sha})"]
        try:
            built, artifacts = self._build(sha, checkout, log)
        finally:
            shutil.rmtree(checkout, ignore_errors=True)
        self.builds.append(built)
        self.github.actions.next_conclusion = "success" if built.ok else "failure"
        return built.log, artifacts

    def _build(self, sha: str, checkout: Path, log: list[str]
               ) -> tuple[RunnerBuild, dict[str, dict[str, bytes]]]:
        def failed(why: str) -> tuple[RunnerBuild, dict[str, dict[str, bytes]]]:
            log.append(f"Error: {why}")
            return RunnerBuild(sha, False, log="\n".join(log) + "\n"), {}

        try:
            self.work.mkdir(parents=True, exist_ok=True)
            git("clone", "-q", "--no-checkout", str(self.remote), str(checkout), cwd=self.work)
            git("checkout", "-q", "--detach", sha, cwd=checkout)
        except GitError as exc:
            return failed(f"checkout of {sha} failed: {exc}")
        log.append(f"HEAD is now at {sha[:7]}")
        log.append(f"Run {' '.join(self.build.command)}")
        # This runs in the loopback GitHub's request thread, which has no event loop of its own.
        with asyncio.Runner(loop_factory=asyncio.SelectorEventLoop) as runner:
            result = runner.run(run_command(
                list(self.build.command), cwd=checkout, timeout=self.build.timeout,
                env=scrubbed_env(self._base_env, [self.token])))
        log.extend(result.output.splitlines())
        if not result.ok:
            return failed(result.error or ("timed out" if result.timed_out else
                                           f"Process completed with exit code {result.exit_code}."))
        found = sorted(checkout.glob(self.build.artifact))
        if len(found) != 1:
            return failed(f"expected one file matching {self.build.artifact!r}, found "
                          f"{len(found)}")
        data = found[0].read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        log.append(f"Run actions/upload-artifact@v4 (name {ARTIFACT})")
        log.append(f"Uploaded {found[0].name} as artifact {ARTIFACT}: {len(data)} bytes, "
                   f"sha256 {digest}")
        built = RunnerBuild(sha, True, found[0].name, len(data), digest, "\n".join(log) + "\n")
        return built, {ARTIFACT: {found[0].name: data}}
