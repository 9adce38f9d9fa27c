"""The one table of actions: menus, toolbar, command palette and cheat sheet all read it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, QObject, Qt
from PySide6.QtGui import QAction, QKeySequence

from desktop.ui.icons import icon

__all__ = ["ACTIONS", "ActionSpec", "build_actions", "spec"]


def _tr(text: str) -> str:
    return QCoreApplication.translate("actions", text)


@dataclass(frozen=True)
class ActionSpec:
    """One user action: stable id, label, shortcuts (first is shown), icon, menu group."""

    id: str
    label: str
    shortcuts: tuple[str, ...]
    icon: str = ""
    group: str = "change"
    tip: str = ""


# Single-letter shortcuts (n, p, ], [) are swallowed by text fields while typing, so they
# act only when focus is outside an editor, as in review tools.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("new_request", "New request", ("Ctrl+N",), "new", "file",
               "Start a new request"),
    ActionSpec("send", "Send", ("Ctrl+Return", "Ctrl+Enter"), "send", "change",
               "Send the request, or the follow-up of the selected change"),
    ActionSpec("cancel", "Cancel change", ("Esc", "Ctrl+."), "cancel", "change",
               "Cancel the selected running or queued change"),
    ActionSpec("next_change", "Next change", ("Ctrl+Down", "Alt+Down"), "", "go"),
    ActionSpec("prev_change", "Previous change", ("Ctrl+Up", "Alt+Up"), "", "go"),
    ActionSpec("next_file", "Next file", ("N",), "", "go"),
    ActionSpec("prev_file", "Previous file", ("P",), "", "go"),
    ActionSpec("next_hunk", "Next hunk", ("]",), "", "go"),
    ActionSpec("prev_hunk", "Previous hunk", ("[",), "", "go"),
    ActionSpec("toggle_diff_mode", "Toggle unified / side by side", ("Ctrl+Shift+D",),
               "split", "view"),
    ActionSpec("approve", "Approve…", ("Ctrl+Shift+A",), "approve", "change",
               "Approve the verified commit for merging"),
    ActionSpec("reject", "Reject…", ("Ctrl+Shift+Backspace",), "reject", "change",
               "Discard the change's worktree and branch"),
    ActionSpec("install", "Install on device", ("Ctrl+I",), "install", "change"),
    ActionSpec("phone_screen", "Screenshot the phone", ("Ctrl+Shift+S",), "phone", "view",
               "Show what the test device's screen shows now"),
    ActionSpec("open_worktree", "Open worktree in file manager", ("Ctrl+Shift+O",),
               "folder", "change"),
    ActionSpec("focus_filter", "Filter changes", ("Ctrl+F",), "", "go"),
    ActionSpec("command_palette", "Command palette…", ("Ctrl+K", "Ctrl+Shift+P"), "palette",
               "view"),
    ActionSpec("cheat_sheet", "Keyboard shortcuts", ("Ctrl+/",), "keyboard", "view"),
    ActionSpec("settings", "Settings…", ("Ctrl+,",), "settings", "file"),
    ActionSpec("quit", "Quit", ("Ctrl+Q",), "", "file"),
)

_BY_ID = {a.id: a for a in ACTIONS}


def spec(action_id: str) -> ActionSpec:
    """The table row for ``action_id`` (KeyError names the id)."""
    return _BY_ID[action_id]


def build_actions(
    parent: QObject, handlers: Mapping[str, Callable[[], object]]
) -> dict[str, QAction]:
    """One QAction per table row, wired to ``handlers[id]``. Every row must have a handler."""
    missing = [a.id for a in ACTIONS if a.id not in handlers]
    if missing:
        raise ValueError(f"no handler for actions: {', '.join(missing)}")
    out: dict[str, QAction] = {}
    for row in ACTIONS:
        action = QAction(_tr(row.label), parent)
        action.setObjectName(f"action_{row.id}")
        action.setShortcuts([QKeySequence(s) for s in row.shortcuts])
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if row.icon:
            action.setIcon(icon(row.icon))
        tip = _tr(row.tip) if row.tip else action.text()
        action.setToolTip(f"{tip} ({QKeySequence(row.shortcuts[0]).toString(QKeySequence.SequenceFormat.NativeText)})")
        action.setStatusTip(tip)
        handler = handlers[row.id]
        action.triggered.connect(lambda _checked=False, h=handler: h())
        out[row.id] = action
    return out
