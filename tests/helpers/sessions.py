"""The scripted agent's usual sessions on the sample repo (``repo`` in tests/helpers/gitrepo.py,
whose app/greeting.py says ``GREETING = "Hello"``): make the greeting Swedish.

Pure data, no server: hand the turns to the ``scripted`` fixture (tests/helpers/scripted_api.py)
or to a ``ScriptedMessagesAPI`` of a test's own. A test that needs another edit spells it out.
"""

from __future__ import annotations

from typing import Any

from desktop.sim.messages_script import Turn, edit_turn, text_turn

__all__ = ["GREETING_FILE", "SWEDISH_GREETING", "doubled_follow_up", "swedish_edit",
           "swedish_session"]

GREETING_FILE = "app/greeting.py"
# What app/greeting.py holds once the Swedish edit landed.
SWEDISH_GREETING = 'GREETING = "Hej"\n'


def swedish_edit(**knobs: Any) -> Turn:
    """The agent's one edit: ``"Hello"`` becomes ``"Hej"`` in app/greeting.py. ``knobs`` go to
    the turn (``chunk_chars``, ``delay_s``, ``cut_after_events``, ``text`` ...)."""
    return edit_turn(GREETING_FILE, '"Hello"', '"Hej"', **knobs)


def swedish_session() -> list[Turn]:
    """One change's agent session: the Swedish edit, then "Done." (which ends the turn)."""
    return [swedish_edit(), text_turn("Done.")]


def doubled_follow_up() -> list[Turn]:
    """A second session on the same change (a revision): ``"Hej"`` becomes ``"Hej hej"``."""
    return [edit_turn(GREETING_FILE, '"Hej"', '"Hej hej"'), text_turn("Doubled.")]
