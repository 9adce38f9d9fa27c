"""Token colours in a diff pane: small batches coloured as they go in; a whole big diff goes in
uncoloured, the lines in view are coloured at once and the rest between events."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QColor

from desktop.core.events import EditApplied
from desktop.ui.diff_pane import DiffPane, Line
from desktop.ui.diff_view import DiffView


def _lines(count: int) -> list[Line]:
    return [("add", f"{i + 1:>5} + ", f'val item{i} = compute("v", {i}) // note')
            for i in range(count)]


def _colours(pane: DiffPane, number: int) -> set[str]:
    """The token colours on line ``number`` (foreground names, gutter included)."""
    block = pane.document().findBlockByNumber(number)
    return {r.format.foreground().color().name() for r in block.layout().formats()
            if r.format.hasProperty(r.format.Property.ForegroundBrush)}


def _keyword(pane: DiffPane) -> str:
    colour: QColor = pane.colors["kw"]
    return colour.name()


def _pane(qtbot: Any, height: int = 300) -> DiffPane:
    pane = DiffPane(8)
    qtbot.addWidget(pane)
    pane.resize(700, height)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def test_a_small_batch_is_coloured_as_it_goes_in(qtbot: Any) -> None:
    pane = _pane(qtbot)
    pane.reset("app/Main.kt")
    pane.add_lines(_lines(50))
    assert not pane.colouring_pending()
    assert _keyword(pane) in _colours(pane, 0)
    assert _keyword(pane) in _colours(pane, 49)
    assert pane.colors["str"].name() in _colours(pane, 49)  # "v" is a string


def test_a_big_batch_colours_the_lines_in_view_at_once_and_the_rest_between_events(
    qtbot: Any,
) -> None:
    pane = _pane(qtbot)
    pane.reset("app/Main.kt")
    pane.add_lines(_lines(5000))
    assert pane.block_count() == 5000
    assert pane.colouring_pending()
    assert _keyword(pane) in _colours(pane, 0)  # in view: coloured before the first paint
    assert _keyword(pane) in _colours(pane, 5)
    assert _colours(pane, 4999) == set()  # far below: not yet
    qtbot.waitUntil(lambda: not pane.colouring_pending(), timeout=10_000)
    assert all(_keyword(pane) in _colours(pane, n) for n in (100, 2500, 4999))
    assert pane.toPlainText().split("\n")[4999].endswith('val item4999 = compute("v", 4999) // note')


def test_scrolling_while_colouring_colours_the_lines_scrolled_to_first(qtbot: Any) -> None:
    pane = _pane(qtbot)
    pane.add_lines(_lines(5000))
    pane.scroll_to_bottom()
    assert pane.colouring_pending()
    assert _keyword(pane) in _colours(pane, 4999)
    assert _colours(pane, 2500) == set()  # the middle waits for its turn
    qtbot.waitUntil(lambda: not pane.colouring_pending(), timeout=10_000)
    assert _keyword(pane) in _colours(pane, 2500)


def test_showing_another_file_while_colouring_stops_the_old_colouring(qtbot: Any) -> None:
    pane = _pane(qtbot)
    pane.add_lines(_lines(5000))
    assert pane.colouring_pending()
    pane.reset("app/Other.kt")
    assert not pane.colouring_pending()
    pane.add_lines(_lines(3))
    assert pane.block_count() == 3
    assert all(_keyword(pane) in _colours(pane, n) for n in range(3))


def test_a_5000_line_applied_diff_in_the_view_is_coloured_in_view_then_everywhere(
    qtbot: Any,
) -> None:
    view = DiffView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.show_change("c1")
    body = "".join(f'+val item{i} = "row {i}"\n' for i in range(5000))
    diff = (f"diff --git a/app/Big.kt b/app/Big.kt\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/app/Big.kt\n@@ -0,0 +1,5000 @@\n{body}")
    view.on_events([EditApplied(change="c1", tool_use_id="t1", command="create",
                                path="app/Big.kt", diff=diff, added=5000, removed=0)])
    pane = view.unified
    assert pane.block_count() >= 5000
    shown = pane.firstVisibleBlock().blockNumber()
    assert _keyword(pane) in _colours(pane, shown + 1)
    qtbot.waitUntil(lambda: not pane.colouring_pending(), timeout=10_000)
    assert _keyword(pane) in _colours(pane, pane.block_count() - 1)
    assert _keyword(pane) in _colours(pane, 1)
