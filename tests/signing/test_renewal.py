"""Archival timestamp renewal (PAdES B-LTA): before the TSA certificate of a record's last
document timestamp expires, add its validation data and a new document timestamp; once the old
TSA certificate has expired, the chain still validates (each timestamp at the time of the next)
and so do the approval signatures."""

from __future__ import annotations

import datetime as dt
import io
import time

import pytest
from django.utils import translation

from signing.keystore import KeyStore
from signing.renewal import (
    RenewalFailed,
    ensure_fresh_tsa,
    last_document_timestamp,
    renew_pdf,
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
    # the second approver's seal is a visible change for the first signature, covered by it
    assert [s.modification for s in report.signatures] == ["annotations"] + ["none"] * 3

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
