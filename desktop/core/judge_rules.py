"""Deterministic checks on a unified diff that flag out-of-scope work whatever the model says.

The judge model can miss things or be talked round by the diff itself; these rules cannot.
They look for deleted or disabled tests, changed CI configuration, changed dependency
manifests and secrets in added lines, reading the diff as :mod:`desktop.core.judge_diff`
splits it. How their flags combine with the model's verdict is :func:`combine`'s job, and
the policy is written down there.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop.core.judge_diff import FileDiff, parse_diff
from desktop.core.judge_events import FLAGS, JudgeReason

__all__ = [
    "BLOCKING_FLAGS",
    "Combined",
    "FileDiff",
    "RuleFinding",
    "combine",
    "mask_secrets",
    "parse_diff",
    "request_allows_test_changes",
    "scan_diff",
]


@dataclass(frozen=True)
class RuleFinding:
    """One thing a rule noticed; ``text`` never quotes a secret."""

    flag: str
    file: str
    where: str
    text: str

    def reason(self) -> JudgeReason:
        return JudgeReason(self.file, self.where, f"[rule] {self.text}")


# --- tests deleted or disabled -----------------------------------------------------------

_TEST_DEFS = (
    re.compile(r"^\s*(?:async\s+)?def\s+(test\w*)\s*\("),  # pytest / unittest
    re.compile(r"^\s*(?:override\s+)?func\s+(test\w*)\s*\("),  # XCTest
    re.compile(r"^\s*(?:public\s+|internal\s+)?fun\s+(`[^`]+`|test\w*)\s*\("),  # Kotlin
    re.compile(r"^\s*(?:public\s+)?void\s+(test\w*)\s*\("),  # JUnit 3 style Java
    re.compile(r"""^\s*(?:it|test|testWidgets)\s*\(\s*(['"`])(.+?)\1"""),  # JS, Dart
)
_TEST_ANNOTATION = re.compile(r"^\s*@(Test|ParameterizedTest)\b")
_SKIP_MARKERS = re.compile(
    r"@pytest\.mark\.(?:skip|skipif|xfail)\b|@unittest\.(?:skip\w*|expectedFailure)\b"
    r"|\bpytest\.skip\s*\(|@Ignore\b|@Disabled\b|@Suppress\b"
    r"|\b(?:xit|xdescribe|xtest|fit|fdescribe)\s*\("
    r"|\b(?:it|describe|test)\.(?:skip|only|todo)\s*\("
    r"|\bXCTSkip(?:If|Unless)?\b|\bskip:\s*true\b"
)
_TEST_FILE = re.compile(
    r"(^|/)(tests?|__tests__|spec|androidTest|test-?\w*)/"
    r"|(^|/)test_[^/]*\.py$|_test\.(py|go|dart)$|Tests?\.(kt|java|swift|m)$"
    r"|\.(test|spec)\.[jt]sx?$"
)


def _test_name(text: str) -> str | None:
    for pattern in _TEST_DEFS:
        if m := pattern.match(text):
            return m.group(m.lastindex or 1)
    return None


def _test_findings(files: Sequence[FileDiff]) -> list[RuleFinding]:
    out: list[RuleFinding] = []
    added_names = Counter(
        name for f in files for _, text in f.added if (name := _test_name(text)) is not None
    )
    for f in files:
        if f.deleted and _TEST_FILE.search(f.old_path or f.path):
            out.append(RuleFinding("deleted_or_disabled_tests", f.path, "", "test file deleted"))
            continue
        for line_no, text in f.removed:
            name = _test_name(text)
            if name is None:
                continue
            if added_names[name] > 0:  # renamed in place or moved: still there
                added_names[name] -= 1
                continue
            out.append(
                RuleFinding(
                    "deleted_or_disabled_tests", f.path, f"-{line_no}",
                    f"test {name} removed (or commented out) and not re-added",
                )
            )
        removed_annotations = sum(1 for _, t in f.removed if _TEST_ANNOTATION.match(t))
        added_annotations = sum(1 for _, t in f.added if _TEST_ANNOTATION.match(t))
        if removed_annotations > added_annotations:
            lost = removed_annotations - added_annotations
            out.append(
                RuleFinding(
                    "deleted_or_disabled_tests", f.path, "",
                    f"{lost} @Test annotation(s) removed",
                )
            )
        was_there = {t.strip() for _, t in f.removed}
        for line_no, text in f.added:
            if (m := _SKIP_MARKERS.search(text)) and text.strip() not in was_there:
                out.append(
                    RuleFinding(
                        "deleted_or_disabled_tests", f.path, f"+{line_no}",
                        f"test disabled or narrowed with {m.group(0).strip()!r}",
                    )
                )
    return out


# --- CI configuration --------------------------------------------------------------------

_CI_PATHS = re.compile(
    r"^\.github/(workflows|actions)/|(^|/)\.gitlab-ci\.ya?ml$|(^|/)Jenkinsfile[^/]*$"
    r"|(^|/)bitrise\.ya?ml$|^\.circleci/|(^|/)azure-pipelines[^/]*\.ya?ml$|(^|/)\.travis\.yml$"
    r"|(^|/)codemagic\.ya?ml$|^\.buildkite/|(^|/)appveyor\.ya?ml$|(^|/)\.drone\.ya?ml$"
    r"|(^|/)fastlane/(Fastfile|Appfile)$|^\.ci/|(^|/)cloudbuild\.ya?ml$|^honk\.toml$"
)


def _ci_findings(files: Sequence[FileDiff]) -> list[RuleFinding]:
    out = []
    for f in files:
        for path in dict.fromkeys(p for p in (f.old_path, f.new_path) if p):
            if _CI_PATHS.search(path):
                what = "honk.toml (verifiers, gates)" if path == "honk.toml" else "CI configuration"
                out.append(RuleFinding("ci_config_changed", path, "", f"{what} changed"))
                break
    return out


# --- dependency manifests ----------------------------------------------------------------

_ANY_CHANGE_MANIFESTS = re.compile(
    r"(^|/)(requirements[^/]*\.(txt|in)|requirements/[^/]+\.(txt|in)|Pipfile(\.lock)?"
    r"|poetry\.lock|uv\.lock|setup\.py|setup\.cfg|Podfile(\.lock)?|Cartfile(\.resolved)?"
    r"|Package\.swift|Package\.resolved|Gemfile(\.lock)?|pubspec\.(yaml|lock)|go\.(mod|sum)"
    r"|Cargo\.(toml|lock)|libs\.versions\.toml|package-lock\.json|yarn\.lock|pnpm-lock\.yaml"
    r"|gradle\.lockfile)$"
)
_GRADLE = re.compile(r"(^|/)build\.gradle(\.kts)?$")
_GRADLE_DEP = re.compile(
    r"^\s*(implementation|api|compileOnly|runtimeOnly|kapt|ksp|annotationProcessor|classpath"
    r"|\w+Implementation|\w+Api|\w+CompileOnly|\w+RuntimeOnly)\s*[(\s'\"]"
)
_PACKAGE_JSON_DEP = re.compile(
    r"""^\s*"(?!version"|name"|node"|npm")(@?[\w.\-/]+)"\s*:\s*"(?:[\^~<>=]*\s*v?\d|latest"""
    r"""|\*|file:|git\+|github:|npm:|workspace:|https?:)"""
)
_PYPROJECT = re.compile(r"(^|/)pyproject\.toml$")
_PY_REQUIREMENT = re.compile(
    r"""^\s*["'][A-Za-z0-9][\w.\-]*(\[[^\]]*\])?\s*(==|>=|<=|~=|!=|===|>|<|@)"""
)
_TOML_DEP_ENTRY = re.compile(r"""^\s*(?![\w.\-]*version)[\w.\-]+\s*=\s*(["'][\^~<>=!]*\d|\{)""")
_QUOTED_NAME = re.compile(r"""^\s*["'][A-Za-z0-9]""")
_TOML_SECTION = re.compile(r"^\s*\[([^\]]+)\]\s*$|^\s*([\w.\-]+)\s*=\s*\[")


def _dependency_lines(f: FileDiff) -> list[tuple[int, str]]:
    """Added lines of a build.gradle, package.json or pyproject.toml that declare a dependency."""
    path = f.path
    if _GRADLE.search(path):
        return [(n, t) for n, t in f.added if _GRADLE_DEP.match(t)]
    if path == "package.json" or path.endswith("/package.json"):
        return [(n, t) for n, t in f.added if _PACKAGE_JSON_DEP.match(t)]
    if _PYPROJECT.search(path):
        found: list[tuple[int, str]] = []
        section = ""
        for tag, n, text in f.lines:
            if tag != "-" and (m := _TOML_SECTION.match(text)):
                section = (m.group(1) or m.group(2) or "").lower()
            if tag != "+":
                continue
            in_deps = "dependencies" in section or "requires" in section
            entry = _TOML_DEP_ENTRY.match(text) or _QUOTED_NAME.match(text)
            if _PY_REQUIREMENT.match(text) or (in_deps and entry):
                found.append((n, text))
        return found
    return []


def _dependency_findings(files: Sequence[FileDiff]) -> list[RuleFinding]:
    out = []
    for f in files:
        if _ANY_CHANGE_MANIFESTS.search(f.path) and (f.added or f.removed or f.deleted):
            out.append(RuleFinding("new_dependency", f.path, "", "dependency manifest changed"))
            continue
        lines = _dependency_lines(f)
        if lines:
            n, text = lines[0]
            more = f" (+{len(lines) - 1} more)" if len(lines) > 1 else ""
            out.append(
                RuleFinding(
                    "new_dependency", f.path, f"+{n}",
                    f"dependency declared: {text.strip()[:120]}{more}",
                )
            )
    return out


# --- secrets -----------------------------------------------------------------------------

_SECRETS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an Anthropic API key", re.compile(r"sk-ant-[A-Za-z0-9_\-]{16,}")),
    ("an API key (sk-...)", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{32,}")),
    ("an AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    (
        "an AWS secret access key",
        re.compile(r"(?i)aws_secret_access_key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+=]{40}"),
    ),
    ("a private key block", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")),
    ("a GitHub token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b|\bgithub_pat_\w{22,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    ("a Google API key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b")),
    ("a Stripe live key", re.compile(r"\b[rs]k_live_[0-9A-Za-z]{20,}")),
)


def _secret_findings(files: Sequence[FileDiff]) -> list[RuleFinding]:
    out = []
    for f in files:
        for line_no, text in f.added:
            for label, pattern in _SECRETS:
                if pattern.search(text):
                    out.append(
                        RuleFinding(
                            "secret_in_diff", f.path, f"+{line_no}",
                            f"added line looks like {label}",
                        )
                    )
                    break
    return out


def mask_secrets(text: str) -> str:
    """``text`` with everything that looks like a secret replaced by a marker naming its kind."""
    for label, pattern in _SECRETS:
        text = pattern.sub(f"[redacted: {label}]", text)
    return text


# --- all rules, and how they combine with the model --------------------------------------


def scan_diff(diff: str) -> tuple[RuleFinding, ...]:
    """Every finding of every rule on ``diff``, in flag order."""
    files = parse_diff(diff)
    findings = [
        *_test_findings(files),
        *_ci_findings(files),
        *_dependency_findings(files),
        *_secret_findings(files),
    ]
    return tuple(sorted(findings, key=lambda f: FLAGS.index(f.flag)))


# Flags that turn an approval into a veto. CI and dependency changes are often what was asked
# for ("bump the SDK", "fix the workflow"), so they are shown to the person, never blocking.
BLOCKING_FLAGS = ("deleted_or_disabled_tests", "secret_in_diff")

_TEST_CHANGE_VERBS = r"(remov|delet|drop|skip|disabl|ignor|quarantin|mute|xfail)\w*"
_TEST_WORD = r"(?:tests?\b|test_\w+|\w+Tests?\b|specs?\b)"
_TEST_CHANGE_REQUEST = re.compile(
    rf"\b{_TEST_CHANGE_VERBS}\b[^.\n]{{0,60}}\b{_TEST_WORD}"
    rf"|\b{_TEST_WORD}[^.\n]{{0,60}}\b{_TEST_CHANGE_VERBS}",
    re.IGNORECASE,
)


def request_allows_test_changes(request: str) -> bool:
    """Whether the request itself asks to remove or disable tests ("delete the flaky test")."""
    return _TEST_CHANGE_REQUEST.search(request) is not None


@dataclass(frozen=True)
class Combined:
    verdict: str
    summary: str
    reasons: tuple[JudgeReason, ...]
    flags: tuple[str, ...]
    rule_flags: tuple[str, ...]


def combine(
    *,
    model_verdict: str,
    summary: str,
    reasons: Iterable[JudgeReason],
    model_flags: Iterable[str],
    findings: Sequence[RuleFinding],
    request: str,
) -> Combined:
    """The final verdict from the model's and the rules'.

    Policy: a model veto always stands. A secret in added lines always vetoes. Deleted or
    disabled tests veto unless the request itself asks to remove or disable tests. CI and
    dependency findings are added to the flags and reasons but never veto on their own.
    Every rule finding is listed as a reason, marked ``[rule]``.
    """
    allows_tests = request_allows_test_changes(request)
    blocking = [
        f
        for f in findings
        if f.flag == "secret_in_diff"
        or (f.flag == "deleted_or_disabled_tests" and not allows_tests)
    ]
    rule_flags = tuple(flag for flag in FLAGS if any(f.flag == flag for f in findings))
    said = set(model_flags)
    flags = tuple(flag for flag in FLAGS if flag in rule_flags or flag in said)
    all_reasons = (*reasons, *(f.reason() for f in findings))
    verdict = model_verdict
    if model_verdict == "approve" and blocking:
        verdict = "veto"
        kinds = ", ".join(dict.fromkeys(f.flag.replace("_", " ") for f in blocking))
        summary = f"{summary} Vetoed by the deterministic checks: {kinds}.".strip()
    return Combined(verdict, summary, tuple(all_reasons), flags, rule_flags)
