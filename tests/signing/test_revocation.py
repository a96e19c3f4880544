"""A post is abolished: its certificate is revoked (cessationOfOperation). Signatures it made
before stay valid (their trusted timestamps precede the revocation); nothing can be signed
with it afterwards; a signature timestamped after the revocation is reported revoked."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from signing.cms import PositionSigner
from signing.keystore import KeyStore
from signing.pki import PKIError
from signing.positions import (
    parse_position_key_id,
    position_key_id,
    reissue_position,
    revoke_position,
)
from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
from signing.verify import verify_pdf

from .conftest import make_pdf


def sign(source: bytes, key_id: str = "somu-hosa", field: str = "stamp-1") -> bytes:
    out = io.BytesIO()
    sign_approval(
        source,
        out,
        position_key_id=key_id,
        reason="承認 課長補佐",
        signer_name="鈴木 花子",
        field_name=field,
        box=(0, 380, 700, 450, 770),
    )
    return out.getvalue()


def after_a_second() -> None:
    """CRL revocation dates have one-second precision (and are rounded down): a revocation in
    the same second as the signature would not be provably later."""
    time.sleep(1.1)


def test_key_ids() -> None:
    assert position_key_id(12, 3) == "post-12-3"
    assert parse_position_key_id("post-12-3") == (12, 3)
    assert parse_position_key_id("person-4") is None


@pytest.mark.django_db
def test_abolished_post_keeps_earlier_signatures_valid(pki: KeyStore) -> None:
    from audit.models import AuditEntry

    signed = sign(make_pdf(1))
    after_a_second()
    revocation = revoke_position("somu-hosa", store=pki)
    assert revocation.reason == "cessation_of_operation" and not revocation.already
    assert AuditEntry.objects.filter(action="signing.certificate_revoked").count() == 1

    report = verify_pdf(signed)
    assert report.valid, report.as_dict()
    sig = report.signatures[0]
    assert sig.valid and sig.trusted and sig.intact and not sig.revoked
    assert sig.validated_at_timestamp
    assert sig.revocation_reason == "cessation_of_operation"
    assert sig.revoked_at == revocation.revoked_at
    assert sig.timestamp is not None and sig.timestamp < sig.revoked_at
    assert report.as_dict()["signatures"][0]["revoked_at"] == revocation.revoked_at.isoformat()

    # idempotent: the first date and reason stay
    again = revoke_position("somu-hosa", store=pki, reason="superseded")
    assert again.already and again.revoked_at == revocation.revoked_at
    assert again.reason == "cessation_of_operation"
    assert AuditEntry.objects.filter(action="signing.certificate_revoked").count() == 1


@pytest.mark.django_db
def test_no_signature_after_abolition(pki: KeyStore) -> None:
    first = sign(make_pdf(1))
    revoke_position("somu-hosa", store=pki)
    with pytest.raises(PKIError, match="revoked"):
        sign(first, field="stamp-2")
    # the other post still signs, and the record stays valid
    both = sign(first, key_id="somu-kacho", field="stamp-2")
    assert [s.field_name for s in verify_pdf(both).signatures] == ["stamp-1", "stamp-2"]


@pytest.mark.django_db
def test_signature_timestamped_after_revocation_is_revoked(pki: KeyStore) -> None:
    """A key held on to after the revocation (a process that had it loaded, a copy) makes a
    signature whose timestamp is later than the revocation: revoked, invalid."""
    loaded = pki.get("somu-hosa")
    revoke_position("somu-hosa", store=pki)
    after_a_second()
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from signing.tsa import InternalTimeStamper

    out = io.BytesIO()
    signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name="late", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
        ),
        PositionSigner(loaded),
        timestamper=InternalTimeStamper(),
    ).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(make_pdf(1))), output=out)
    with translation.override("en"):
        report = verify_pdf(out.getvalue())
    sig = report.signatures[0]
    assert not report.valid and sig.revoked and not sig.trusted and not sig.validated_at_timestamp
    assert "revoked" in (sig.problem or "")
    assert sig.revocation_reason == "cessation_of_operation"


@pytest.mark.django_db
def test_decided_record_stays_valid_after_abolition(pki: KeyStore) -> None:
    signed = sign(sign(make_pdf(2)), key_id="somu-kacho", field="stamp-2")
    out = io.BytesIO()
    add_validation_data_and_doc_timestamp(signed, out)
    after_a_second()
    revoke_position("somu-kacho", store=pki)
    report = verify_pdf(out.getvalue())
    assert report.valid, report.as_dict()
    kinds = [(s.kind, s.validated_at_timestamp) for s in report.signatures]
    assert kinds == [
        ("signature", False),
        ("signature", True),
        ("document_timestamp", False),
    ]


@pytest.mark.django_db
def test_reissue_after_revocation(pki: KeyStore) -> None:
    old = sign(make_pdf(1))
    after_a_second()
    revoke_position("somu-hosa", store=pki)
    reissue_position("somu-hosa", store=pki)
    both = sign(old, field="stamp-2")
    report = verify_pdf(both)
    assert report.valid, report.as_dict()
    assert [s.validated_at_timestamp for s in report.signatures] == [True, False]


@pytest.mark.django_db
def test_command(pki: KeyStore) -> None:
    pki.ca.issue_position("post-3-7", position="会計課長", section="会計管理室 会計課")
    out = io.StringIO()
    call_command("revoke_position", "post-3-7", stdout=out)
    assert "会計課長" in out.getvalue() and "revoked" in out.getvalue()
    out = io.StringIO()
    call_command("revoke_position", "post-3-7", "--json", stdout=out)
    data = json.loads(out.getvalue())
    assert data["already_revoked"] and data["reason"] == "cessation_of_operation"
    assert data["serial"] == f"{pki.ca.current_cert('post-3-7').serial_number:x}"
    with pytest.raises(CommandError, match="unknown signing key"):
        call_command("revoke_position", "post-9-9", stdout=io.StringIO())
    with pytest.raises(PKIError, match="revoked"):
        pki.get("post-3-7")


def test_expired_certificate_keeps_earlier_signatures_valid(pki: KeyStore) -> None:
    """The same proof of existence covers a position certificate that has since expired."""
    import datetime as dt

    cert = pki.ca.issue_position(
        "short-post", position="臨時課長", section="総務部", days=4 / 86400
    )
    signed = sign(make_pdf(1), key_id="short-post")
    delay = (cert.not_valid_after_utc - dt.datetime.now(dt.UTC)).total_seconds() + 1.5
    time.sleep(max(delay, 0))
    report = verify_pdf(signed)
    assert report.valid, report.as_dict()
    sig = report.signatures[0]
    assert sig.validated_at_timestamp and sig.trusted and not sig.revoked
    assert sig.timestamp is not None and sig.timestamp < cert.not_valid_after_utc
