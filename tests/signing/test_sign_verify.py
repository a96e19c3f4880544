"""Approval signatures checked with tools nobody here wrote, and with our own verifier."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from django.utils import translation
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from signing.keystore import KeyStore, to_asn1
from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
from signing.verify import verify_pdf

from .conftest import add_markup, make_pdf


def sign_twice(pki: KeyStore, source: bytes) -> tuple[bytes, bytes]:
    first = io.BytesIO()
    info1 = sign_approval(
        source,
        first,
        position_key_id="somu-hosa",
        reason="承認 課長補佐",
        signer_name="鈴木 花子",
        field_name="stamp-1",
        box=(0, 380, 700, 450, 770),
    )
    assert info1.timestamp is not None and info1.position == "課長補佐"
    second = io.BytesIO()
    sign_approval(
        first.getvalue(),
        second,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-2",
        box=(0, 460, 700, 530, 770),
    )
    return first.getvalue(), second.getvalue()


def pdfsig(path: Path) -> list[dict[str, str]]:
    out = subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False).stdout
    sigs: list[dict[str, str]] = []
    for line in out.splitlines():
        if re.match(r"^Signature #\d+:", line):
            sigs.append({})
        m = re.match(r"^\s+- ([^:]+): (.*)$", line)
        if m and sigs:
            sigs[-1][m.group(1)] = m.group(2)
    return sigs


def our_vc(pki: KeyStore) -> ValidationContext:
    return ValidationContext(
        trust_roots=[pki.root_asn1()],
        other_certs=[to_asn1(c) for c in pki.ca.all_certificates()],
        allow_fetching=False,
    )


def test_two_approvals_pdfsig_qpdf_pyhanko(pki: KeyStore, tmp_path: Path) -> None:
    _, signed = sign_twice(pki, make_pdf(2))
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)

    sigs = pdfsig(path)
    assert len(sigs) == 2
    for sig in sigs:
        assert sig["Signature Validation"].startswith("Signature is Valid"), sig
        assert sig["Signature Type"] == "ETSI.CAdES.detached"
    assert sigs[0]["Signer Certificate Common Name"] == "課長補佐"
    assert sigs[1]["Signer Certificate Common Name"] == "総務課長"
    assert (
        sigs[1]["Signer full Distinguished Name"]
        == "CN=総務課長,OU=総務部 総務課,O=サンプル市,C=JP"
    )

    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    reader = PdfFileReader(io.BytesIO(signed))
    embedded = reader.embedded_signatures
    assert [s.field_name for s in embedded] == ["stamp-1", "stamp-2"]
    for sig in embedded:
        assert sig.sig_object.get("/Filter") == "/Adobe.PPKLite"
        assert sig.sig_object.get("/SubFilter") == "/ETSI.CAdES.detached"
        assert "/Perms" not in reader.root  # approval signatures, no certification
        status = validate_pdf_signature(sig, our_vc(pki), skip_diff=True)
        assert status.intact and status.valid and status.trusted, status.summary()
        assert status.timestamp_validity is not None and status.timestamp_validity.trusted
    # pyHanko's default policy accepts the last signature (and, here, the first one too)
    last = validate_pdf_signature(embedded[-1], our_vc(pki))
    assert last.bottom_line and last.modification_level == ModificationLevel.NONE
    first = validate_pdf_signature(embedded[0], our_vc(pki))
    assert first.bottom_line and first.modification_level <= ModificationLevel.FORM_FILLING

    report = verify_pdf(signed)
    assert report.valid, report.as_dict()
    one, two = report.signatures
    assert (one.signer, one.section, one.organisation) == (
        "課長補佐",
        "総務部 総務課",
        "サンプル市",
    )
    assert one.signer_name == "鈴木 花子" and one.reason == "承認 課長補佐"
    # the second seal changed the page the first signer saw: visible, covered by the second
    assert one.intact and one.trusted and one.modification == "annotations"
    assert two.modification == "none" and two.valid
    assert one.timestamp is not None and one.tsa == "サンプル市 タイムスタンプ局"


def test_invisible_signature_and_existing_field(pki: KeyStore) -> None:
    out = io.BytesIO()
    info = sign_approval(
        make_pdf(1),
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="hidden",
        box=None,
    )
    assert not info.visible
    report = verify_pdf(out.getvalue())
    assert report.valid and report.signatures[0].field_name == "hidden"


def test_annotations_after_signature_are_accepted_by_our_policy_only(
    pki: KeyStore, tmp_path: Path
) -> None:
    first, _ = sign_twice(pki, make_pdf(1))
    annotated = add_markup(first)
    (tmp_path / "annotated.pdf").write_bytes(annotated)
    check = subprocess.run(
        ["qpdf", "--check", str(tmp_path / "annotated.pdf")], capture_output=True
    )
    assert check.returncode == 0

    # pyHanko's default policy rejects the comment (issue #209) ...
    sig = PdfFileReader(io.BytesIO(annotated)).embedded_signatures[0]
    default = validate_pdf_signature(sig, our_vc(pki))
    assert default.modification_level == ModificationLevel.OTHER and not default.bottom_line

    # ... ours reports it as annotations, acceptable once a later signature covers it: until
    # then nobody has signed it and the record is not valid
    report = verify_pdf(annotated)
    assert not report.valid, report.as_dict()
    assert sum("/Highlight" in c or "/FreeText" in c for c in report.unsigned_changes) == 2
    assert report.signatures[0].modification == "annotations"

    # a later approver signs: both signatures valid, the second covers the marks
    out = io.BytesIO()
    sign_approval(
        annotated,
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name="stamp-2",
        box=(0, 460, 700, 530, 770),
    )
    with translation.override("en"):
        report = verify_pdf(out.getvalue())
    assert report.valid, report.as_dict()
    assert [s.modification for s in report.signatures] == ["annotations", "none"]
    first_sig, second_sig = report.signatures
    assert all("(covered by 総務課長（佐藤 太郎）, stamp-2)" in c for c in first_sig.changes)
    assert [c.split(": ", 1)[1] for c in second_sig.covers] == [
        "markup annotation /Highlight added on page 1",
        "markup annotation /FreeText added on page 1",
    ]
    path = tmp_path / "annotated-signed.pdf"
    path.write_bytes(out.getvalue())
    assert all(s["Signature Validation"].startswith("Signature is Valid") for s in pdfsig(path))


def test_annotation_with_action_is_rejected(pki: KeyStore) -> None:
    first, _ = sign_twice(pki, make_pdf(1))
    with translation.override("en"):
        report = verify_pdf(add_markup(first, subtypes=("/Square",), action=True))
    assert not report.valid
    sig = report.signatures[0]
    assert sig.modification == "other"
    assert any("action" in c for c in sig.changes), sig.changes


def test_link_annotation_is_rejected(pki: KeyStore) -> None:
    first, _ = sign_twice(pki, make_pdf(1))
    report = verify_pdf(add_markup(first, subtypes=("/Link",)))
    assert not report.valid and report.signatures[0].modification == "other"


def test_long_term_validation_and_document_timestamp(pki: KeyStore, tmp_path: Path) -> None:
    _, signed = sign_twice(pki, make_pdf(1))
    out = io.BytesIO()
    add_validation_data_and_doc_timestamp(signed, out)
    data = out.getvalue()
    reader = PdfFileReader(io.BytesIO(data))
    dss = reader.root["/DSS"]
    assert len(dss["/Certs"]) >= 3 and len(dss["/CRLs"]) >= 1
    report = verify_pdf(data)
    assert report.valid, report.as_dict()
    kinds = [s.kind for s in report.signatures]
    assert kinds == ["signature", "signature", "document_timestamp"]
    assert [s.modification for s in report.signatures] == ["annotations", "none", "none"]
    path = tmp_path / "lta.pdf"
    path.write_bytes(data)
    assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0
    sigs = pdfsig(path)
    assert all(s["Signature Validation"].startswith("Signature is Valid") for s in sigs[:2])


def test_revoked_certificate_is_not_trusted(pki: KeyStore) -> None:
    first, _ = sign_twice(pki, make_pdf(1))
    pki.ca.revoke(pki.ca.current_cert("somu-hosa").serial_number, "key_compromise")
    with translation.override("en"):
        report = verify_pdf(first)
    sig = report.signatures[0]
    assert sig.intact and not sig.trusted and not report.valid
    assert "revoked" in (sig.problem or "")


def test_foreign_root_is_not_trusted(pki: KeyStore, settings, tmp_path: Path) -> None:
    first, _ = sign_twice(pki, make_pdf(1))
    from signing.keystore import reset_keystores

    settings.SIGNING_PKI_DIR = tmp_path / "other-pki"
    reset_keystores()
    report = verify_pdf(first)
    assert not report.valid and not report.signatures[0].trusted
    assert report.signatures[0].intact


@pytest.mark.parametrize("seal", [True, False])
def test_signing_reports_timestamp_unavailable(pki: KeyStore, seal: bool) -> None:
    from pyhanko.sign.timestamps import HTTPTimeStamper

    from signing.tsa import ExternalTimeStamper, TimestampUnavailable

    ts = ExternalTimeStamper("http://127.0.0.1:9/tsa", timeout=1)
    assert isinstance(ts, HTTPTimeStamper)
    with pytest.raises(TimestampUnavailable):
        sign_approval(
            make_pdf(1),
            io.BytesIO(),
            position_key_id="somu-kacho",
            reason="承認 総務課長",
            signer_name="佐藤 太郎",
            field_name="s",
            box=(0, 380, 700, 450, 770) if seal else None,
            timestamper=ts,
        )
