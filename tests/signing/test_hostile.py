"""Hostile PDFs (issue 18): overlays after the last signature, shadow attacks, rewritten
objects, malformed files and signatures pyHanko does not read by itself. Every one is listed
with a plain reason, none raises, and pdfsig is asked where it has a say."""

from __future__ import annotations

import io
import subprocess
import time
from pathlib import Path

import pytest
from django.utils import translation
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing import offline_check
from signing.keystore import KeyStore
from signing.signer import add_validation_data_and_doc_timestamp, sign_approval
from signing.verify import MAX_REVIEWED_REVISIONS, VerificationReport, verify_pdf

from . import hostile
from .conftest import make_pdf
from .test_sign_verify import pdfsig

MARKUP = (
    "/Text",
    "/FreeText",
    "/Square",
    "/Circle",
    "/Line",
    "/Polygon",
    "/PolyLine",
    "/Highlight",
    "/Underline",
    "/Squiggly",
    "/StrikeOut",
    "/Caret",
    "/Ink",
    "/Stamp",
)
OTHER_ANNOTATIONS = (
    "/Link",
    "/FileAttachment",
    "/Sound",
    "/Movie",
    "/Screen",
    "/Widget",
    "/PrinterMark",
    "/TrapNet",
    "/Watermark",
    "/3D",
    "/Redact",
    "/RichMedia",
)


def sign(data: bytes, field: str, y: float = 700, key: str = "somu-kacho") -> bytes:
    out = io.BytesIO()
    sign_approval(
        data,
        out,
        position_key_id=key,
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name=field,
        box=(0, 380, y, 450, y + 70),
    )
    return out.getvalue()


def decided(data: bytes) -> bytes:
    out = io.BytesIO()
    add_validation_data_and_doc_timestamp(data, out)
    return out.getvalue()


@pytest.fixture
def record(pki: KeyStore) -> bytes:
    """A decided record: two approvals, B-LTA."""
    return decided(sign(sign(make_pdf(2), "stamp-1", key="somu-hosa"), "stamp-2", 600))


def english(data: bytes) -> VerificationReport:
    with translation.override("en"):
        return verify_pdf(data)


def test_the_decided_record_is_valid_and_pdfsig_agrees(record: bytes, tmp_path: Path) -> None:
    report = english(record)
    assert report.valid and not report.unsigned_changes, report.as_dict()
    # the second approver's seal is a visible change for the first, covered by the second
    first = report.signatures[0]
    assert first.modification == "annotations"
    assert any("stamp-2 added, with an appearance on page 1" in c for c in first.changes)
    assert any("covered by" in c for c in first.changes)
    path = tmp_path / "record.pdf"
    path.write_bytes(record)
    sigs = pdfsig(path)
    assert all(s["Signature Validation"].startswith("Signature is Valid") for s in sigs[:2])


def offline(data: bytes, pki: KeyStore, tmp_path: Path) -> bool:
    """The evidence package's checker (verify_record.py), on the package's root and CRL."""
    path = tmp_path / "checked.pdf"
    path.write_bytes(data)
    valid, _lines = offline_check.check(path, pki.ca.root_cert_path, pki.ca.crl_path)
    return valid


def test_pdfsig_the_package_checker_and_ours_agree(
    record: bytes, pki: KeyStore, tmp_path: Path
) -> None:
    """On the records the system makes, and on the overlay nobody signed."""
    path = tmp_path / "record.pdf"
    path.write_bytes(record)
    assert all(s["Signature Validation"].startswith("Signature is Valid") for s in pdfsig(path)[:2])
    assert offline(record, pki, tmp_path) and english(record).valid
    forged = hostile.field_overlay(record)
    assert not offline(forged, pki, tmp_path) and not english(forged).valid
    marked = hostile.annotation_overlay(record, "/FreeText")
    assert not offline(marked, pki, tmp_path) and not english(marked).valid


