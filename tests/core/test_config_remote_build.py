"""[build] via = "github-actions": what it needs, what it refuses, and what it inherits."""

from __future__ import annotations

import pytest

from desktop.core.config import ConfigError, load_config

REMOTE = '''[build]
via = "github-actions"
workflow = "honk-build.yml"
actions_artifact = "app-debug"
artifact = "*.apk"
timeout = 3600
'''
MERGE = '[merge]\nvia = "github"\ngithub_repo = "acme/player"\ngithub_api = "https://ghe.example/api/v3"\n'


def test_a_remote_build_takes_its_repo_and_api_from_merge() -> None:
    build = load_config(REMOTE + MERGE).build
    assert build is not None and build.remote
    assert (build.workflow, build.actions_artifact, build.artifact) == (
        "honk-build.yml", "app-debug", "*.apk")
    assert (build.github_repo, build.github_api) == ("acme/player", "https://ghe.example/api/v3")
    assert build.command == () and build.timeout == 3600


def test_its_own_github_repo_wins() -> None:
    build = load_config(REMOTE + 'github_repo = "acme/builds"\n' + MERGE).build
    assert build is not None and build.github_repo == "acme/builds"


def test_a_numeric_workflow_id_is_kept_as_text() -> None:
    build = load_config(REMOTE.replace('"honk-build.yml"', "123456") + MERGE).build
    assert build is not None and build.workflow == "123456"


@pytest.mark.parametrize(("text", "message"), [
    (REMOTE + 'command = "./gradlew assembleDebug"\n' + MERGE,
     "build.command = './gradlew assembleDebug': expected no command with via = "
     "'github-actions'"),
    (REMOTE.replace('workflow = "honk-build.yml"\n', "") + MERGE,
     "build.workflow = None: expected the workflow's file name"),
    (REMOTE.replace('workflow = "honk-build.yml"', 'workflow = ".github/workflows/x.yml"')
     + MERGE, "build.workflow = '.github/workflows/x.yml': expected the workflow's file name"),
    (REMOTE.replace('actions_artifact = "app-debug"\n', "") + MERGE,
     "build.actions_artifact = None: expected the name of the artifact"),
    (REMOTE, "build.github_repo = None: expected 'owner/name' (here or as [merge] github_repo)"),
    (REMOTE.replace('"github-actions"', '"circleci"') + MERGE,
     "build.via = 'circleci': expected one of 'local', 'github-actions'"),
    ('[build]\ncommand = "make"\nartifact = "x.apk"\nworkflow = "w.yml"\n',
     "build.workflow = 'w.yml': expected nothing with via = 'local'"),
    (REMOTE.replace('artifact = "*.apk"', 'artifact = "../*.apk"') + MERGE,
     "build.artifact = '../*.apk': expected a glob inside the repo"),
])
def test_bad_remote_build_config_names_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(text)
    assert str(caught.value).startswith("honk.toml: " + message)
