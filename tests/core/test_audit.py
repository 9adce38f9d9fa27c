"""The hash chain: canonical JSON, sealing, and verify naming the first broken record."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.core.audit import (
    GENESIS_HASH,
    AuditError,
    AuditHead,
    AuditRecord,
    StoredRecord,
    canonical_json,
    export_document,
    format_actor,
    parse_export,
    record_hash,
    seal,
    standing_approval,
    verify,
)

SHA = "a" * 40


def rec(n: int = 1, **over: object) -> AuditRecord:
    base: dict[str, object] = {
        "at": f"2025-01-02T03:04:{n % 60:02d}.000+00:00",
        "action": "approved",
        "change_id": f"c{n}",
        "request": f"fix the play button {n}",
        "commit_sha": SHA,
        "actor": "Test Engineer <engineer@example.invalid> (os: tester)",
    }
    base.update(over)
    return AuditRecord(**base)  # type: ignore[arg-type]


def chain(n: int) -> list[StoredRecord]:
    out: list[StoredRecord] = []
    for i in range(1, n + 1):
        out.append(seal(rec(i), out[-1] if out else None))
    return out


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_seal_links_records_and_hash_is_sha256_of_canonical_payload() -> None:
    first, second = chain(2)
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert (second.seq, second.prev_hash) == (2, first.hash)
    payload = {"format": "honk-audit/1", "seq": 1, **dataclasses.asdict(first.record),
               "prev_hash": GENESIS_HASH}
    assert first.hash == hashlib.sha256(canonical_json(payload)).hexdigest()


def test_intact_chain_verifies() -> None:
    records = chain(5)
    report = verify(records, AuditHead(5, records[-1].hash))
    assert report.ok and report.checked == 5
    assert str(report).startswith("audit log intact: 5 records")
    assert verify([]).ok


def test_altered_field_is_named() -> None:
    records = chain(8)
    records[6] = dataclasses.replace(
        records[6], record=dataclasses.replace(records[6].record, commit_sha="b" * 40)
    )
    report = verify(records)
    assert not report.ok
    assert (report.first_bad_seq, report.problem) == (7, "altered")
    assert str(report) == "record 7 was altered (hash mismatch)"
    assert report.checked == 6


def test_altered_and_rehashed_record_is_caught_by_the_next_link() -> None:
    records = chain(5)
    forged = dataclasses.replace(records[2].record, request="something else")
    records[2] = StoredRecord(3, forged, records[2].prev_hash,
                              record_hash(3, forged, records[2].prev_hash))
    report = verify(records)
    assert report.first_bad_seq == 3 and report.problem == "altered"
    assert "record 3 was altered or replaced" in str(report)


def test_removed_record_is_named_with_its_neighbours() -> None:
    records = chain(7)
    del records[4]
    report = verify(records)
    assert (report.first_bad_seq, report.problem) == (5, "missing")
    assert str(report) == "record 5 is missing (chain broken between 4 and 6)"


def test_several_removed_records_and_a_removed_first_record() -> None:
    records = chain(7)
    assert str(verify(records[:2] + records[5:])) == (
        "records 3-5 are missing (chain broken between 2 and 6)"
    )
    assert str(verify(records[1:])) == "record 1 is missing (chain broken before record 2)"


def test_reordered_records_are_named() -> None:
    records = chain(5)
    records[1], records[2] = records[2], records[1]
    report = verify(records)
    assert (report.first_bad_seq, report.problem) == (3, "reordered")
    assert "record 3 is out of order" in str(report)


def test_removed_tail_is_seen_only_with_the_head() -> None:
    records = chain(6)
    head = AuditHead(6, records[-1].hash)
    assert verify(records[:4]).ok  # a chain alone cannot know it was cut short
    report = verify(records[:4], head)
    assert (report.first_bad_seq, report.problem) == (5, "missing")
    assert str(report).startswith("records 5-6 are missing (the log ends at record 4)")


def test_first_record_must_start_from_genesis() -> None:
    record = rec(1)
    fake = StoredRecord(1, record, "f" * 64, record_hash(1, record, "f" * 64))
    assert "genesis" in str(verify([fake]))


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("action", "merge", "one of approved, override"),
        ("commit_sha", "abc123", "full lowercase hex commit sha"),
        ("artifact_sha256", "XYZ", "64 lowercase hex digits"),
        ("at", "yesterday", "ISO 8601"),
        ("at", "2025-01-02T03:04:05", "with a time zone"),
        ("change_id", " ", "non-empty change id"),
        ("actor", "", "non-empty"),
        ("device", 5, "a string or null"),
    ],
)
def test_bad_fields_are_named(field: str, value: object, needle: str) -> None:
    with pytest.raises(AuditError) as info:
        rec(**{field: value})
    assert f"audit record: {field} = {value!r}" in str(info.value)
    assert needle in str(info.value)


def test_override_needs_a_reason() -> None:
    with pytest.raises(AuditError, match="typed reason"):
        rec(action="override")
    assert rec(action="override", reason="hotfix, judge is down").reason


def test_export_round_trip_and_tampered_export_is_caught() -> None:
    records = chain(3)
    head = AuditHead(3, records[-1].hash)
    text = export_document(records, head)
    again, head_again = parse_export(text)
    assert again == records and head_again == head
    doc = json.loads(text)
    doc["records"][1]["reason"] = "inserted later"
    tampered, head2 = parse_export(json.dumps(doc))
    assert str(verify(tampered, head2)) == "record 2 was altered (hash mismatch)"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("not json", "not JSON"),
        ('{"format": "other"}', "format = 'other'"),
        ('{"format": "honk-audit/1", "records": {}}', "records: expected a list"),
        ('{"format": "honk-audit/1", "records": [{"seq": 1}]}', "missing key"),
        ('{"format": "honk-audit/1", "records": [{"bogus": 1}]}', "bogus"),
        ('{"format": "honk-audit/1", "records": [], "head": 3}', "head = 3"),
    ],
)
def test_bad_export_documents_are_named(text: str, needle: str) -> None:
    with pytest.raises(AuditError) as info:
        parse_export(text)
    assert needle in str(info.value)


def test_format_actor() -> None:
    assert format_actor("Ada", "ada@x.invalid", "ada") == "Ada <ada@x.invalid> (os: ada)"
    assert format_actor("", "", "") == "unknown (os: unknown)"


@settings(deadline=None)  # a loaded CI machine can stall one example past 200 ms
@given(st.text(), st.text(), st.one_of(st.none(), st.text()))
def test_any_text_content_round_trips_and_verifies(request: str, device: str,
                                                   reason: str | None) -> None:
    stored = seal(rec(1, request=request, device=device, reason=reason), None)
    again, _ = parse_export(export_document([stored], None))
    assert again == [stored] and verify(again).ok


def sealed(*steps: tuple[str, str, str]) -> list[StoredRecord]:
    """(action, change, commit) in order, chained."""
    out: list[StoredRecord] = []
    for i, (action, change, commit) in enumerate(steps, 1):
        extra = {"reason": "hotfix"} if action == "override" else {}
        out.append(seal(rec(i, action=action, change_id=change, commit_sha=commit, **extra),
                        out[-1] if out else None))
    return out


OTHER = "b" * 40


def test_standing_approval_is_the_open_approval_of_exactly_that_commit() -> None:
    records = sealed(("approved", "c", SHA), ("approved", "x", SHA))
    standing = standing_approval(records, "c", SHA)
    assert standing is not None and standing.approval.seq == 1 and standing.merged is None
    assert standing_approval(records, "c", OTHER) is None  # another commit: a new approval
    assert standing_approval(records, "y", SHA) is None
    merged = sealed(("override", "c", SHA), ("merged", "c", SHA))
    standing = standing_approval(merged, "c", SHA)
    assert standing is not None and standing.merged is not None and standing.merged.seq == 2


@pytest.mark.parametrize("closing", [
    [("rejected", "c", SHA)],  # a rejected approval is not reused
    [("merge_failed", "c", SHA)],  # after a failed merge, approving again is a new decision
    [("approved", "c", OTHER)],  # the branch moved and that commit was approved: superseded
    [("approved", "c", OTHER), ("merge_failed", "c", OTHER)],
])
def test_closed_or_superseded_approvals_are_not_reused(closing: list[tuple[str, str, str]]
                                                       ) -> None:
    assert standing_approval(sealed(("approved", "c", SHA), *closing), "c", SHA) is None