def test_forged_overlay_by_an_empty_signature_field(record: bytes) -> None:
    report = english(hostile.field_overlay(record))
    assert not report.valid
    assert any(
        "empty signature field overlay-Sig added, with an appearance on page 1" in c
        for c in report.unsigned_changes
    ), report.unsigned_changes
    assert "signed by nobody" in (report.problem or "")
    assert all(s.modification != "none" for s in report.signatures), report.as_dict()


@pytest.mark.parametrize("ft", ["/Tx", "/Btn", "/Ch"])
def test_overlay_by_every_field_type(record: bytes, ft: str) -> None:
    report = english(hostile.field_overlay(record, ft, value=True))
    assert not report.valid
    assert any(f"form field overlay-{ft[1:]} added" in c for c in report.unsigned_changes)
    assert all(s.modification == "other" for s in report.signatures[:2])


@pytest.mark.parametrize("subtype", MARKUP + OTHER_ANNOTATIONS)
def test_overlay_by_every_annotation_type(record: bytes, subtype: str) -> None:
    report = english(hostile.annotation_overlay(record, subtype))
    assert not report.valid, subtype
    assert any(f"{subtype} added on page 1" in c for c in report.unsigned_changes), (
        report.unsigned_changes
    )
    expected = "annotations" if subtype in MARKUP else "other"
    assert report.signatures[1].modification == expected


def test_markup_before_a_later_signature_names_who_covers_it(pki: KeyStore) -> None:
    first = sign(make_pdf(1), "stamp-1", key="somu-hosa")
    marked = hostile.annotation_overlay(first, "/FreeText")
    assert not english(marked).valid  # nobody has signed the mark yet
    report = english(sign(marked, "stamp-2", 600))
    assert report.valid, report.as_dict()
    assert report.signatures[1].covers == [
        "revision 2: markup annotation /FreeText added on page 1"
    ]
    assert any(
        "/FreeText" in c and "covered by 総務課長（佐藤 太郎）, stamp-2" in c
        for c in report.signatures[0].changes
    )


def test_metadata_after_the_decision(record: bytes) -> None:
    report = english(hostile.metadata_change(record))
    assert not report.valid
    assert any("document information (/Info) changed" in c for c in report.unsigned_changes)


def test_shadow_hide_replace_and_hide_and_replace(pki: KeyStore) -> None:
    prepared, xobject = hostile.shadow_prepared(make_pdf(1))
    signed = sign(prepared, "stamp-1")
    assert english(signed).valid
    for attack in (
        hostile.shadow_hide(signed, xobject),
        hostile.shadow_replace(signed),
        hostile.shadow_hide_and_replace(signed),
    ):
        report = english(attack)
        assert not report.valid, report.as_dict()
        assert report.signatures and report.signatures[0].modification == "other"
        assert report.problem


def test_encrypt_as_an_array_is_a_report_not_an_error(
    record: bytes, client, django_user_model
) -> None:
    data = hostile.encrypt_array(record)
    report = english(data)
    assert not report.valid and "encrypted" in (report.problem or "")
    user = django_user_model.objects.create_user("verifier", password="x")
    client.force_login(user)
    response = client.post("/api/v1/verify", {"file": io.BytesIO(data)})
    assert response.status_code == 200, response.content[:300]
    assert response.json()["valid"] is False


@pytest.mark.parametrize("damage", ["negative_offset", "broken_startxref"])
def test_broken_cross_references_still_list_the_signatures(record: bytes, damage: str) -> None:
    report = english(getattr(hostile, damage)(record))
    assert not report.valid and report.problem
    assert len(report.signatures) == 3, report.as_dict()
    assert all(s.intact for s in report.signatures), report.as_dict()


def test_several_signer_infos(pki: KeyStore) -> None:
    first = sign(make_pdf(1), "stamp-1", key="somu-hosa")
    data = hostile.patch_cms(sign(first, "stamp-2", 600), hostile.two_signer_infos)
    report = english(data)
    assert len(report.signatures) == 2
    assert report.signatures[0].valid
    second = report.signatures[1]
    assert second.intact and second.trusted and not second.valid
    assert "2 SignerInfos" in (second.problem or "")


