"""The text editor tool: documented behaviour, error strings, and confinement to the worktree."""

from __future__ import annotations

import os
import stat
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from desktop.adapters.editor.tool import TOOL_NAME, TOOL_TYPE, EditorTool, ToolOutcome
from tests.helpers.gitrepo import (
    SECRET,
    BoxedWorktree,
    assert_same_tree,
    make_boxed_worktree,
    tree_snapshot,
)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A plain directory laid out like a small worktree (fast: no git needed)."""
    wt = tmp_path / "wt"
    (wt / "app").mkdir(parents=True)
    (wt / "app/greeting.py").write_text('G = "Hello"\n')
    (wt / "README.md").write_text("# sample\n")
    (wt / ".git").write_text("gitdir: /elsewhere\n")
    (wt / "in_link").symlink_to("app")
    (wt / "in_abs").symlink_to(wt / "app")
    (wt / "out").symlink_to(tmp_path)
    return wt


@pytest.fixture
def tool(root: Path) -> EditorTool:
    return EditorTool(root)


@pytest.fixture
def box(tmp_path: Path) -> BoxedWorktree:
    return make_boxed_worktree(tmp_path / "box")


def ok(outcome: ToolOutcome) -> ToolOutcome:
    assert not outcome.is_error, outcome.content
    return outcome


def err(outcome: ToolOutcome, fragment: str) -> ToolOutcome:
    assert outcome.is_error, outcome.content
    assert outcome.content.startswith("Error: ")
    assert fragment in outcome.content, outcome.content
    assert not outcome.changed
    return outcome


# ---- view -------------------------------------------------------------------------------------


def test_view_file_has_line_numbers(tool: EditorTool, root: Path) -> None:
    (root / "f.txt").write_text("alpha\nbeta\ngamma\n")
    out = ok(tool.run({"command": "view", "path": "f.txt"}))
    assert out.content == "1: alpha\n2: beta\n3: gamma"
    assert out.path == "f.txt" and not out.changed


def test_view_range(tool: EditorTool, root: Path) -> None:
    (root / "f.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    assert ok(tool.run({"command": "view", "path": "f.txt", "view_range": [3, 4]})).content == (
        "3: line 3\n4: line 4"
    )
    to_end = ok(tool.run({"command": "view", "path": "f.txt", "view_range": [9, -1]}))
    assert to_end.content == "9: line 9\n10: line 10"
    past_end = ok(tool.run({"command": "view", "path": "f.txt", "view_range": [10, 99]}))
    assert past_end.content == "10: line 10"


@pytest.mark.parametrize(
    ("view_range", "fragment"),
    [
        ([0, 2], "start 0 is out of range: f.txt has 3 lines"),
        ([4, 5], "start 4 is out of range"),
        ([3, 2], "end 2 is before its start 3"),
        ([1], "view_range must be two integers"),
        ("1-2", "view_range must be two integers"),
        ([True, 2], "view_range must be two integers"),
        ([1.5, 2], "view_range must be two integers"),
    ],
)
def test_view_range_errors(tool: EditorTool, root: Path, view_range: object, fragment: str) -> None:
    (root / "f.txt").write_text("a\nb\nc\n")
    err(tool.run({"command": "view", "path": "f.txt", "view_range": view_range}), fragment)


def test_view_directory_two_levels_without_hidden(tool: EditorTool, root: Path) -> None:
    (root / "app" / "deep" / "deeper").mkdir(parents=True)
    (root / "app" / "deep" / "deeper" / "too_deep.txt").write_text("x")
    (root / "app" / ".hidden").write_text("x")
    out = ok(tool.run({"command": "view", "path": "/repo"}))
    lines = out.content.splitlines()
    assert lines[0].startswith("Files and directories up to 2 levels deep in .")
    assert "app/" in lines and "app/greeting.py" in lines and "app/deep/" in lines
    assert "README.md" in lines and "out@" in lines  # links are listed, never followed
    assert not any("too_deep" in ln or ".git" in ln or ".hidden" in ln for ln in lines)
    sub = ok(tool.run({"command": "view", "path": "app"}))
    assert "app/deep/deeper/" in sub.content.splitlines() and sub.path == "app"
    err(tool.run({"command": "view", "path": "app", "view_range": [1, 2]}), "files only")


def test_view_directory_truncation_keeps_the_header(root: Path) -> None:
    for i in range(50):
        (root / f"file{i:02d}.txt").write_text("x")
    out = ok(EditorTool(root, max_characters=60).run({"command": "view", "path": "."}))
    head, *rest = out.content.splitlines()
    assert head == "Files and directories up to 2 levels deep in ., excluding hidden items:"
    assert rest[-1].startswith("[output truncated to 60 characters.") and len(rest) < 10


def test_view_empty_file(tool: EditorTool, root: Path) -> None:
    (root / "empty.txt").write_text("")
    assert ok(tool.run({"command": "view", "path": "empty.txt"})).content == "empty.txt is empty."


def test_view_missing_file(tool: EditorTool) -> None:
    out = err(tool.run({"command": "view", "path": "nope/missing.py"}), "File not found")
    assert "nope/missing.py" in out.content


def test_view_respects_max_characters(root: Path) -> None:
    (root / "big.txt").write_text("".join(f"{i:04d}\n" for i in range(1000)))
    tool = EditorTool(root, max_characters=100)
    out = ok(tool.run({"command": "view", "path": "big.txt"}))
    body, note = out.content.rsplit("\n", 1)
    assert len(body) <= 100 and body.endswith("12: 0011")  # whole lines only
    assert (
        note
        == "[output truncated to 100 characters. big.txt has 1000 lines; use view_range to see the rest.]"
    )
    assert tool.definition() == {"type": TOOL_TYPE, "name": TOOL_NAME, "max_characters": 100}
    assert EditorTool(root).definition() == {"type": TOOL_TYPE, "name": TOOL_NAME}


def test_view_refuses_non_utf8_and_binary(tool: EditorTool, root: Path) -> None:
    (root / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    err(tool.run({"command": "view", "path": "latin1.txt"}), "latin1.txt is not UTF-8 text")
    (root / "nul.bin").write_bytes(b"abc\x00def")
    err(tool.run({"command": "view", "path": "nul.bin"}), "not UTF-8 text")


def test_view_refuses_a_fifo_without_hanging(tool: EditorTool, root: Path) -> None:
    os.mkfifo(root / "pipe")
    err(tool.run({"command": "view", "path": "pipe"}), "pipe is not a regular file")


def test_view_refuses_huge_files(tool: EditorTool, root: Path) -> None:
    with open(root / "huge.txt", "wb") as f:
        f.truncate(9 * 1024 * 1024)
    err(tool.run({"command": "view", "path": "huge.txt"}), "the editor handles files up to")


@pytest.mark.parametrize("form", ["app/greeting.py", "./app/greeting.py", "/repo/app/greeting.py",
                                  "app//greeting.py", "app/./greeting.py", "in_link/greeting.py",
                                  "in_abs/greeting.py", "app/../app/greeting.py"])  # fmt: skip
def test_path_forms_that_name_the_same_file(tool: EditorTool, form: str) -> None:
    out = ok(tool.run({"command": "view", "path": form}))
    assert out.content == '1: G = "Hello"' and out.path == "app/greeting.py"


def test_absolute_paths_inside_the_worktree(root: Path, tmp_path: Path) -> None:
    via_link = tmp_path / "wt-link"
    via_link.symlink_to(root)
    tool = EditorTool(via_link)  # given through a link: both spellings of the root work
    for given in (via_link, root):
        assert ok(tool.run({"command": "view", "path": f"{given}/app/greeting.py"})).path == (
            "app/greeting.py"
        )


# ---- create -----------------------------------------------------------------------------------


def test_create_new_file_with_parent_dirs(tool: EditorTool, root: Path) -> None:
    out = ok(
        tool.run({"command": "create", "path": "/repo/src/ui/new.kt", "file_text": "fun x() {}\n"})
    )
    assert out.content == "File created successfully at: src/ui/new.kt"
    assert out.changed and out.path == "src/ui/new.kt"
    assert (root / "src/ui/new.kt").read_text() == "fun x() {}\n"
    assert not [p for p in root.rglob(".honk-edit-*")]  # no temp files left behind


def test_create_overwrites_and_keeps_the_mode(tool: EditorTool, root: Path) -> None:
    script = root / "run.sh"
    script.write_text("echo old\n")
    script.chmod(0o755)
    out = ok(tool.run({"command": "create", "path": "run.sh", "file_text": "echo new\n"}))
    assert out.content == "File overwritten successfully at: run.sh"
    assert script.read_text() == "echo new\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o755


def test_create_errors(tool: EditorTool, root: Path) -> None:
    err(tool.run({"command": "create", "path": "app", "file_text": "x"}), "app is a directory")
    err(tool.run({"command": "create", "path": "x.txt"}), "file_text is required")
    err(
        tool.run({"command": "create", "path": "x.txt", "file_text": 7}),
        "file_text must be a string",
    )
    err(tool.run({"command": "create", "path": "x.txt", "file_text": "\ud800"}), "lone surrogate")
    err(tool.run({"command": "create", "path": "in_link", "file_text": "x"}), "symbolic link")
    assert not (root / "x.txt").exists()
    assert (root / "in_link").is_symlink()


# ---- str_replace ------------------------------------------------------------------------------


def test_str_replace_unique_match(tool: EditorTool, root: Path) -> None:
    target = root / "app/greeting.py"
    target.chmod(0o640)
    out = ok(tool.run({"command": "str_replace", "path": "app/greeting.py",
                       "old_str": '"Hello"', "new_str": '"Hej"'}))  # fmt: skip
    assert out.content == "Successfully replaced text at exactly one location."
    assert out.changed and target.read_text() == 'G = "Hej"\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_str_replace_without_new_str_deletes(tool: EditorTool, root: Path) -> None:
    ok(tool.run({"command": "str_replace", "path": "README.md", "old_str": "# "}))
    assert (root / "README.md").read_text() == "sample\n"


@contextmanager
def _unchanged(path: Path) -> Iterator[None]:
    before = (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino)
    yield
    assert (path.read_bytes(), path.stat().st_mtime_ns, path.stat().st_ino) == before


@pytest.mark.parametrize(
    ("old_str", "message"),
    [
        ("Goodbye", "Error: No match found for replacement. Please check your text and try again."),
        ("o", "Error: Found 2 matches for replacement text. Please provide more context to make "
              "a unique match."),
        ("aa", "Error: Found 2 matches for replacement text."),  # overlapping in 'aaa'
    ],
)  # fmt: skip
def test_str_replace_zero_or_several_matches(
    tool: EditorTool, root: Path, old_str: str, message: str
) -> None:
    f = root / "f.txt"
    f.write_text("foo\naaa\n")
    with _unchanged(f):
        out = err(tool.run({"command": "str_replace", "path": "f.txt",
                            "old_str": old_str, "new_str": "X"}), message)  # fmt: skip
    assert out.path == "f.txt"


def test_str_replace_input_errors(tool: EditorTool, root: Path) -> None:
    err(
        tool.run({"command": "str_replace", "path": "README.md", "old_str": ""}),
        "must not be empty",
    )
    err(tool.run({"command": "str_replace", "path": "README.md"}), "old_str is required")
    err(tool.run({"command": "str_replace", "path": "README.md", "old_str": "#", "new_str": 3}),
        "new_str must be a string")  # fmt: skip
    err(tool.run({"command": "str_replace", "path": "nope.txt", "old_str": "x"}), "File not found")
    err(tool.run({"command": "str_replace", "path": "app", "old_str": "x"}), "is a directory")


def test_edits_refuse_non_utf8_files_and_leave_them_alone(tool: EditorTool, root: Path) -> None:
    f = root / "latin1.txt"
    f.write_bytes("café\n".encode("latin-1"))
    with _unchanged(f):
        err(
            tool.run({"command": "str_replace", "path": "latin1.txt", "old_str": "caf"}),
            "not UTF-8",
        )
        err(tool.run({"command": "insert", "path": "latin1.txt", "insert_line": 0,
                      "insert_text": "x"}), "not UTF-8")  # fmt: skip


# ---- insert -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "line", "text", "after"),
    [
        ("a\nb\n", 0, "top", "top\na\nb\n"),
        ("a\nb\n", 1, "mid\n", "a\nmid\nb\n"),
        ("a\nb\n", 2, "end", "a\nb\nend\n"),
        ("a\nb", 2, "end", "a\nb\nend\n"),  # no newline at the end of the file
        ("", 0, "first", "first\n"),
        ("a\r\nb\r\n", 1, "x", "a\r\nx\nb\r\n"),
    ],
)
def test_insert(
    tool: EditorTool, root: Path, before: str, line: int, text: str, after: str
) -> None:
    f = root / "f.txt"
    f.write_bytes(before.encode())
    out = ok(
        tool.run({"command": "insert", "path": "f.txt", "insert_line": line, "insert_text": text})
    )
    assert out.changed and out.content == f"Text inserted after line {line} of f.txt."
    assert f.read_bytes() == after.encode()


def test_insert_accepts_new_str_too(tool: EditorTool, root: Path) -> None:
    ok(tool.run({"command": "insert", "path": "README.md", "insert_line": 1, "new_str": "more"}))
    assert (root / "README.md").read_text() == "# sample\nmore\n"
    same = {"insert_text": "x", "new_str": "x"}
    ok(tool.run({"command": "insert", "path": "README.md", "insert_line": 0, **same}))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            {"insert_line": 5, "insert_text": "x"},
            "insert_line 5 is out of range: f.txt has 2 lines",
        ),
        ({"insert_line": -1, "insert_text": "x"}, "out of range"),
        ({"insert_line": "1", "insert_text": "x"}, "insert_line must be an integer"),
        ({"insert_line": True, "insert_text": "x"}, "insert_line must be an integer"),
        ({"insert_text": "x"}, "insert_line must be an integer"),
        ({"insert_line": 1}, "insert needs the text to insert in insert_text (or new_str)"),
        ({"insert_line": 1, "insert_text": "a", "new_str": "b"}, "different texts"),
        ({"insert_line": 1, "insert_text": ["a"]}, "insert_text must be a string"),
    ],
)
def test_insert_errors(
    tool: EditorTool, root: Path, args: dict[str, object], fragment: str
) -> None:
    f = root / "f.txt"
    f.write_text("a\nb\n")
    with _unchanged(f):
        err(tool.run({"command": "insert", "path": "f.txt", **args}), fragment)


# ---- commands and input shape -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_input", "fragment"),
    [
        ({"command": "undo_edit", "path": "README.md"}, "undo_edit is not available"),
        ({"command": "delete", "path": "README.md"}, "unknown command 'delete'"),
        ({"path": "README.md"}, "unknown command None"),
        ({"command": ["view"], "path": "README.md"}, "unknown command"),
        (["view", "README.md"], "the tool input must be a JSON object, got list"),
        ({"command": "view"}, "path must be a string, got NoneType"),
        ({"command": "view", "path": "  "}, "path is required"),
        ({"command": "view", "path": 12}, "path must be a string, got int"),
    ],
)
def test_bad_tool_input_is_a_readable_error(
    tool: EditorTool, tool_input: object, fragment: str
) -> None:
    err(tool.run(tool_input), fragment)  # type: ignore[arg-type]


# ---- confinement ------------------------------------------------------------------------------

HOSTILE_PATHS = {
    "absolute outside": ["/etc/passwd", "/repo/../secret.txt", "/repo/../../../secret.txt", "/",
                         "//etc/passwd", "/repository/x"],
    "dotdot": ["..", "../secret.txt", "../../secret.txt", "app/../../../secret.txt",
               "../../outside/victim.txt", "./../c1/../../secret.txt", "in_link/../../x"],
    "symlink out": ["out/victim.txt", "rel_out/victim.txt", "secret_link", "maingit/config",
                    "maingit/HEAD", "out", "dangling_out", "dangling_out/x"],
    "loop": ["loop_a", "loop_b/x", "self_loop", "self_loop/x"],
    ".git": [".git", ".git/config", ".GIT", ".Git/HEAD", "app/../.git", ".git.", ".git ",
             "git~1", "gitdir_link", "gitdir_link/x", "app/.git/x"],
    "nul": ["app/\x00x", "\x00", "README.md\x00.txt"],
    "long": ["a" * 300, "a/" * 2100 + "x", "é" * 200],
    "look-alike": ["．．／secret.txt", "．．/secret.txt", "\u2024\u2024/secret.txt", ".ｇｉｔ/config",
                   "．ＧＩＴ", "﹒git", ".g\u200bit/config", "\u202egit.", "..\\secret.txt"],
}  # fmt: skip
CASES = [(cat, p) for cat, paths in HOSTILE_PATHS.items() for p in paths]


def _commands(path: object) -> list[dict[str, object]]:
    return [
        {"command": "view", "path": path},
        {"command": "view", "path": path, "view_range": [1, -1]},
        {"command": "create", "path": path, "file_text": "PWNED\n"},
        {"command": "str_replace", "path": path, "old_str": "TARGET", "new_str": "PWNED"},
        {"command": "str_replace", "path": path, "old_str": SECRET, "new_str": "PWNED"},
        {"command": "insert", "path": path, "insert_line": 0, "insert_text": "PWNED"},
    ]


@pytest.mark.parametrize(("category", "path"), CASES, ids=[f"{c}:{p[:20]!r}" for c, p in CASES])
def test_hostile_paths_are_refused_and_touch_nothing(
    shared_box: BoxedWorktree, category: str, path: str
) -> None:
    box, tool = shared_box, EditorTool(shared_box.root)
    before = tree_snapshot(box.base, box.root)
    inside_before = sorted(p.name for p in box.root.iterdir())
    for tool_input in _commands(path):
        out = tool.run(tool_input)
        assert out.is_error, f"{category} {path!r} {tool_input['command']}: {out.content}"
        assert SECRET not in out.content and "TARGET" not in out.content
        assert not out.changed
    assert_same_tree(before, tree_snapshot(box.base, box.root))
    assert sorted(p.name for p in box.root.iterdir()) == inside_before


@pytest.mark.parametrize("bad", [None, 3, 1.5, ["a"], {"p": 1}, b"README.md"])
def test_non_string_paths_are_refused(shared_box: BoxedWorktree, bad: object) -> None:
    box, tool = shared_box, EditorTool(shared_box.root)
    before = tree_snapshot(box.base, box.root)
    for tool_input in _commands(bad):
        err(tool.run(tool_input), "path must be a string")
    assert_same_tree(before, tree_snapshot(box.base, box.root))


def test_error_messages_name_the_problem(shared_box: BoxedWorktree) -> None:
    tool = EditorTool(shared_box.root)
    err(tool.run({"command": "view", "path": "/etc/passwd"}), "is outside the worktree. Use a path")
    err(tool.run({"command": "view", "path": "../x"}), "escapes the worktree")
    err(
        tool.run({"command": "view", "path": "out/x"}), "out is a symbolic link that points outside"
    )
    err(tool.run({"command": "view", "path": "loop_a"}), "too many symbolic links (a loop?)")
    err(tool.run({"command": "view", "path": ".git/config"}), ".git directory is off limits")
    err(tool.run({"command": "view", "path": "a\x00"}), "NUL byte")
    err(tool.run({"command": "view", "path": "a" * 300}), "longer than 255 bytes")
    err(tool.run({"command": "view", "path": "．．/x"}), "imitates a path separator or '..'")


def test_a_directory_swapped_for_a_symlink_between_calls(box: BoxedWorktree) -> None:
    tool = EditorTool(box.root)
    sub = box.root / "sub"
    sub.mkdir()
    (sub / "victim.txt").write_text("TARGET line\n")
    ok(tool.run({"command": "view", "path": "sub/victim.txt"}))
    before = tree_snapshot(box.base, box.root)
    sub.rename(box.root / "sub-moved")
    sub.symlink_to(box.outside)  # same name, now leading out
    for tool_input in _commands("sub/victim.txt") + _commands("sub/new.txt"):
        out = tool.run(tool_input)
        assert out.is_error and SECRET not in out.content
    assert_same_tree(before, tree_snapshot(box.base, box.root))


def test_a_directory_flipping_to_a_symlink_during_calls(box: BoxedWorktree) -> None:
    """A second thread keeps swapping ``sub`` between a real directory and a link to outside
    while edits run: no write may ever land outside and no secret may ever be read."""
    tool = EditorTool(box.root)
    sub, real = box.root / "sub", box.root / "sub-real"
    sub.mkdir()
    (sub / "victim.txt").write_text("TARGET line\n")
    before = tree_snapshot(box.base, box.root)
    stop = threading.Event()

    def flip() -> None:
        while not stop.is_set():
            with suppress(OSError):
                os.rename(sub, real)
                os.symlink(box.outside, sub)
                time.sleep(0.0003)
                os.unlink(sub)
                os.rename(real, sub)
                time.sleep(0.0003)

    seen: Counter[str] = Counter()
    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        for i in range(3000):
            for tool_input in (
                {"command": "insert", "path": "sub/victim.txt", "insert_line": 0, "insert_text": f"{i}"},
                {"command": "view", "path": "sub/victim.txt"},
                {"command": "str_replace", "path": "sub/victim.txt", "old_str": "TARGET", "new_str": "T"},
            ):  # fmt: skip
                out = tool.run(tool_input)
                assert SECRET not in out.content
                seen[
                    "refused"
                    if "symbolic link" in out.content
                    else "ok"
                    if not out.is_error
                    else "other"
                ] += 1
            if i >= 200 and seen["ok"] and seen["refused"]:
                break
    finally:
        stop.set()
        flipper.join()
    assert seen["ok"] and seen["refused"], seen  # both sides of the race were exercised
    assert_same_tree(before, tree_snapshot(box.base, box.root))
