"""The judge's deterministic rules on real `git diff` output and on hand-written diffs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop.core.events import event_from_dict, event_to_dict
from desktop.core.judge_events import JudgeReason, JudgeVerdict
from desktop.core.judge_rules import (
    Combined,
    combine,
    mask_secrets,
    parse_diff,
    request_allows_test_changes,
    scan_diff,
)
from tests.helpers.gitrepo import make_repo

TESTS_PY = '''import pytest


def test_play_button():
    assert True


def test_title():
    assert True
'''

AWS_KEY = "AKIA" + "ABCDEFGHIJKLMNOP"  # split so this file itself is not a "secret"
ANTHROPIC_KEY = "sk-ant-" + "api03-abcdefghijklmnopqrstuvwxyz"
GH_TOKEN = "ghp_" + "a" * 36


def real_diff(tmp_path: Path, before: dict[str, str], after: dict[str, str | None]) -> str:
    """`git diff` between two commits of a real repo (None deletes a file)."""
    repo = make_repo(tmp_path / "git", before)
    base = repo.git("rev-parse", "HEAD")
    for rel, text in after.items():
        if text is None:
            (repo.path / rel).unlink()
        else:
            repo.write(rel, text)
    repo.commit_all("change")
    return repo.git("diff", base, "HEAD") + "\n"


def flags_of(diff: str) -> set[str]:
    return {f.flag for f in scan_diff(diff)}


def test_parser_tracks_files_and_line_numbers_in_real_git_output(tmp_path: Path) -> None:
    diff = real_diff(
        tmp_path,
        {"a.py": "one\ntwo\nthree\n", "gone.txt": "bye\n"},
        {"a.py": "one\n-- two\nthree\nfour\n", "gone.txt": None, "new.txt": "hi\n"},
    )
    files = {f.path: f for f in parse_diff(diff)}
    assert set(files) == {"a.py", "gone.txt", "new.txt"}
    assert files["a.py"].removed == [(2, "two")]
    # A removed/added line starting with "--" is content, not a file header.
    assert files["a.py"].added == [(2, "-- two"), (4, "four")]
    assert files["gone.txt"].deleted and files["gone.txt"].removed == [(1, "bye")]
    assert files["new.txt"].added == [(1, "hi")]


def test_removed_test_function_is_flagged_with_its_line(tmp_path: Path) -> None:
    diff = real_diff(
        tmp_path,
        {"tests/test_ui.py": TESTS_PY},
        {"tests/test_ui.py": TESTS_PY.replace("\n\ndef test_title():\n    assert True\n", "")},
    )
    [finding] = scan_diff(diff)
    assert finding.flag == "deleted_or_disabled_tests"
    assert finding.file == "tests/test_ui.py"
    assert finding.where == "-8"
    assert "test_title" in finding.text


def test_renamed_or_edited_test_is_not_flagged(tmp_path: Path) -> None:
    changed = TESTS_PY.replace("def test_title():", "def test_title():  # longer now")
    changed = changed.replace("assert True\n", "assert 1 == 1\n")
    assert scan_diff(real_diff(tmp_path, {"test_ui.py": TESTS_PY}, {"test_ui.py": changed})) == ()


def test_commented_out_and_skipped_tests_are_flagged(tmp_path: Path) -> None:
    changed = TESTS_PY.replace("def test_play_button", "# def test_play_button")
    changed = changed.replace("def test_title", "@pytest.mark.skip\ndef test_title")
    findings = scan_diff(real_diff(tmp_path, {"test_ui.py": TESTS_PY}, {"test_ui.py": changed}))
    texts = [f.text for f in findings]
    assert any("test_play_button removed" in t for t in texts)
    assert any("'@pytest.mark.skip'" in t for t in texts)


@pytest.mark.parametrize(
    "added",
    [
        "    @Ignore",
        "    @Disabled(\"flaky\")",
        "  xit('plays', () => {})",
        "  it.skip('plays', () => {})",
        "  it.only('plays', () => {})",
        "@unittest.skip('later')",
        "        throw XCTSkip(\"later\")",
    ],
)
def test_skip_markers_in_several_languages(added: str) -> None:
    diff = f"--- a/t.kt\n+++ b/t.kt\n@@ -1,1 +1,2 @@\n ctx\n+{added}\n"
    assert flags_of(diff) == {"deleted_or_disabled_tests"}


def test_deleted_test_file_and_lost_junit_annotation(tmp_path: Path) -> None:
    kt = "class PlayerTest {\n    @Test\n    fun plays() {}\n    @Test\n    fun stops() {}\n}\n"
    diff = real_diff(
        tmp_path,
        {"app/src/test/PlayerTest.kt": kt, "tests/test_x.py": TESTS_PY},
        {"app/src/test/PlayerTest.kt": kt.replace("    @Test\n    fun stops", "    fun stops"),
         "tests/test_x.py": None},
    )
    texts = {(f.file, f.text) for f in scan_diff(diff)}
    assert ("tests/test_x.py", "test file deleted") in texts
    assert ("app/src/test/PlayerTest.kt", "1 @Test annotation(s) removed") in texts


@pytest.mark.parametrize(
    "path",
    [".github/workflows/ci.yml", ".gitlab-ci.yml", "Jenkinsfile", "bitrise.yml",
     ".circleci/config.yml", "honk.toml", "fastlane/Fastfile"],
)
def test_ci_config_paths(path: str) -> None:
    diff = f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"
    [finding] = scan_diff(diff)
    assert (finding.flag, finding.file) == ("ci_config_changed", path)


def test_dependency_manifests(tmp_path: Path) -> None:
    gradle = "dependencies {\n    implementation 'a:b:1'\n}\n"
    pyproject = '[project]\nname = "x"\nversion = "1.0"\ndependencies = [\n    "httpx",\n]\n'
    package = '{\n  "name": "app",\n  "version": "1.0.0",\n  "dependencies": {\n  }\n}\n'
    diff = real_diff(
        tmp_path,
        {"app/build.gradle": gradle, "pyproject.toml": pyproject, "package.json": package,
         "Podfile": "pod 'A'\n"},
        {
            "app/build.gradle": gradle.replace("}", "    implementation 'sq:okhttp:4'\n}"),
            "pyproject.toml": pyproject.replace('"httpx",', '"httpx",\n    "requests",'),
            "package.json": package.replace('{\n  }', '{\n    "left-pad": "^1.3.0"\n  }'),
            "Podfile": "pod 'A'\npod 'B'\n",
        },
    )
    found = {f.file: f for f in scan_diff(diff)}
    assert set(found) == {"app/build.gradle", "pyproject.toml", "package.json", "Podfile"}
    assert all(f.flag == "new_dependency" for f in found.values())
    assert "okhttp" in found["app/build.gradle"].text and found["app/build.gradle"].where == "+3"
    assert "requests" in found["pyproject.toml"].text
    assert "left-pad" in found["package.json"].text


def test_manifest_edits_that_are_not_dependencies_are_not_flagged(tmp_path: Path) -> None:
    gradle = "android {\n    minSdk 21\n}\n"
    pyproject = '[tool.ruff]\nline-length = 100\nselect = [\n    "E",\n]\n'
    diff = real_diff(
        tmp_path,
        {"build.gradle": gradle, "pyproject.toml": pyproject, "package.json": '{"version": "1"}\n'},
        {"build.gradle": gradle.replace("21", "23"),
         "pyproject.toml": pyproject.replace('"E",', '"E",\n    "F",'),
         "package.json": '{\n  "version": "2.0.0"\n}\n'},
    )
    assert scan_diff(diff) == ()


@pytest.mark.parametrize(
    ("secret", "label"),
    [
        (AWS_KEY, "AWS access key id"),
        (ANTHROPIC_KEY, "Anthropic API key"),
        (GH_TOKEN, "GitHub token"),
        ("-----BEGIN RSA PRIVATE KEY-----", "private key block"),
        ("-----BEGIN OPENSSH PRIVATE KEY-----", "private key block"),
    ],
)
def test_secrets_in_added_lines_are_flagged_and_never_quoted(secret: str, label: str) -> None:
    diff = f"--- a/cfg.py\n+++ b/cfg.py\n@@ -1 +1,2 @@\n x = 1\n+KEY = '{secret}'\n"
    [finding] = scan_diff(diff)
    assert finding.flag == "secret_in_diff" and finding.where == "+2"
    assert label in finding.text and secret not in finding.text
    masked = mask_secrets(diff)
    assert secret not in masked and f" {label}]" in masked and "[redacted: a" in masked


def test_removed_secret_is_good_news_not_a_finding() -> None:
    diff = f"--- a/cfg.py\n+++ b/cfg.py\n@@ -1,2 +1 @@\n x = 1\n-KEY = '{AWS_KEY}'\n"
    assert scan_diff(diff) == ()
    assert AWS_KEY not in mask_secrets(diff)  # still never sent anywhere


def test_plain_code_change_has_no_findings(tmp_path: Path) -> None:
    diff = real_diff(tmp_path, {"app/ui.py": "PAD = 4\n"}, {"app/ui.py": "PAD = 8\n"})
    assert scan_diff(diff) == ()


def test_request_can_ask_for_test_removal() -> None:
    assert request_allows_test_changes("Delete the flaky login test")
    assert request_allows_test_changes("the tests for the old player should be removed")
    assert request_allows_test_changes("Skip test_upload on CI")
    assert not request_allows_test_changes("Fix the play button overlapping the title")
    assert not request_allows_test_changes("add a test for the player")


DELETED_TEST = "--- a/test_a.py\n+++ b/test_a.py\n@@ -1,2 +1 @@\n x\n-def test_a():\n"
CI_CHANGE = "--- a/.gitlab-ci.yml\n+++ b/.gitlab-ci.yml\n@@ -1 +1 @@\n-a\n+b\n"


def test_combine_policy() -> None:
    def approve(diff: str, request: str) -> Combined:
        return combine(model_verdict="approve", summary="Looks fine.", reasons=(),
                       model_flags=(), findings=scan_diff(diff), request=request)

    # A deleted test turns an approval into a veto, with the rule's reason listed.
    out = approve(DELETED_TEST, "fix the title")
    assert out.verdict == "veto" and out.rule_flags == ("deleted_or_disabled_tests",)
    assert "deterministic checks: deleted or disabled tests" in out.summary
    assert out.reasons[0].text.startswith("[rule] test test_a removed")
    # ... unless the request asked for it.
    out = approve(DELETED_TEST, "remove the obsolete test_a test")
    assert out.verdict == "approve" and out.flags == ("deleted_or_disabled_tests",)
    # CI changes are shown but never veto on their own.
    out = approve(CI_CHANGE, "fix the title")
    assert out.verdict == "approve" and out.flags == ("ci_config_changed",)
    # The model's flags are kept, in canonical order, and its veto always stands.
    out = combine(model_verdict="veto", summary="Refactor.", findings=scan_diff(CI_CHANGE),
                  reasons=(JudgeReason("a.py", "+3", "renamed everything"),),
                  model_flags=("out_of_scope", "unrequested_refactor"), request="x")
    assert out.verdict == "veto" and out.summary == "Refactor."
    assert out.flags == ("unrequested_refactor", "ci_config_changed", "out_of_scope")
    assert out.rule_flags == ("ci_config_changed",)


def test_verdict_event_survives_a_json_round_trip() -> None:
    event = JudgeVerdict(
        change="c1", verdict="veto", summary="Out of scope.",
        reasons=(JudgeReason("a.py", "@@ -1,3 +1,4 @@", "renamed a helper"),),
        flags=("unrequested_refactor",), rule_flags=(), model_verdict="veto",
        model="claude-sonnet-4-6", cost_usd=0.0123, commit="a" * 40,
    )
    back = event_from_dict(json.loads(json.dumps(event_to_dict(event))))
    assert back == event
    assert isinstance(back, JudgeVerdict) and back.reasons[0].file == "a.py"
    assert "a.py (@@ -1,3 +1,4 @@): renamed a helper" in back.render()


def test_verdict_event_rejects_bad_values_naming_them() -> None:
    with pytest.raises(ValueError, match=r"verdict: expected one of .*got 'maybe'"):
        JudgeVerdict(change="c1", verdict="maybe", summary="")
    with pytest.raises(ValueError, match="unknown flag 'nope'"):
        JudgeVerdict(change="c1", verdict="veto", summary="", flags=("nope",))
    with pytest.raises(ValueError, match=r"reasons: expected \(file, where, text\)"):
        bad: tuple[Any, ...] = ("just text",)
        JudgeVerdict(change="c1", verdict="veto", summary="", reasons=bad)
