"""What Honk writes into Slack: the status message, the approval reply with its buttons,
and the outcome replies. Plain functions of a change's state; nothing here talks to Slack."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from desktop.core.stages import ChangeState, Stage

if TYPE_CHECKING:
    from desktop.core.review import Review
    from desktop.core.state import ChangeView

__all__ = [
    "APPROVE_ACTION",
    "REJECT_ACTION",
    "approval_reply",
    "button_value",
    "diff_stat",
    "escape",
    "failure_reply",
    "parse_button_value",
    "status_message",
]

APPROVE_ACTION = "honk_approve"
REJECT_ACTION = "honk_reject"
# The order a change goes through; the status line shows each that ran.
_STAGES = (Stage.AGENT, Stage.VERIFY, Stage.COMMIT, Stage.JUDGE, Stage.BUILD, Stage.INSTALL,
           Stage.APPROVAL, Stage.MERGE)
_MARK = {"running": "⏳", "done": "✅", "failed": "❌"}
_STATE_WORDS = {
    ChangeState.AWAITING_APPROVAL: "awaiting approval",
    ChangeState.MERGED: "merged",
    ChangeState.FAILED: "failed",
    ChangeState.REJECTED: "rejected",
    ChangeState.CANCELLED: "cancelled",
    ChangeState.INTERRUPTED: "interrupted (the desk machine stopped; it resumes when Honk "
                             "runs again)",
}


def escape(text: str) -> str:
    """Slack's control characters escaped as its docs ask, so text a person wrote (or an
    error quoting it) shows as written and cannot ping ``<!channel>`` or forge a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _quote(text: str, limit: int = 600) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return "\n".join(f"> {line}" for line in escape(text).splitlines() or [""])


def stage_line(view: ChangeView) -> str:
    """One line per stage that ran, e.g. "✅ agent · ✅ verify · ⏳ build"."""
    parts = []
    last = view.stages[-1] if view.stages else None
    for stage in _STAGES:
        record = view.stage(stage)
        if record is None:
            continue
        mark = _MARK.get(record.status, "•")
        if view.state is ChangeState.INTERRUPTED and record is last and record.status != "done":
            mark = "⏸"  # cut by the stop, not failed: it runs again on resume
        parts.append(f"{mark} {stage.value}")
    return " · ".join(parts) or "⏳ queued"


def status_message(view: ChangeView, repo_name: str) -> tuple[str, list[dict[str, Any]]]:
    """The status message's text (the notification) and blocks (what is shown)."""
    state = _STATE_WORDS.get(view.state, view.state.value.replace("_", " "))
    head = f"Honk change `{view.id}` in *{escape(repo_name)}*: {state}"
    body = f"{head}\n{_quote(view.request)}\n{stage_line(view)}"
    if view.state is ChangeState.FAILED and view.reason:
        body += f"\n*Why:* {escape(view.reason)}"
    if view.cost_usd:
        body += f"\nCost so far: ${view.cost_usd:.4f}"
    return head, [{"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}}]


def diff_stat(diff: str) -> list[tuple[str, int, int]]:
    """(file, added, removed) for each file of a unified diff, in its order."""
    stats: list[tuple[str, int, int]] = []
    for section in re.split(r"^diff --git ", diff, flags=re.MULTILINE)[1:]:
        lines = section.splitlines()
        match = re.match(r"a/(.*?) b/(.*)$", lines[0]) if lines else None
        name = match.group(2) if match else (lines[0] if lines else "?")
        body = [line for line in lines[1:] if not line.startswith(("+++", "---"))]
        stats.append((name, sum(1 for line in body if line.startswith("+")),
                      sum(1 for line in body if line.startswith("-"))))
    return stats


def button_value(change: str, commit: str, artifact_sha256: str | None) -> str:
    """What each button carries, so a click names exactly what was shown."""
    return json.dumps({"change": change, "commit": commit,
                       "artifact_sha256": artifact_sha256 or ""}, separators=(",", ":"))


def parse_button_value(value: object) -> dict[str, str] | None:
    """The button's JSON, or None when it is not one of ours."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("change"), str):
        return None
    return {k: str(data.get(k) or "") for k in ("change", "commit", "artifact_sha256")}


def approval_reply(review: Review, stats: Sequence[tuple[str, int, int]]
                   ) -> tuple[str, list[dict[str, Any]]]:
    """The reply at awaiting approval: evidence, and Approve / Reject buttons."""
    view, ev = review.view, review.evidence
    commit = ev.commit or ""
    lines = [f"*Ready for approval*: `{commit[:12]}` → {escape(review.target)}"]
    added = sum(a for _f, a, _r in stats)
    removed = sum(r for _f, _a, r in stats)
    lines.append(f"*Diff:* {len(stats)} file(s), +{added} −{removed}")
    lines += [f"    `{escape(name)}` +{a} −{r}" for name, a, r in stats[:10]]
    if len(stats) > 10:
        lines.append(f"    … and {len(stats) - 10} more")
    if ev.verdict is not None:
        lines.append(f"*Judge:* {ev.verdict.verdict}: {escape(ev.verdict.summary)}")
    if ev.verifiers:
        lines.append("*Verifiers:* " + ", ".join(
            f"{'✅' if v.passed else '❌'} {escape(v.name)}" for v in ev.verifiers))
    if ev.artifact is not None:
        lines.append(f"*Build:* `{ev.artifact.sha256}` ({ev.artifact.size:,} bytes)")
    if ev.installed is not None:
        lines.append(f"*Installed on:* {escape(ev.installed.device)}")
    lines.append(f"*Commit:* `{commit}`")
    lines.append(f"*Cost:* ${view.cost_usd:.4f}")
    if review.gates.unmet:
        lines.append("*Not yet approvable:* " + escape("; ".join(review.gates.problems)))
    value = button_value(view.id, commit, ev.artifact.sha256 if ev.artifact else None)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
        {"type": "actions", "block_id": f"honk_{view.id}", "elements": [
            {"type": "button", "action_id": APPROVE_ACTION, "style": "primary",
             "text": {"type": "plain_text", "text": "Approve and merge"}, "value": value},
            {"type": "button", "action_id": REJECT_ACTION, "style": "danger",
             "text": {"type": "plain_text", "text": "Reject"}, "value": value},
        ]},
    ]
    return f"Change {view.id} is ready for approval ({commit[:12]})", blocks


def failure_reply(view: ChangeView, log_tail: Sequence[str]) -> str:
    """The reply when a stage failed: the reason and the last lines of its log."""
    failed = next((s for s in reversed(view.stages) if s.status == "failed"), None)
    stage = failed.stage.value if failed else "the change"
    text = f"❌ {stage} failed: {escape(view.reason or 'no reason given')}"
    failing = [v for v in view.verifiers if not v.passed and v.output]
    tail = list(log_tail) or [line for v in failing[-1:] for line in v.output.splitlines()]
    if tail:
        text += "\n```\n" + "\n".join(tail[-15:])[-2500:].replace("```", "'''") + "\n```"
    return text
