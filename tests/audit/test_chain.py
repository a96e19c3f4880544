"""The hash chain itself: what is hashed, that nothing changes, and what verify_audit finds."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.test import RequestFactory

from audit.models import GENESIS, AppendOnlyError, AuditEntry, AuditHead
from audit.services import record
from org.models import User
from tests.audit.conftest import (
    change_data,
    check,
    delete_entry,
    run_verify_audit,
    some_entries,
    swap_entries,
)

pytestmark = pytest.mark.django_db


def recompute(row: AuditEntry) -> bytes:
    """The hash, computed as the models docstring tells an auditor to (not with our code)."""

    def field(b):
        return b"\xff\xff\xff\xff" if b is None else len(b).to_bytes(4, "big") + b

    def integer(n):
        return None if n is None else n.to_bytes(8, "big", signed=True)

    micro = (row.at - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    message = b"".join(
        field(x)
        for x in (
            bytes(row.prev_hash),
            integer(row.seq),
            integer(micro),
            integer(row.actor_id),
            integer(row.on_behalf_of_id),
            row.action.encode(),
            integer(row.document_id),
            integer(row.document_version),
            row.ip.encode(),
            row.client.encode(),
            row.data.encode(),
        )
    )
    return hashlib.sha256(message).digest()


def test_entries_form_a_gapless_chain_an_auditor_can_recompute(demo_org):
    tanaka = User.objects.get(username="tanaka")
    request = RequestFactory().get(
        "/", REMOTE_ADDR="192.0.2.7", HTTP_USER_AGENT="Mozilla/5.0 (テスト)\x00\n"
    )
    start = AuditHead.objects.get(pk=1).seq if AuditHead.objects.exists() else 0
    record("test.first", actor=tanaka, request=request, data={"金額": 1200, "b": [1, "二"]})
    record("test.second", data={"note": 'quote " and \\ backslash'})
    rows = list(AuditEntry.objects.filter(seq__gt=start).order_by("seq"))
    assert [r.seq for r in rows] == [start + 1, start + 2]
    first, second = rows
    assert first.ip == "192.0.2.7" and first.client == "Mozilla/5.0 (テスト)  "
    assert first.actor == tanaka and second.actor is None
    assert first.data == '{"b":[1,"二"],"金額":1200}'  # canonical JSON, stored as hashed
    assert bytes(second.prev_hash) == bytes(first.hash)
    for row in rows:
        assert recompute(row) == bytes(row.hash)
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, bytes(head.hash)) == (second.seq, bytes(second.hash))


def test_the_first_entry_follows_the_genesis_hash(db):
    entry = record("test.only")
    assert entry.seq == 1 and bytes(entry.prev_hash) == GENESIS


def test_x_forwarded_for_is_believed_only_behind_declared_proxies(db, settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 198.51.100.4"
    )
    settings.TRUSTED_PROXY_COUNT = 0
    assert record("test.ip", request=request).ip == "10.0.0.2"
    settings.TRUSTED_PROXY_COUNT = 1
    assert record("test.ip", request=request).ip == "198.51.100.4"


def test_no_update_or_delete_path(db):
    entry = record("test.event")
    entry.action = "test.other"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry(seq=99, action="forged").save()  # no hash: not written by record()


def test_a_rolled_back_action_leaves_no_entry(db):
    record("test.before")

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction.atomic():
        record("test.doomed")
        raise Refused
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["test.before"]
    assert AuditHead.objects.get(pk=1).seq == 1
    record("test.after")
    assert check().valid and check().entries == 2


def test_verify_passes_on_an_intact_chain(db):
    some_entries(5)
    report = check()
    assert report.valid, report.as_dict()
    assert (report.entries, report.last_seq) == (5, 5)
    status, out = run_verify_audit()
    assert status == 0 and "5" in out
    status, out = run_verify_audit("--json")
    assert status == 0 and json.loads(out)["valid"] is True


def test_a_changed_entry_is_named(db):
    some_entries(6)
    change_data(4, '{"i":99}')
    report = check()
    assert not report.valid
    assert (report.problem.seq, report.problem.kind) == (4, "changed")
    assert report.entries == 3  # 1–3 are intact
    status, out = run_verify_audit("--json")
    assert status == 1
    assert json.loads(out.split("\n}")[0] + "\n}")["problem"]["seq"] == 4


def test_a_deleted_entry_is_named(db):
    some_entries(6)
    delete_entry(3)
    report = check()
    assert (report.problem.seq, report.problem.kind) == (3, "missing")
    status, out = run_verify_audit()
    assert status == 1 and "3" in out


def test_deleted_last_entries_are_found_by_the_head(db):
    some_entries(6)
    delete_entry(6)
    delete_entry(5)
    report = check()
    assert (report.problem.seq, report.problem.kind) == (5, "missing")


def test_swapped_entries_are_named(db):
    some_entries(6)
    swap_entries(3, 4)
    report = check()
    assert (report.problem.seq, report.problem.kind) == (3, "reordered")
    assert "4" in report.problem.message


def test_the_slow_and_fast_walks_agree(db):
    some_entries(3)
    fast, slow = check(), check(fast=False)
    assert fast.valid and slow.valid
    assert (fast.entries, fast.head_hash) == (slow.entries, slow.head_hash)


def test_an_empty_trail_is_intact(db):
    report = check()
    assert report.valid and report.entries == 0 and report.problem is None
