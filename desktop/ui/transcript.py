"""The agent transcript: the model's text streaming, tool calls folded to one line each,
verifier output, notices, and a token/cost meter. Kept per change for instant switching."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from desktop.core.events import (
    AgentText,
    AgentTextDelta,
    ChangeCreated,
    ChangeFinished,
    Event,
    Notice,
    RevisionRequested,
    StageFailed,
    ToolCall,
    Usage,
    VerifierResult,
)
from desktop.ui.theme import accents

__all__ = ["Transcript", "TranscriptLog"]


@dataclass
class TranscriptLog:
    """One change's transcript as (style, text) entries; text deltas merge into one entry."""

    entries: list[tuple[str, str]] = field(default_factory=list)
    streaming: bool = False  # the last entry is text still arriving
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, event: Event) -> tuple[str, str] | None:
        """Fold one event; returns a new/extended entry to show, or None."""
        if isinstance(event, AgentTextDelta):
            if not self.streaming:
                self.streaming = True
                return self._line("text", event.text)
            style, text = self.entries[-1]
            self.entries[-1] = (style, text + event.text)
            return ("delta", event.text)
        if isinstance(event, AgentText):
            if self.streaming:
                self.streaming = False
                return None  # already shown delta by delta
            return self._line("text", event.text)
        self.streaming = False
        if isinstance(event, Usage):
            self.input_tokens += (event.input_tokens + event.cache_creation_input_tokens
                                  + event.cache_read_input_tokens)
            self.output_tokens += event.output_tokens
            self.cost_usd = event.total_cost_usd
            return None
        line = _describe(event)
        return self._line(*line) if line else None

    def _line(self, style: str, text: str) -> tuple[str, str]:
        self.entries.append((style, text))
        return (style, text)


def _describe(event: Event) -> tuple[str, str] | None:
    if isinstance(event, ChangeCreated):
        return ("request", event.request)
    if isinstance(event, RevisionRequested):
        return ("request", event.message)
    if isinstance(event, ToolCall):
        mark = "✘" if event.is_error else "›"
        return ("error" if event.is_error else "tool", f"{mark} {event.tool}: {event.summary}")
    if isinstance(event, VerifierResult):
        mark = "✔" if event.passed else "✘"
        text = f"{mark} {event.name} ({event.seconds:.1f} s)"
        if not event.passed and event.output:
            text += "\n" + "\n".join("    " + ln for ln in event.output.splitlines()[:40])
        return ("ok" if event.passed else "error", text)
    if isinstance(event, Notice):
        return ("error" if event.level == "error" else "notice", event.message)
    if isinstance(event, StageFailed):
        return ("error", f"✘ {event.stage.value}: {event.reason}")
    if isinstance(event, ChangeFinished):
        return ("notice", f"— {event.state.replace('_', ' ')}{': ' + event.reason if event.reason else ''}")
    return None


class Transcript(QWidget):
    """Shows the selected change's transcript; appends deltas without re-rendering."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcript")
        self.logs: dict[str, TranscriptLog] = {}
        self.change_id: str | None = None
        self.text = QPlainTextEdit()
        self.text.setObjectName("transcriptText")
        self.text.setReadOnly(True)
        self.text.setAccessibleName(self.tr("Agent transcript"))
        self.text.document().setUndoRedoEnabled(False)
        self.text.setMaximumBlockCount(20_000)
        self.meter = QLabel()
        self.meter.setObjectName("costMeter")
        self.meter.setAccessibleName(self.tr("Tokens and cost"))
        title = QLabel(self.tr("Agent"))
        title.setObjectName("paneTitle")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.meter)
        self._formats = self._make_formats()
        self._update_meter(TranscriptLog())
        # Follows the newest entry, as a terminal does, until the person scrolls up; back
        # at the end, it follows again.
        self.follow = True
        bar = self.text.verticalScrollBar()
        bar.rangeChanged.connect(self._keep_following)
        bar.actionTriggered.connect(lambda _action: QTimer.singleShot(0, self._judge_follow))

    def at_end(self) -> bool:
        """Whether the newest entry is in view (the scroll bar at its end)."""
        bar = self.text.verticalScrollBar()
        return bar.value() >= bar.maximum() - 2

    def _judge_follow(self) -> None:
        self.follow = self.at_end()

    def _keep_following(self, _low: int = 0, high: int = 0) -> None:
        # The range grows after the document is laid out, later than the insert that grew
        # it: following on the range (not at insert time) keeps the end in view.
        if self.follow:
            self.text.verticalScrollBar().setValue(self.text.verticalScrollBar().maximum())

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "follow"):
            self._formats = self._make_formats()
            QTimer.singleShot(0, lambda: self.show_change(self.change_id, follow=self.follow))
        super().changeEvent(event)

    def _make_formats(self) -> dict[str, QTextCharFormat]:
        hues = accents(self.palette())
        formats: dict[str, QTextCharFormat] = {}
        for style, colour, weight, italic in (
            ("text", None, None, False), ("request", None, QFont.Weight.DemiBold, False),
            ("tool", hues.muted, None, False), ("ok", hues.ok, None, False),
            ("error", hues.error, None, False), ("notice", hues.muted, None, True),
        ):
            fmt = QTextCharFormat()
            if colour:
                fmt.setForeground(QColor(colour))
            if weight:
                fmt.setFontWeight(weight)
            fmt.setFontItalic(italic)
            formats[style] = fmt
        return formats

    def on_events(self, batch: Iterable[Event]) -> None:
        for event in batch:
            log = self.logs.setdefault(event.change, TranscriptLog())
            shown = log.add(event)
            if event.change != self.change_id:
                continue
            if isinstance(event, Usage):
                self._update_meter(log)
            elif shown is not None:
                self._show(*shown)

    def load(self, change_id: str, events: Iterable[Event]) -> None:
        log = TranscriptLog()
        for event in events:
            log.add(event)
        self.logs[change_id] = log
        if change_id == self.change_id:
            self.show_change(change_id)

    def show_change(self, change_id: str | None, *, follow: bool = True) -> None:
        """Show ``change_id``'s transcript, at its newest entry (``follow``)."""
        self.change_id = change_id
        self.follow = follow
        self.text.clear()
        log = self.logs.get(change_id or "", TranscriptLog())
        for style, text in log.entries:
            self._show(style, text)
        self._update_meter(log)
        self._keep_following()

    def _show(self, style: str, text: str) -> None:
        cursor = QTextCursor(self.text.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if style == "delta":
            cursor.insertText(text, self._formats["text"])
        else:
            if not self.text.document().isEmpty():
                cursor.insertBlock()
            cursor.insertText(text, self._formats[style])
        self._keep_following()

    def _update_meter(self, log: TranscriptLog) -> None:
        self.meter.setText(self.tr("{i} in · {o} out tokens · ${c:.4f}").format(
            i=_short(log.input_tokens), o=_short(log.output_tokens), c=log.cost_usd))


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)
