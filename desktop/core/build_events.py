"""Events of the build and install stages.

They subclass :class:`desktop.core.events.Event`, so the registry there knows them and the
journal stores and loads them like any other event. The artifact's sha256 appears in
``ArtifactBuilt`` and again in ``Installed``: the same bytes go from the build to the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from desktop.core.events import Event

__all__ = ["ArtifactBuilt", "BuildLog", "Installed", "Launched", "RemoteBuildStarted",
           "RemoteBuildStatus"]


@dataclass(frozen=True, kw_only=True)
class BuildLog(Event):
    """One line of the build's log; high-rate, so never journalled one by one."""

    type: ClassVar[str] = "build_log"
    ephemeral: ClassVar[bool] = True
    line: str


@dataclass(frozen=True, kw_only=True)
class ArtifactBuilt(Event):
    """The build produced exactly one artifact: where it is, how big, and its sha256."""

    type: ClassVar[str] = "artifact_built"
    path: str
    size: int
    sha256: str
    seconds: float = 0.0  # how long the build command ran


@dataclass(frozen=True, kw_only=True)
class Installed(Event):
    """The artifact with ``artifact_sha256`` is on ``device`` (android | ios | local)."""

    type: ClassVar[str] = "installed"
    device: str
    kind: str
    artifact_sha256: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Launched(Event):
    """The app was started on the device after the install."""

    type: ClassVar[str] = "launched"
    device: str
    package: str


@dataclass(frozen=True, kw_only=True)
class RemoteBuildStarted(Event):
    """The change's commit went to GitHub as its branch and a workflow run builds it; a
    resumed change re-attaches to ``run_id`` instead of dispatching again."""

    type: ClassVar[str] = "remote_build_started"
    run_id: int
    workflow: str
    branch: str
    commit: str
    url: str = ""


@dataclass(frozen=True, kw_only=True)
class RemoteBuildStatus(Event):
    """The workflow run moved: queued, in_progress, completed (with its conclusion)."""

    type: ClassVar[str] = "remote_build_status"
    run_id: int
    status: str
    conclusion: str | None = None
