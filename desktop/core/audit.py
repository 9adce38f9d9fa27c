"""The tamper-evident audit log, as pure data: records, canonical JSON and a sha256 chain.

Each stored record carries the hash of the one before it, so changing, removing or
reordering any record breaks the chain at a place that ``verify`` can name. The hash covers
every field (including ``seq`` and ``prev_hash``) serialised as canonical JSON: sorted keys,
no whitespace, UTF-8. Storage lives in ``desktop.adapters.store.audit_log``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any

from desktop.core.errors import HonkError

__all__ = [
    "ACTIONS",
    "APPROVALS",
    "FORMAT",
    "GENESIS_HASH",
    "AuditError",
    "AuditHead",
    "AuditRecord",
    "AuditReport",
    "StandingApproval",
    "StoredRecord",
    "canonical_json",
    "export_document",
    "format_actor",
    "parse_export",
    "record_hash",
    "seal",
    "standing_approval",
    "utc_now_iso",
    "verify",
]

ACTIONS = ("approved", "override", "rejected", "merged", "merge_failed")
APPROVALS = ("approved", "override")  # the actions that record a person's approval
_CLOSING = ("rejected", "merge_failed")  # end an approval: the next one is a new decision
GENESIS_HASH = "0" * 64  # the prev_hash of record 1
FORMAT = "honk-audit/1"  # bumps if the hashed payload ever changes shape

_HEX64 = re.compile(r"[0-9a-f]{64}")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # sha1 or sha256 object names


class AuditError(HonkError, ValueError):
    """A record or an exported document is malformed; ``str()`` names the field and value."""


def _bad(field: str, value: object, expected: str) -> AuditError:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return AuditError(f"audit record: {field} = {shown}: expected {expected}")


def utc_now_iso() -> str:
    """The current time as an ISO 8601 UTC timestamp with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def format_actor(name: str, email: str, os_user: str) -> str:
    """``Name <email> (os user)``: who approved, as git and the OS know them."""
    who = name.strip() or "unknown"
    if email.strip():
        who += f" <{email.strip()}>"
    return f"{who} (os: {os_user.strip() or 'unknown'})"


