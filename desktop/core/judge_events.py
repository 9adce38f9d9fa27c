"""The judge's verdict as a durable event.

Lives apart from :mod:`desktop.core.events` so the judge can grow without touching the
shared event module; importing this module registers ``judge_verdict`` for
:func:`desktop.core.events.event_from_dict`, so whoever reads a journal must import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from desktop.core.events import Event

__all__ = ["FLAGS", "VERDICTS", "JudgeReason", "JudgeVerdict"]

VERDICTS = ("approve", "veto")

# Out-of-scope work the judge (and the deterministic rules) can flag, in display order.
FLAGS = (
    "unrequested_refactor",
    "deleted_or_disabled_tests",
    "ci_config_changed",
    "new_dependency",
    "secret_in_diff",
    "out_of_scope",
)


class JudgeReason(NamedTuple):
    """One reason, pointing at a file and a hunk or line (both may be "")."""

    file: str
    where: str  # a hunk header or a line hint such as "+42" (new) or "-17" (old)
    text: str

    def render(self) -> str:
        """``file (where): text``, leaving out the parts that are empty."""
        place = self.file
        if self.where:
            place = f"{place} ({self.where})" if place else self.where
        return f"{place}: {self.text}" if place else self.text


@dataclass(frozen=True, kw_only=True)
class JudgeVerdict(Event):
    """What the judge decided about one commit, after the deterministic rules were applied.

    ``model_verdict`` is what the model said; ``verdict`` is the outcome (a blocking rule
    can turn an approval into a veto). ``rule_flags`` are the flags the rules set on their
    own; ``flags`` is the union with the model's.
    """

    type: ClassVar[str] = "judge_verdict"
    verdict: str
    summary: str
    reasons: tuple[JudgeReason, ...] = ()
    flags: tuple[str, ...] = ()
    rule_flags: tuple[str, ...] = ()
    model_verdict: str = ""
    model: str = ""
    cost_usd: float = 0.0
    commit: str | None = None  # the commit the verdict is about
    round: int = 1
    diff_truncated: bool = False

    def __post_init__(self) -> None:
        # A journal round trip (JSON) turns each reason into a list (or a dict, if someone
        # wrote them as objects): normalise back so equality and .file/.text work.
        reasons = tuple(_reason(r) for r in self.reasons)
        object.__setattr__(self, "reasons", reasons)
        object.__setattr__(self, "flags", tuple(self.flags))
        object.__setattr__(self, "rule_flags", tuple(self.rule_flags))
        if self.verdict not in VERDICTS:
            raise ValueError(
                f"JudgeVerdict.verdict: expected one of {VERDICTS}, got {self.verdict!r}"
            )
        for name in ("flags", "rule_flags"):
            for flag in getattr(self, name):
                if flag not in FLAGS:
                    raise ValueError(
                        f"JudgeVerdict.{name}: unknown flag {flag!r}; expected one of {FLAGS}"
                    )

    @property
    def vetoed(self) -> bool:
        return self.verdict == "veto"

    def render(self) -> str:
        """Several lines for a person: verdict, summary, flags, then one line per reason."""
        lines = [f"judge: {self.verdict} ({self.model}) - {self.summary}"]
        if self.model_verdict and self.model_verdict != self.verdict:
            lines[0] += f" [model said {self.model_verdict}; overruled by the rules]"
        if self.flags:
            lines.append("flags: " + ", ".join(self.flags))
        lines.extend(f"- {r.render()}" for r in self.reasons)
        return "\n".join(lines)


def _reason(item: object) -> JudgeReason:
    if isinstance(item, JudgeReason):
        return item
    if isinstance(item, Mapping):
        return JudgeReason(
            str(item.get("file", "")), str(item.get("where", "")), str(item.get("text", ""))
        )
    if isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 3:
        return JudgeReason(str(item[0]), str(item[1]), str(item[2]))
    raise ValueError(
        f"JudgeVerdict.reasons: expected (file, where, text) items, got {item!r}"
    )