def test_copied_timestamp(pki: KeyStore) -> None:
    donor = sign(make_pdf(1, text="another record"), "stamp-1")
    data = hostile.patch_cms(sign(make_pdf(1), "stamp-1"), hostile.copied_timestamp(donor))
    report = english(data)
    sig = report.signatures[0]
    assert not report.valid and not sig.valid
    assert sig.intact  # the document is as signed; its timestamp vouches for another signature
    assert "timestamp" in (sig.problem or "")


def test_legacy_adbe_pkcs7_sha1_is_listed(pki: KeyStore, tmp_path: Path) -> None:
    data = hostile.sign_pkcs7_sha1(sign(make_pdf(1), "stamp-1"), pki, "somu-hosa")
    path = tmp_path / "sha1.pdf"
    path.write_bytes(data)
    assert len(pdfsig(path)) == 2
    report = english(data)
    assert [s.field_name for s in report.signatures] == ["stamp-1", "legacy-sha1"]
    legacy = report.signatures[1]
    assert legacy.intact and legacy.trusted and not legacy.valid
    assert "SHA-1" in (legacy.problem or "") and "adbe.pkcs7.sha1" in (legacy.problem or "")
    assert legacy.signer == "課長補佐" and legacy.signer_name == "旧 方式"


def test_legacy_adbe_x509_rsa_sha1_is_listed(pki: KeyStore, tmp_path: Path) -> None:
    data = hostile.sign_x509_rsa_sha1(make_pdf(1), pki)
    path = tmp_path / "rsa.pdf"
    path.write_bytes(data)
    assert len(pdfsig(path)) == 1
    report = english(data)
    (legacy,) = report.signatures
    assert legacy.field_name == "legacy-rsa" and legacy.intact and legacy.trusted
    assert not legacy.valid and "adbe.x509.rsa_sha1" in (legacy.problem or "")
    # a flipped byte inside the signed range
    flipped = bytearray(data)
    flipped[200] ^= 1
    report = english(bytes(flipped))
    assert report.signatures and not report.signatures[0].intact


def test_qpdf_reads_what_we_build(record: bytes, tmp_path: Path) -> None:
    path = tmp_path / "overlay.pdf"
    path.write_bytes(hostile.field_overlay(record))
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode in (0, 3), check.stdout + check.stderr


def test_more_revisions_than_any_record_has(record: bytes) -> None:
    """Revisions piled up after the decision: judged changed at once, with a plain reason,
    instead of a comparison whose work grows with their square (bench/verify.py times it)."""
    data = record
    for _ in range(MAX_REVIEWED_REVISIONS + 2):
        data = hostile.annotation_overlay(data, "/Square")
    report = english(data)
    assert not report.valid and len(report.signatures) == 3
    assert all(s.modification == "other" for s in report.signatures)
    assert any("revisions follow this signature" in c for c in report.signatures[0].changes)
    assert report.unsigned_changes


def test_validation_data_written_a_second_later_is_not_a_change(
    pki: KeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyHanko stamps the modification date into the XMP and /Info of every revision it writes,
    also of the DSS it adds after the document timestamp. When that revision falls in the next
    second, only the dates differ: that is validation data, not a change signed by nobody (it
    made decided records read invalid now and then)."""
    from pyhanko.sign.validation import dss

    original = dss.DocumentSecurityStore.add_dss.__func__  # type: ignore[attr-defined]

    def later(cls: type, *args: object, **kwargs: object) -> object:
        time.sleep(1.1)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(dss.DocumentSecurityStore, "add_dss", classmethod(later))
    data = decided(sign(sign(make_pdf(2), "stamp-1", key="somu-hosa"), "stamp-2", 600))
    report = english(data)
    assert report.valid and not report.unsigned_changes, report.as_dict()
    # a title changed in the same way is still named
    w = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    w.document_meta.title = "文書番号 企財第999号"
    w.update_root()  # pyHanko writes nothing for metadata alone
    out = io.BytesIO()
    w.write(out)
    report = english(out.getvalue())
    assert not report.valid
    assert any("metadata" in c or "information" in c for c in report.unsigned_changes), (
        report.as_dict()
    )
