"""Renewing the archival timestamps of stored records (``renew_timestamps``,
`retention.renewal`): each record that needs it gets a new document timestamp once, in its own
transaction, with a revision row, an audit entry and its Object Lock; a broken one is reported.
The PDF side (`signing.renewal`) is tested in tests/signing/test_renewal.py."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from retention.renewal import renew_version
from signing.keystore import KeyStore
from signing.renewal import ensure_fresh_tsa
from signing.verify import verify_pdf
from tests.signing.conftest import make_pdf, pki
from tests.signing.test_renewal import decided_record, short_tsa, wait_until

__all__ = ["pki"]  # the fixture, imported for pytest


def make_version(source: bytes, decided: bytes, signed: bytes) -> int:
    from documents.models import (
        Document,
        DocumentType,
        DocumentVersion,
        RecordRevision,
        Retention,
        RevisionKind,
    )
    from org.models import Department, User
    from storage import get_store

    user = User.objects.get(username="tanaka")
    document = Document.objects.create(
        title="物品購入契約",
        doc_type=DocumentType.objects.get(code="notice"),
        department=Department.objects.get(code="somu-somu"),
        drafter=user,
        status="decided",
        number=f"総務第{Document.objects.count() + 1}号",
        fiscal_year=2026,
        decided_at=timezone.now(),
        retention_years=Retention.TEN,
    )
    store = get_store()
    shas = [store.put(data, content_type="application/pdf").sha256 for data in (source, signed)]
    final = store.put(decided, content_type="application/pdf")
    version = DocumentVersion.objects.create(
        document=document,
        number=1,
        created_by=user,
        frozen_at=timezone.now(),
        record_sha256=final.sha256,
        record_size=final.size,
    )
    RecordRevision.objects.create(
        version=version,
        seq=1,
        kind=RevisionKind.SIGNATURE,
        previous_sha256=shas[0],
        sha256=shas[1],
        size=len(signed),
    )
    RecordRevision.objects.create(
        version=version,
        seq=2,
        kind=RevisionKind.TIMESTAMP,
        previous_sha256=shas[1],
        sha256=final.sha256,
        size=final.size,
        reason="PAdES B-LTA",
    )
    return int(version.pk)


def current_record(version_pk: int) -> bytes:
    from documents.models import DocumentVersion
    from storage import get_store, key_for

    version = DocumentVersion.objects.get(pk=version_pk)
    with get_store().open(key_for(version.record_sha256)) as reader:
        return bytes(reader.read())


@pytest.mark.django_db
def test_command_renews_records_once(pki: KeyStore, demo_org: None) -> None:
    from audit.models import AuditEntry
    from documents.models import DocumentVersion, RecordRevision

    short_tsa(pki, 30 * 86400)  # a TSA certificate that expires in 30 days
    source = make_pdf(1)
    signed, decided = decided_record(source)
    pk = make_version(source, decided, signed)
    up_to_date = make_version(source, decided, signed)
    # a second record, already renewed by hand with a long-lived TSA
    ensure_fresh_tsa(365)
    assert renew_version(up_to_date).action == "renewed"

    out = io.StringIO()
    call_command("renew_timestamps", "--dry-run", stdout=out, stderr=io.StringIO())
    assert "would renew" in out.getvalue() and "records: 1 up to date, 1 would renew" in (
        out.getvalue()
    )
    assert current_record(pk) == decided  # nothing changed

    out = io.StringIO()
    call_command("renew_timestamps", "--days", "365", stdout=out, stderr=io.StringIO())
    assert "records: 1 renewed, 1 up to date" in out.getvalue(), out.getvalue()
    version = DocumentVersion.objects.get(pk=pk)
    revisions = list(RecordRevision.objects.filter(version=version).order_by("seq"))
    assert [r.kind for r in revisions] == ["signature", "timestamp", "timestamp"]
    last = revisions[-1]
    assert last.previous_sha256 == revisions[1].sha256 and last.sha256 == version.record_sha256
    assert last.timestamp is not None and last.certificate_serial
    assert last.reason == "PAdES B-LTA renewal"
    record = current_record(pk)
    assert record.startswith(decided) and len(record) == version.record_size
    report = verify_pdf(record)
    assert report.valid, report.as_dict()
    assert [s.kind for s in report.signatures][-2:] == ["document_timestamp"] * 2
    assert AuditEntry.objects.filter(action="signing.timestamp_renewed").count() == 2
    # The renewed record is a new object, locked at once like the rest of the record.
    from retention.models import RetentionState
    from storage import get_store, key_for

    state = RetentionState.objects.get(document_id=version.document_id)
    assert state.locked_record_sha256 == version.record_sha256
    assert get_store().stat(key_for(version.record_sha256)).retain_until == state.locked_until

    # idempotent
    out = io.StringIO()
    call_command("renew_timestamps", "--json", stdout=out, stderr=io.StringIO())
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["action"] for r in rows] == ["up to date", "up to date"]
    # both were renewed by our TSA: known from their revision rows, without reading them
    assert [r["detail"] for r in rows] == ["known from the database"] * 2
    assert DocumentVersion.objects.get(pk=pk).record_sha256 == version.record_sha256


@pytest.mark.django_db
def test_command_reports_a_record_that_cannot_be_renewed(pki: KeyStore, demo_org: None) -> None:
    expires = short_tsa(pki, 3)
    source = make_pdf(1)
    signed, decided = decided_record(source)
    pk = make_version(source, decided, signed)
    wait_until(expires + dt.timedelta(seconds=1.5))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 record"):
        call_command("renew_timestamps", stdout=out, stderr=io.StringIO())
    assert "failed" in out.getvalue() and "too late" in out.getvalue()
    assert current_record(pk) == decided
