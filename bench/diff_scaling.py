"""Diff scaling: does the live diff stay linear as a file and an edit grow?

    python -m bench.diff_scaling [--quick] [--json FILE]

In the real DiffView, shown offscreen in a 1280x800 window, medians of ``--reps``:
1. re-render: an applied diff of 1k, 10k and 100k added lines lands (EditApplied) and the
   view rebuilds and paints it. Beyond ``LARGE_DIFF_LINES`` the view shows a summary
   instead, so the exponent is fitted on the sizes it renders line by line, and the pane
   alone (DiffPane.add_lines + paint) is also timed up to 100k lines.
2. preview: one streamed ``create`` of 64 KB .. 1 MB (256 KB with --quick), as the agent
   sees it: JSON fragments of 24 characters through the incremental parser, each string
   piece an EditPreview into the view (with the Qt loop run every 50 deltas, as the bridge
   batches per frame), on a fresh view and on one already showing a 100k-line diff of the
   file. The parser alone is the floor. Exponents: 1.0 is linear, 2.0 quadratic.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import Figure, fit_exponent, median, write_figures

CHUNK = 24
FILE = "app/src/main/java/com/example/player/Big.kt"


def diff_text(lines: int) -> str:
    """A git diff creating a file of ``lines`` lines, the longest kind a view must render."""
    body = "".join(f'+    val item{i} = compute({i}, "row {i}") // generated\n'
                   for i in range(lines))
    return (f"diff --git a/{FILE} b/{FILE}\nnew file mode 100644\n--- /dev/null\n"
            f"+++ b/{FILE}\n@@ -0,0 +1,{lines} @@\n{body}")


def edit_json(size: int) -> str:
    """The tool input of a ``create`` whose file_text is about ``size`` characters."""
    line = '    val title = stringResource(R.string.player_title) // "keep it visible"\n'
    return json.dumps({"command": "create", "path": FILE,
                       "file_text": line * max(1, size // len(line))})


def _timed(fn: Callable[[], object], reps: int) -> float:
    runs = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return median(runs)


def run(quick: bool, reps: int) -> tuple[list[Figure], dict[str, Any]]:
    from PySide6.QtWidgets import QApplication, QMainWindow

    from desktop.core.events import EditApplied, EditPreview, EditRejected
    from desktop.core.partial_json import PartialObjectParser
    from desktop.ui.diff_model import LARGE_DIFF_LINES
    from desktop.ui.diff_pane import DiffPane
    from desktop.ui.diff_view import DiffView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    win = QMainWindow()
    view = DiffView()
    win.setCentralWidget(view)
    win.resize(1280, 800)
    win.show()
    app.processEvents()
    view.show_change("c")
    seq = 0

    def land(lines: int) -> Callable[[], None]:
        diff = diff_text(lines)

        def go() -> None:
            nonlocal seq
            seq += 1
            view.on_events([EditApplied(change="c", tool_use_id=f"t{seq}", command="create",
                                        path=FILE, diff=diff, added=lines, removed=0)])
            app.processEvents()
            view.repaint()  # a synchronous paint of everything visible
        return go

    fig: list[Figure] = []
    extra: dict[str, Any] = {}
    shown = [1_000, 10_000, 100_000]
    # Just under the cut-off: the header lines count too, and at the cut-off it summarizes.
    fitted = sorted({min(n, LARGE_DIFF_LINES - 100) for n in (1_000, 2_000, 5_000, 10_000,
                                                               LARGE_DIFF_LINES)})
    times = {n: _timed(land(n), reps) for n in sorted(set(shown + fitted))}
    blocks = {}
    for n in shown:
        land(n)()
        blocks[n] = view.unified.block_count()
    exponent = fit_exponent(fitted, [times[n] for n in fitted])
    for n in shown:
        summarized = blocks[n] < n
        fig.append(Figure("diff_scaling", f"re-render applied diff, {n:,} lines",
                          times[n] * 1000, "ms",
                          note=(f"summarized (> {LARGE_DIFF_LINES:,} lines): {blocks[n]} block"
                                if summarized else f"{blocks[n]:,} blocks rendered")))
    per_line = [times[n] / n * 1e6 for n in fitted]
    fig.append(Figure("diff_scaling", "view re-render exponent", exponent, "",
                      goal="~1 (< 1.15)", ok=exponent < 1.15,
                      note=f"fitted on {', '.join(f'{n:,}' for n in fitted)} lines; "
                           f"{per_line[0]:.1f} -> {per_line[-1]:.1f} us/line"))
    extra["rerender_s"] = times

    # The pane alone, past the summary cut-off.
    pane = DiffPane(14)
    pane.resize(1000, 700)
    pane.show()
    pane_sizes = [1_000, 10_000, 100_000] if not quick else [1_000, 10_000, 30_000]
    rows = {n: [("add", f"{'':>5} {i:>5} + ", f"    val item{i} = compute({i})")
                for i in range(n)] for n in pane_sizes}

    def pane_render(n: int) -> Callable[[], None]:
        def go() -> None:
            pane.reset(FILE)
            pane.add_lines(rows[n])
            app.processEvents()
            pane.repaint()
        return go

    pane_t = [_timed(pane_render(n), reps) for n in pane_sizes]
    pane_exp = fit_exponent(pane_sizes, pane_t)
    fig.append(Figure("diff_scaling", f"pane alone, {pane_sizes[-1]:,} lines",
                      pane_t[-1] * 1000, "ms", note="DiffPane.add_lines + paint, no summary"))
    fig.append(Figure("diff_scaling", "pane alone exponent", pane_exp, "", goal="~1 (< 1.15)",
                      ok=pane_exp < 1.15,
                      note=f"fitted on {', '.join(f'{n:,}' for n in pane_sizes)} lines"))
    pane.reset(FILE)  # stops its background colouring of the 100,000 lines
    pane.close()
    pane.deleteLater()

    def finish_colouring() -> None:
        """Run the view's background colouring to its end (see DiffPane: long batches go in
        uncoloured and are coloured in slices between events)."""
        deadline = time.perf_counter() + 30
        while any(p.colouring_pending() for p in (view.unified, view.left, view.right)):
            if time.perf_counter() > deadline:
                raise RuntimeError("the diff view is still colouring after 30 s")
            app.processEvents()

    # Colouring left over from the phases above is not the previews' cost: without this it
    # ran inside the first previews timed below (64 KB "fresh" read ~350 ms, alone ~20).
    finish_colouring()

    # One edit's preview growing to 1 MB: parser alone (floor) vs parser + view.
    sizes = [65_536, 131_072, 262_144, 524_288, 1_048_576]
    if quick:
        sizes = sizes[:3]
    frags = {n: [t[i:i + CHUNK] for i in range(0, len(t), CHUNK)]
             for n in sizes for t in (edit_json(n),)}

    def parse_only(n: int) -> Callable[[], None]:
        def go() -> None:
            parser = PartialObjectParser()
            for f in frags[n]:
                parser.feed(f)
        return go

    def preview(n: int, change: str) -> Callable[[], None]:
        def go() -> None:
            nonlocal seq
            seq += 1
            tool = f"p{seq}"
            parser = PartialObjectParser()
            batch: list[Any] = []
            for f in frags[n]:
                for piece in parser.feed(f):
                    if piece.key == "file_text":
                        batch.append(EditPreview(change=change, tool_use_id=tool,
                                                 command="create", path=FILE,
                                                 field="file_text", delta=piece.text))
                if len(batch) >= 50:
                    view.on_events(batch)
                    batch = []
                    app.processEvents()
            view.on_events(batch)
            # All of the preview's cost: the text still held for the next grow tick (up to
            # GROW_MS of it; most of a 64 KB edit, fed this fast) and any colouring left.
            view.flush()
            app.processEvents()
            view.repaint()
            finish_colouring()
            # Every real preview ends when its edit lands or is refused; end this one too, so
            # repetitions do not pile previews on the same file.
            view.on_events([EditRejected(change=change, tool_use_id=tool, command="create",
                                         path=FILE, error="bench: discarded")])
        return go

    # Fresh: the file has no diff yet. Over a large diff: the view already shows the file's
    # 100k-line diff (summarized) when the create starts streaming into it.
    big = diff_text(100_000)
    view.on_events([EditApplied(change="big", tool_use_id="big", command="create", path=FILE,
                                diff=big, added=100_000, removed=0)])
    cases = {"fresh view": "fresh", "over 100k-line diff": "big"}
    p_reps = max(1, reps // 2)
    floor_t = [_timed(parse_only(n), p_reps) for n in sizes]
    parse_exp = fit_exponent(sizes, floor_t)
    top = sizes[-1]
    deltas = len(frags[top])  # one EditPreview per JSON fragment, give or take
    for case, change in cases.items():
        view.show_change(change)  # follows the newest edit, as a person watching would
        app.processEvents()
        view_t = [_timed(preview(n, change), p_reps) for n in sizes]
        view_exp = fit_exponent(sizes, view_t)
        per_delta = (view_t[-1] - floor_t[-1]) / deltas * 1e6
        fig.append(Figure("diff_scaling", f"preview {top // 1024:,} KB, {case}",
                          view_t[-1] * 1000, "ms", floor_t[-1] * 1000,
                          note=f"{deltas:,} deltas, {per_delta:.0f} us/delta over the floor "
                               f"(the partial-JSON parser alone)"))
        fig.append(Figure("diff_scaling", f"preview exponent, {case}", view_exp, "",
                          goal="~1 (< 1.15)", ok=view_exp < 1.15,
                          note=f"fitted on {', '.join(f'{n // 1024}' for n in sizes)} KB; "
                               f"parser alone {parse_exp:.2f}"))
        extra[f"preview_s[{case}]"] = dict(zip(sizes, view_t, strict=True))
    extra.update({"pane_s": dict(zip(pane_sizes, pane_t, strict=True)),
                  "parser_s": dict(zip(sizes, floor_t, strict=True))})
    win.close()
    return fig, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.diff_scaling",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=5, help="repetitions per size (median)")
    parser.add_argument("--quick", action="store_true", help="fewer reps, smaller sizes")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from desktop.ui.pyside_fix import protect_none

    protect_none()  # PySide6 6.12 on 3.11 loses a ref to None per void call; see the module
    figures, extra = run(args.quick, 2 if args.quick else args.reps)
    for f in figures:
        ratio = f" ({f.ratio:.2f}x floor {f.floor:.1f})" if f.ratio and f.floor else ""
        print(f"{f.name:<40} {f.value:>10.3f} {f.unit}{ratio}  {f.note}")
    write_figures(args.json, "diff_scaling", figures, extra)
    return 0


if __name__ == "__main__":
    sys.exit(main())
