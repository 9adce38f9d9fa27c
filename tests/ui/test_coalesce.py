from __future__ import annotations

from desktop.core.events import AgentText, EditPreview
from desktop.ui.diff_view import coalesce_previews


def preview(tool: str, field: str, delta: str, change: str = "c") -> EditPreview:
    return EditPreview(change=change, tool_use_id=tool, command="create", path="a.py",
                       field=field, delta=delta, at=1.0)


def test_consecutive_deltas_of_one_field_become_one_event_in_order() -> None:
    text = AgentText(change="c", text="hi", at=1.0)
    batch = [preview("t1", "new_str", "a"), preview("t1", "new_str", "b"),
             preview("t1", "old_str", "x"), preview("t1", "new_str", "c"), text,
             preview("t1", "new_str", "d"), preview("t2", "new_str", "e"),
             preview("t2", "new_str", "f", change="other")]
    out = coalesce_previews(batch)
    assert [(getattr(e, "field", None), getattr(e, "delta", None)) for e in out] == [
        ("new_str", "ab"), ("old_str", "x"), ("new_str", "c"), (None, None),
        ("new_str", "d"), ("new_str", "e"), ("new_str", "f")]
    assert out[3] is text
    joined = "".join(e.delta for e in out if isinstance(e, EditPreview))
    assert joined == "abxcdef"  # nothing lost, nothing repeated
