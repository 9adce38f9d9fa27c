"""Property tests: hostile tool calls never reach outside the worktree or into .git.

Paths are generated from ``..`` chains, absolute paths, symlinks inside that point out, link
loops, ``.git`` internals, NUL bytes, very long names, unicode look-alikes and case tricks,
mixed with ordinary names and random text. After every example the tree outside the worktree
(the main checkout and its .git, the bare remote, a secret file, an outside directory) must be
byte-for-byte what it was, the secret must never appear in any outcome, and any path that an
OS-level ``realpath`` places outside the worktree (or in .git) must have been a tool error.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from desktop.adapters.editor.tool import EditorTool, ToolOutcome
from tests.helpers.gitrepo import SECRET, BoxedWorktree, assert_same_tree, tree_snapshot

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)

ROOT, BASE = "\x01ROOT\x01", "\x01BASE\x01"  # placeholders: the real paths are per-run

NAMES = [
    "..", ".", "", "app", "greeting.py", "README.md", "new", "f.txt",
    "out", "rel_out", "secret_link", "maingit", "gitdir_link", "dangling_out",
    "loop_a", "loop_b", "self_loop", "in_link", "in_abs",
    ".git", ".GIT", ".Git", ".git.", "git~1", "HEAD", "config", "hooks", "worktrees",
    "secret.txt", "outside", "victim.txt", "wts", "c1", "git", "remote.git", "repo",
    "．．", "．", "／", "\u2024\u2024", "﹒﹒", ".ｇｉｔ", "．ＧＩＴ", ".g\u200bit", "\u2215",
    "..\\..", "a\x00b", "x" * 256, "é" * 130, "~", "-rf", " ",
]  # fmt: skip
PREFIXES = ["", "/", "//", "./", "../", "../../", "/repo", "/repo/", "/repo/../",
            f"{ROOT}/", f"{BASE}/", f"{ROOT}/../", "/etc/", "/proc/self/root/"]  # fmt: skip

component = st.one_of(st.sampled_from(NAMES), st.text(min_size=1, max_size=6))
paths = st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    st.sampled_from(PREFIXES),
    st.lists(component, max_size=6),
)
# Ordinary paths (some through inside links or harmless '..') so that successful edits are
# generated too, and the "a success stays inside" half of the check has work to do.
benign = st.builds(
    lambda prefix, rel: prefix + rel,
    st.sampled_from(["", "./", "/repo/", f"{ROOT}/"]),
    st.sampled_from(["app/greeting.py", "README.md", "in_link/greeting.py", "in_abs/greeting.py",
                     "new/f.txt", "f.txt", "app", ".", "app/../README.md", "in_link/../README.md",
                     "new/deeper/g.txt", "app/new.kt"]),
)  # fmt: skip
path_values = st.one_of(
    benign,
    paths,
    st.one_of(st.none(), st.integers(), st.binary(max_size=4), st.lists(paths, max_size=2)),
)
texts = st.one_of(
    st.sampled_from(["TARGET", "TARGET line\n", "G", '"Hello"', "sample", "", "x\n"]),
    st.text(max_size=12),
)
junk = st.one_of(st.none(), st.integers(-3, 5), st.booleans(), st.text(max_size=3), st.lists(st.integers(-2, 5), max_size=3))  # fmt: skip

commands = st.one_of(
    st.fixed_dictionaries({"command": st.just("view"), "path": path_values}, optional={"view_range": junk}),
    st.fixed_dictionaries({"command": st.just("create"), "path": path_values, "file_text": texts}),
    st.fixed_dictionaries(
        {"command": st.just("str_replace"), "path": path_values, "old_str": texts},
        optional={"new_str": texts},
    ),
    st.fixed_dictionaries(
        {"command": st.just("insert"), "path": path_values, "insert_line": st.integers(0, 2) | junk},
        optional={"insert_text": texts, "new_str": texts},
    ),
    st.fixed_dictionaries({"command": st.sampled_from(["undo_edit", "delete", "VIEW", None, 3]), "path": path_values}),
)  # fmt: skip


@pytest.fixture
def outside(shared_box: BoxedWorktree) -> Iterator[dict[str, tuple[object, ...]]]:
    """The outside tree by metadata (checked after every example) and, once the test is
    done, by content too."""
    box = shared_box
    full = tree_snapshot(box.base, box.root)
    yield tree_snapshot(box.base, box.root, content=False)
    assert_same_tree(full, tree_snapshot(box.base, box.root))


def _fill(value: object, box: BoxedWorktree) -> object:
    if isinstance(value, str):
        return value.replace(ROOT, str(box.root)).replace(BASE, str(box.base))
    if isinstance(value, dict):
        return {k: _fill(v, box) for k, v in value.items()}
    return value


def _inside(real: str, root: str) -> bool:
    return real == root or real.startswith(root + "/")


def _has_git(rel: str) -> bool:
    return any(
        unicodedata.normalize("NFKC", part).casefold().rstrip(". ") == ".git"
        for part in rel.split("/")
    )


def _must_be_refused(raw: str, root: str) -> bool:
    """The OS's own reading of the path: outside the worktree, or into .git, means refused."""
    if "\x00" in raw:
        return True
    if raw == "/repo" or raw.startswith("/repo/"):
        candidate = root + raw[len("/repo") :]
    elif raw.startswith("/"):
        candidate = raw
    else:
        candidate = f"{root}/{raw}"
    real = os.path.realpath(candidate)
    return not _inside(real, root) or _has_git(os.path.relpath(real, root))