@dataclass(frozen=True)
class AuditRecord:
    """What happened, by whom, about which commit: the content of one audit entry."""

    at: str
    action: str
    change_id: str
    request: str
    commit_sha: str
    actor: str
    artifact_sha256: str | None = None
    device: str | None = None
    judge_verdict: str | None = None
    merge_result: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        for name in ("at", "action", "change_id", "request", "commit_sha", "actor"):
            if not isinstance(getattr(self, name), str):
                raise _bad(name, getattr(self, name), "a string")
        for name in ("artifact_sha256", "device", "judge_verdict", "merge_result", "reason"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise _bad(name, value, "a string or null")
        try:
            stamp = datetime.fromisoformat(self.at)
        except ValueError:
            raise _bad("at", self.at, "an ISO 8601 timestamp") from None
        if stamp.tzinfo is None:
            raise _bad("at", self.at, "an ISO 8601 timestamp with a time zone")
        if self.action not in ACTIONS:
            raise _bad("action", self.action, f"one of {', '.join(ACTIONS)}")
        if not self.change_id.strip():
            raise _bad("change_id", self.change_id, "a non-empty change id")
        if not _COMMIT.fullmatch(self.commit_sha):
            raise _bad("commit_sha", self.commit_sha, "a full lowercase hex commit sha")
        if not self.actor.strip():
            raise _bad("actor", self.actor, "a non-empty 'name <email> (os: user)'")
        if self.artifact_sha256 is not None and not _HEX64.fullmatch(self.artifact_sha256):
            raise _bad("artifact_sha256", self.artifact_sha256, "64 lowercase hex digits")
        if self.action == "override" and not (self.reason or "").strip():
            raise _bad("reason", self.reason, "a typed reason for an override")


_RECORD_FIELDS = tuple(f.name for f in fields(AuditRecord))


@dataclass(frozen=True)
class StoredRecord:
    """A record as it sits in the chain: its position, the previous hash and its own."""

    seq: int
    record: AuditRecord
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        """The flat JSON form used for hashing (without ``hash``) and for export (with it)."""
        return {"seq": self.seq, **asdict(self.record), "prev_hash": self.prev_hash,
                "hash": self.hash}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StoredRecord:
        """Rebuild from the flat form; unknown or missing keys are errors."""
        expected = {"seq", "prev_hash", "hash", *_RECORD_FIELDS}
        unknown = sorted(set(data) - expected)
        if unknown:
            raise _bad(unknown[0], data[unknown[0]], f"only the keys {', '.join(sorted(expected))}")
        missing = sorted({"seq", "prev_hash", "hash", "at", "action", "change_id", "request",
                          "commit_sha", "actor"} - set(data))
        if missing:
            raise AuditError(f"audit record: missing key {missing[0]!r}")
        seq = data["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise _bad("seq", seq, "a positive integer")
        for name in ("prev_hash", "hash"):
            if not isinstance(data[name], str):
                raise _bad(name, data[name], "a hex string")
        values: dict[str, Any] = {k: data.get(k) for k in _RECORD_FIELDS}
        record = AuditRecord(**values)
        return cls(seq=seq, record=record, prev_hash=data["prev_hash"], hash=data["hash"])


@dataclass(frozen=True)
class AuditHead:
    """The last record's seq and hash, kept beside the log so a deleted tail is noticed."""

    seq: int
    hash: str


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON bytes: sorted keys, no insignificant whitespace, UTF-8."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(seq: int, record: AuditRecord, prev_hash: str) -> str:
    """sha256 over the canonical JSON of the record, its seq, prev_hash and the format."""
    payload = {"format": FORMAT, "seq": seq, **asdict(record), "prev_hash": prev_hash}
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def seal(record: AuditRecord, previous: StoredRecord | AuditHead | None) -> StoredRecord:
    """Chain ``record`` after ``previous`` (None for the first record)."""
    seq = previous.seq + 1 if previous else 1
    prev_hash = previous.hash if previous else GENESIS_HASH
    return StoredRecord(seq, record, prev_hash, record_hash(seq, record, prev_hash))


@dataclass(frozen=True)
class AuditReport:
    """The outcome of ``verify``: intact, or the first record that is not."""

    ok: bool
    checked: int  # records whose hash and link were confirmed
    message: str
    first_bad_seq: int | None = None
    problem: str | None = None  # altered | missing | reordered

    def __str__(self) -> str:
        return self.message


def _fail(checked: int, seq: int, problem: str, message: str) -> AuditReport:
    return AuditReport(False, checked, message, first_bad_seq=seq, problem=problem)


def _missing(first: int, last: int, before: int, after: int | None) -> str:
    which = f"record {first} is" if first == last else f"records {first}-{last} are"
    if after is None:
        return f"{which} missing (the log ends at record {before})"
    if before == 0:
        return f"{which} missing (chain broken before record {after})"
    return f"{which} missing (chain broken between {before} and {after})"


def verify(records: Sequence[StoredRecord], head: AuditHead | None = None) -> AuditReport:
    """Recompute the chain in the given order and name the first record that breaks it.

    ``head`` is the separately kept last seq/hash; without it a removed tail cannot be seen.
    """
    prev_hash, expected = GENESIS_HASH, 1
    seen = {r.seq for r in records}
    for index, stored in enumerate(records):
        checked = expected - 1
        if stored.seq != expected:
            later = {r.seq for r in records[index + 1:]}
            if stored.seq > expected and expected not in later:
                last_gone = min((s for s in seen if s > expected), default=stored.seq) - 1
                return _fail(checked, expected, "missing",
                             _missing(expected, last_gone, expected - 1, stored.seq))
            return _fail(checked, stored.seq, "reordered",
                         f"record {stored.seq} is out of order "
                         f"(found where record {expected} belongs)")
        if record_hash(stored.seq, stored.record, stored.prev_hash) != stored.hash:
            return _fail(checked, stored.seq, "altered",
                         f"record {stored.seq} was altered (hash mismatch)")
        if stored.prev_hash != prev_hash:
            if stored.seq == 1:
                return _fail(checked, 1, "altered",
                             "record 1 was altered (its prev_hash is not the genesis hash)")
            return _fail(checked - 1, stored.seq - 1, "altered",
                         f"record {stored.seq - 1} was altered or replaced (its hash no longer "
                         f"matches the prev_hash kept in record {stored.seq})")
        prev_hash, expected = stored.hash, expected + 1
    count = expected - 1
    if head is not None:
        if head.seq > count:
            return _fail(count, count + 1, "missing", _missing(count + 1, head.seq, count, None)
                         + f"; the log's head says {head.seq} records")
        if head.seq < count:
            return _fail(count, head.seq + 1, "altered",
                         f"record {head.seq + 1} was added outside the log "
                         f"(the head says the log ends at record {head.seq})")
        if count and head.hash != prev_hash:
            return _fail(count - 1, count, "altered",
                         f"record {count} was altered or replaced (it does not match the head)")
    tip = prev_hash[:12] if count else "empty"
    return AuditReport(True, count, f"audit log intact: {count} records, head {tip}")


@dataclass(frozen=True)
class StandingApproval:
    """An approval on record that nothing has closed, and its merge record if one exists."""

    approval: StoredRecord
    merged: StoredRecord | None = None


def standing_approval(records: Iterable[StoredRecord], change_id: str,
                      commit: str) -> StandingApproval | None:
    """The change's latest approval of exactly ``commit``, unless something closed it since.

    A rejection or a failed merge closes an approval (approving again is a new decision), and
    a later approval of another commit (the branch moved) supersedes it. What remains is the
    approval a retry after a cut merge must reuse instead of recording it twice.
    """
    current: StandingApproval | None = None
    for stored in records:
        rec = stored.record
        if rec.change_id != change_id:
            continue
        if rec.action in APPROVALS:
            current = StandingApproval(stored)
        elif rec.action in _CLOSING:
            current = None
        elif (rec.action == "merged" and current is not None and current.merged is None
              and rec.commit_sha == current.approval.record.commit_sha):
            current = StandingApproval(current.approval, stored)
    if current is None or current.approval.record.commit_sha != commit:
        return None
    return current


def export_document(records: Sequence[StoredRecord], head: AuditHead | None) -> str:
    """The JSON written by ``honk audit export --json``; ``parse_export`` reads it back."""
    doc = {
        "format": FORMAT,
        "head": None if head is None else {"seq": head.seq, "hash": head.hash},
        "records": [r.to_dict() for r in records],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def parse_export(text: str) -> tuple[list[StoredRecord], AuditHead | None]:
    """Read an exported document back so that it can be verified on its own."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AuditError(f"audit export: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise AuditError(f"audit export: format = {got!r}: expected {FORMAT!r}")
    rows = doc.get("records")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise AuditError("audit export: records: expected a list of objects")
    raw_head = doc.get("head")
    head = None
    if raw_head is not None:
        if not (isinstance(raw_head, dict) and isinstance(raw_head.get("seq"), int)
                and isinstance(raw_head.get("hash"), str)):
            raise AuditError(f"audit export: head = {raw_head!r}: expected {{seq, hash}}")
        head = AuditHead(raw_head["seq"], raw_head["hash"])
    return [StoredRecord.from_dict(r) for r in rows], head
