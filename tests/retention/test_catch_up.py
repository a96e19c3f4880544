"""apply_retention heals what the after-commit listener could not do: a store outage at the
decision, a listener that never ran, a disposal left half done. Running it twice changes nothing."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from documents.models import Document, DocumentVersion, RecordRevision, Status
from retention.models import DisposalRequest, ObjectStatus, RetentionState, Tombstone
from storage import FilesystemStore, StorageUnavailable, get_store, key_for
from tests.retention.conftest import approve, decide_through_route, session

pytestmark = pytest.mark.django_db


def apply_retention() -> str:
    out = io.StringIO()
    call_command("apply_retention", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def lock_of(sha256: str) -> datetime | None:
    return get_store().stat(key_for(sha256)).retain_until


def test_a_record_decided_without_the_listener_is_locked_later(demo_org):
    record = decide_through_route()  # on-commit callbacks never run in this test transaction
    document = record.document
    assert not RetentionState.objects.filter(document=document).exists()
    [original] = record.original_hashes()
    assert lock_of(original) is None

    assert "1 states created, 1 records locked" in apply_retention()
    end = date((document.fiscal_year or 0) + 2, 3, 31)
    until = datetime(end.year, 3, 31, 15, 0, tzinfo=UTC)
    assert RetentionState.objects.get(document=document).locked_until == until
    assert lock_of(original) == until
    version = document.versions.get()
    assert lock_of(version.record_sha256) == until

    entries = AuditEntry.objects.filter(action="retention.lock").count()
    assert "0 states created, 0 records locked" in apply_retention()
    assert AuditEntry.objects.filter(action="retention.lock").count() == entries


def test_a_store_outage_at_the_decision_is_healed(
    demo_org, monkeypatch, django_capture_on_commit_callbacks
):
    real_put = FilesystemStore._put

    def down(self, *args, **kwargs):
        if kwargs.get("retain_until") is not None:
            raise StorageUnavailable("connection refused")
        return real_put(self, *args, **kwargs)

    monkeypatch.setattr(FilesystemStore, "_put", down)
    record = decide_through_route(
        on_decision=lambda: django_capture_on_commit_callbacks(execute=True)
    )
    document = record.document
    assert document.status == Status.DECIDED  # the decision stands
    state = RetentionState.objects.get(document=document)
    assert state.locked_until is None
    assert "connection refused" in state.lock_error
    failed = AuditEntry.objects.get(action="retention.lock_failed", document_id=document.pk)
    assert "connection refused" in failed.details["error"]

    monkeypatch.setattr(FilesystemStore, "_put", real_put)
    assert "1 records locked" in apply_retention()
    state.refresh_from_db()
    assert state.locked_until is not None and state.lock_error == ""
    for sha in record.original_hashes():
        assert lock_of(sha) == state.locked_until


def test_permanent_records_get_their_rolling_lock_extended(demo_org, clock):
    record = decide_through_route(retention_years=0)
    apply_retention()
    state = RetentionState.objects.get(document_id=record.id)
    assert state.retention_end is None
    first = state.locked_until
    assert first is not None and first.year > datetime.now(UTC).year + 29

    fiscal_year = record.document.fiscal_year
    assert fiscal_year is not None
    clock.set(date(fiscal_year + 1, 3, 31))
    assert "0 records locked" in apply_retention()
    clock.set(date(fiscal_year + 1, 4, 1))  # a new fiscal year: the horizon moves on
    assert "1 records locked" in apply_retention()
    state.refresh_from_db()
    assert state.locked_until is not None and state.locked_until.year == first.year + 1
    for sha in record.original_hashes():
        assert lock_of(sha) == state.locked_until


def test_a_decided_request_is_carried_out_later_and_a_failed_purge_is_retried(
    demo_org, clock, monkeypatch
):
    record = decide_through_route()
    apply_retention()
    clock.set(date((record.document.fiscal_year or 0) + 2, 4, 1))
    response = session("admin").post(
        "/api/v1/retention/disposals",
        {"action": "dispose", "documents": [record.id], "reason": "満了"},
        format="json",
    )
    assert response.status_code == 201, response.content
    request_id = response.json()["document"]["id"]
    assert approve("takahashi", request_id).status_code == 200  # listeners do not run
    assert Document.objects.get(pk=record.id).status == Status.DECIDED

    # The store is down while the objects are deleted: the record is disposed of all the same
    # (the database first), its objects wait.
    def down(self, key):
        raise StorageUnavailable("connection refused")

    monkeypatch.setattr(FilesystemStore, "delete", down)
    assert "1 records disposed of, 0 objects deleted" in apply_retention()
    assert Document.objects.get(pk=record.id).status == Status.DISPOSED
    tombstone = Tombstone.objects.get(document_id=record.id)
    assert set(tombstone.stored_objects.values_list("status", flat=True)) == {ObjectStatus.PENDING}
    assert DisposalRequest.objects.get(document_id=request_id).executed_at is not None

    monkeypatch.undo()
    clock.set(date((record.document.fiscal_year or 0) + 2, 4, 1))
    out = apply_retention()
    count = tombstone.stored_objects.count()
    assert f"0 records disposed of, {count} objects deleted" in out
    assert set(tombstone.stored_objects.values_list("status", flat=True)) == {ObjectStatus.DELETED}
    for sha in record.original_hashes():
        assert not get_store().exists(key_for(sha))
    assert "0 objects deleted" in apply_retention()


def test_a_record_renewed_after_the_lock_gets_locked_too(demo_org):
    # retention.renewal appends an archival timestamp to a decided record: a new, longer object.
    record = decide_through_route()
    apply_retention()
    state = RetentionState.objects.get(document_id=record.id)
    version = record.document.versions.get()
    with get_store().open(key_for(version.record_sha256)) as reader:
        renewed = reader.read() + b"\n% an archival timestamp would be here\n"
    info = get_store().put(renewed, content_type="application/pdf")
    RecordRevision.objects.create(
        version=version,
        seq=version.record_revisions.count() + 1,
        kind="timestamp",
        previous_sha256=version.record_sha256,
        sha256=info.sha256,
        size=info.size,
    )
    DocumentVersion.objects.filter(pk=version.pk).update(record_sha256=info.sha256)
    assert lock_of(info.sha256) is None

    assert "1 records locked" in apply_retention()
    assert lock_of(info.sha256) == state.locked_until
    state.refresh_from_db()
    assert state.locked_record_sha256 == info.sha256
    assert "0 records locked" in apply_retention()
