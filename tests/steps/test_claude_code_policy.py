"""The gate Claude Code asks before every tool call: Honk's tools only, paths inside the
worktree only (links followed by the editor's own confinement, ``.git`` off limits)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from desktop.adapters.claude_code.session import VERIFY_TOOL
from desktop.steps.claude_code_policy import WorktreeGate


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A worktree with a file, a directory, links that stay in and links that point out."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret\n")
    root = tmp_path / "wt"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("x = 1\n")
    (root / ".git").write_text("gitdir: elsewhere\n")
    os.symlink(outside / "secret.txt", root / "secret-link")
    os.symlink(outside, root / "outside-dir")
    os.symlink("app/main.py", root / "inner-link")
    os.symlink(root / "app", root / "abs-inner-dir")
    return root


def test_honks_tools_on_paths_inside_are_allowed(tree: Path) -> None:
    gate = WorktreeGate(tree)
    main = str(tree / "app" / "main.py")
    for tool, tool_input in [
        ("Read", {"file_path": main}),
        ("Read", {"file_path": "app/main.py"}),
        ("Read", {"file_path": str(tree / "inner-link")}),  # a link that stays inside
        ("Read", {"file_path": str(tree / "abs-inner-dir" / "main.py")}),
        ("Edit", {"file_path": main, "old_string": "1", "new_string": "2"}),
        ("Write", {"file_path": str(tree / "app" / "new.py"), "content": ""}),
        ("Write", {"file_path": str(tree / "new" / "deeper" / "file.py"), "content": ""}),
        ("Glob", {"pattern": "**/*.py"}),
        ("Glob", {"pattern": f"{tree}/app/*.py", "path": str(tree / "app")}),
        ("Grep", {"pattern": "x", "path": str(tree), "glob": "*.py"}),
        (VERIFY_TOOL, {}),
    ]:
        assert gate.refusal(tool, tool_input) is None, (tool, tool_input)


def test_the_worktrees_real_path_counts_as_inside(tmp_path: Path, tree: Path) -> None:
    alias = tmp_path / "alias"
    os.symlink(tree, alias)
    gate = WorktreeGate(alias)
    assert gate.refusal("Read", {"file_path": str(tree / "app" / "main.py")}) is None
    assert gate.refusal("Read", {"file_path": str(alias / "app" / "main.py")}) is None


@pytest.mark.parametrize(("tool", "tool_input", "says"), [
    ("Read", {"file_path": "/etc/passwd"}, "outside the worktree"),
    ("Read", {"file_path": "../outside/secret.txt"}, "escapes the worktree"),
    ("Write", {"file_path": "../new.txt", "content": "x"}, "escapes the worktree"),
    ("Read", {"file_path": "secret-link"}, "points outside the worktree"),
    ("Write", {"file_path": "outside-dir/new.txt", "content": "x"}, "points outside"),
    ("Edit", {"file_path": "inner-link", "old_string": "1", "new_string": "2"},
     "does not write through links"),
    ("Write", {"file_path": "missing/../../new.txt", "content": "x"}, "climbs with '..'"),
    ("Read", {"file_path": ".git/config"}, ".git directory is off limits"),
    ("Write", {"file_path": ".GIT/hooks/pre-commit", "content": "x"}, "off limits"),
    ("Read", {"file_path": "app/\u202emain.py"}, "control or invisible characters"),
    ("Read", {"file_path": 7}, "must be a path inside the worktree"),
    ("Read", {}, "must be a path inside the worktree"),
    ("Grep", {"pattern": "x", "path": "/"}, "outside the worktree"),
    ("Glob", {"pattern": "../**/*"}, "reaches outside the worktree"),
    ("Glob", {"pattern": "/etc/*"}, "reaches outside the worktree"),
    ("Grep", {"pattern": "x", "glob": "../*"}, "reaches outside the worktree"),
])
def test_paths_that_leave_the_worktree_are_refused_with_a_reason(
        tree: Path, tool: str, tool_input: dict[str, object], says: str) -> None:
    refusal = WorktreeGate(tree).refusal(tool, tool_input)
    assert refusal is not None and refusal.startswith(f"Honk refused {tool}: ")
    assert says in refusal, refusal


@pytest.mark.parametrize("tool", ["Bash", "WebFetch", "Agent", "NotebookEdit", "Skill",
                                  "mcp__other__tool", "run_verifiers"])
def test_any_other_tool_is_refused(tree: Path, tool: str) -> None:
    refusal = WorktreeGate(tree).refusal(tool, {"command": "rm -rf /"})
    assert refusal is not None
    assert refusal.startswith(f"Honk refused {tool}: in this change you may use only Read, "
                              "Edit, Write, Glob, Grep and run_verifiers")


def test_relative_names_a_path_by_its_spelling_for_previews(tree: Path) -> None:
    gate = WorktreeGate(tree)
    assert gate.relative(str(tree / "app" / "main.py")) == "app/main.py"
    assert gate.relative("app/./main.py") == "app/main.py"
    assert gate.relative(str(tree)) == "."
    assert gate.relative(str(tree.parent / "outside" / "secret.txt")) is None
    assert gate.relative("../x") is None
    assert gate.relative("app/../../x") is None