def _check(box: BoxedWorktree, tool_input: dict[str, object], out: ToolOutcome) -> None:
    root = os.path.realpath(box.root)
    assert SECRET not in out.content, (tool_input, out)
    if out.is_error:
        assert out.content.startswith("Error: ") and not out.changed
    raw = tool_input.get("path")
    if isinstance(raw, str) and _must_be_refused(raw, root):
        assert out.is_error, (tool_input, out)
    if not out.is_error:
        assert out.path is not None
        assert _inside(os.path.realpath(os.path.join(root, out.path)), root), (tool_input, out)
        assert not _has_git(out.path), (tool_input, out)


@SETTINGS
@given(calls=st.lists(commands, min_size=1, max_size=4))
def test_random_calls_stay_in_the_box(
    shared_box: BoxedWorktree,
    outside: dict[str, tuple[object, ...]],
    calls: list[dict[str, object]],
) -> None:
    box = shared_box
    tool = EditorTool(box.root, max_characters=2000)
    for raw_input in calls:
        tool_input = _fill(raw_input, box)
        assert isinstance(tool_input, dict)
        out = tool.run(tool_input)
        event(f"{tool_input.get('command')}: {'error' if out.is_error else 'ok'}")
        _check(box, tool_input, out)
    assert_same_tree(outside, tree_snapshot(box.base, box.root, content=False))


# ---- paths that are always escapes -------------------------------------------------------------


def _case_mix(word: str, flips: list[bool]) -> str:
    return "".join(
        c.upper() if f else c for c, f in zip(word, flips + [False] * len(word), strict=False)
    )


def _fullwidth(word: str, flips: list[bool]) -> str:
    # U+FF01..U+FF5E mirror ASCII '!'..'~'; NFKC folds them back, which is the trick
    return "".join(
        chr(ord(c) + 0xFEE0) if f and "!" <= c <= "~" else c
        for c, f in zip(word, flips + [False] * len(word), strict=False)
    )


flips = st.lists(st.booleans(), max_size=6)
tails = st.lists(
    st.sampled_from(["x", "config", "HEAD", "victim.txt", "a b", "..", "."]), max_size=3
)
git_names = st.one_of(
    st.builds(_case_mix, st.just(".git"), flips),
    st.builds(_fullwidth, st.just(".git"), flips),
    st.sampled_from([".git.", ".git ", ".git..", "GIT~1", "gitdir_link", "maingit"]),
)
escapes = st.one_of(
    st.builds(lambda n, t: "../" * n + "/".join(t), st.integers(1, 12), tails),
    st.builds(lambda n, t: "app/" + "../" * n + "secret.txt", st.integers(2, 6), tails),
    st.builds(
        lambda p, t: "/".join([p, *t]),
        st.sampled_from(
            ["out", "rel_out", "secret_link", "loop_a", "self_loop", "dangling_out", "in_abs/../.."]
        ),
        tails,
    ),
    st.builds(lambda g, t: "/".join([g, *t]), git_names, tails),
    st.builds(
        lambda d, t: "/".join([d, *t]),
        st.sampled_from(["/etc", "/", "/tmp", "/repo/..", "/root", BASE]),
        tails,
    ),
    st.builds(lambda a, b: a + "\x00" + b, st.text(max_size=5), st.text(max_size=5)),
    st.builds(lambda n: "x" * n, st.integers(256, 5000)),
    st.builds(lambda d: "．．／" * d + "secret.txt", st.integers(1, 3)),
)


@SETTINGS
@given(path=escapes, command=st.sampled_from(["view", "create", "str_replace", "insert"]))
def test_escapes_are_always_tool_errors(
    shared_box: BoxedWorktree, outside: dict[str, tuple[object, ...]], path: str, command: str
) -> None:
    box = shared_box
    listing_before = sorted(p.name for p in Path(box.root).iterdir())
    tool_input = _fill(
        {"command": command, "path": path, "file_text": "PWNED", "old_str": "TARGET",
         "new_str": "PWNED", "insert_line": 0, "insert_text": "PWNED"},
        box,
    )  # fmt: skip
    assert isinstance(tool_input, dict)
    out = EditorTool(box.root).run(tool_input)
    assert out.is_error, (path, out)
    assert SECRET not in out.content and not out.changed
    assert_same_tree(outside, tree_snapshot(box.base, box.root, content=False))
    assert sorted(p.name for p in Path(box.root).iterdir()) == listing_before
