"""Archival timestamp renewal (PAdES B-LTA): before the TSA certificate of a record's last
document timestamp expires, add its validation data and a new document timestamp; once the old
TSA certificate has expired, the chain still validates (each timestamp at the time of the next)
and so do the approval signatures."""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from signing.keystore import KeyStore
from signing.renewal import (
    RenewalFailed,
    ensure_fresh_tsa,
    last_document_timestamp,
    renew_pdf,
    renew_version,
)
from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
from signing.verify import verify_pdf

from .conftest import make_pdf


def decided_record(source: bytes) -> tuple[bytes, bytes]:
    """(the record with two approval signatures, the same after B-LTA)."""
    data = source
    for key_id, field, box in (
        ("somu-hosa", "stamp-1", (0, 380, 700, 450, 770)),
        ("somu-kacho", "stamp-2", (0, 460, 700, 530, 770)),
    ):
        out = io.BytesIO()
        sign_approval(
            data,
            out,
            position_key_id=key_id,
            reason="承認",
            signer_name="佐藤 太郎",
            field_name=field,
            box=box,
        )
        data = out.getvalue()
    final = io.BytesIO()
    add_validation_data_and_doc_timestamp(data, final)
    return data, final.getvalue()


def short_tsa(pki: KeyStore, seconds: float) -> dt.datetime:
    cert = pki.ca.rotate_tsa(days=seconds / 86400)
    pki.forget(KeyStore.TSA)
    return cert.not_valid_after_utc


def wait_until(moment: dt.datetime) -> None:
    delay = (moment - dt.datetime.now(dt.UTC)).total_seconds()
    if delay > 0:
        time.sleep(delay)


def test_renewal_keeps_the_chain_valid_after_the_old_tsa_expires(pki: KeyStore) -> None:
    expires = short_tsa(pki, 8)
    _, decided = decided_record(make_pdf(2))
    state = last_document_timestamp(decided)
    assert state is not None and state.tsa_not_after == expires
    assert any("expires" in r for r in state.reasons(days=365))
    assert state.reasons(days=0, now=expires - dt.timedelta(minutes=1)) == []

    message = ensure_fresh_tsa(365)
    assert message and "replaced the internal TSA certificate" in message
    assert ensure_fresh_tsa(365) is None  # the new one lasts ten years

    out = io.BytesIO()
    result = renew_pdf(decided, out)
    renewed = out.getvalue()
    assert renewed.startswith(decided)  # an incremental update
    assert result.tsa_not_after > dt.datetime.now(dt.UTC) + dt.timedelta(days=3000)
    new_state = last_document_timestamp(renewed)
    assert new_state is not None and new_state.reasons(days=365) == []
    report = verify_pdf(renewed)
    assert report.valid, report.as_dict()
    assert [s.kind for s in report.signatures] == [
        "signature",
        "signature",
        "document_timestamp",
        "document_timestamp",
    ]
    assert all(s.modification == "none" for s in report.signatures)

    wait_until(expires + dt.timedelta(seconds=1.5))
    # the old TSA certificate has expired: without renewal the record no longer validates…
    with translation.override("en"):
        stale = verify_pdf(decided)
    assert not stale.valid
    assert "timestamp" in (stale.problem or "")
    with pytest.raises(RenewalFailed, match="too late"):
        renew_pdf(decided, io.BytesIO())
    # …with it, everything validates, the older timestamps at the time of the newer one
    report = verify_pdf(renewed)
    assert report.valid, report.as_dict()
    one, two, old_ts, new_ts = report.signatures
    assert new_ts.timestamp_validated_at is None and new_ts.timestamp_valid
    assert old_ts.timestamp_validated_at == new_ts.timestamp
    assert one.timestamp_validated_at == old_ts.timestamp
    assert two.timestamp_validated_at == old_ts.timestamp
    assert one.trusted and two.trusted and one.intact and two.intact


def test_weak_algorithms_are_reasons() -> None:
    from signing.renewal import TimestampState

    now = dt.datetime.now(dt.UTC)
    state = TimestampState(
        field_name="ts",
        time=now,
        tsa="old TSA",
        tsa_serial=1,
        tsa_not_after=now + dt.timedelta(days=5000),
        digest_algorithm="sha1",
        signature_digest="sha256",
        key_algorithm="rsa",
        key_bits=1024,
    )
    assert state.reasons(days=365) == ["weak document digest sha1", "weak TSA key rsa 1024 bits"]


# --- the records in the database ---------------------------------------------------------------


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
