"""Changes after signing that must invalidate it, and files that are no signed records at all."""

from __future__ import annotations

import io

from django.utils import translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader

from signing.keystore import KeyStore
from signing.signer import sign_approval
from signing.verify import verify_pdf

from .conftest import TESTDATA, make_pdf


def signed(source: bytes, field: str = "stamp-1") -> bytes:
    out = io.BytesIO()
    sign_approval(
        source,
        out,
        position_key_id="somu-kacho",
        reason="承認 総務課長",
        signer_name="佐藤 太郎",
        field_name=field,
        box=(0, 380, 700, 450, 770),
    )
    return out.getvalue()


def update(data: bytes, change) -> bytes:
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    change(w)
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()


def assert_invalid(data: bytes, *words: str) -> None:
    with translation.override("en"):  # the words are English
        report = verify_pdf(data)
    assert not report.valid
    sig = report.signatures[0]
    assert sig.field_name == "stamp-1" and not sig.valid
    assert "stamp-1" in (report.problem or "")
    text = " ".join([sig.problem or "", *sig.changes])
    for word in words:
        assert word in text, (word, sig.problem, sig.changes)


def test_changed_page_content(pki: KeyStore) -> None:
    def change(w: IncrementalPdfFileWriter) -> None:
        w.add_stream_to_page(
            0, w.add_object(generic.StreamObject(stream_data=b"0 0 1 rg 10 10 50 50 re f"))
        )

    data = update(signed(make_pdf(1)), change)
    assert_invalid(data, "content of page 1 changed")
    assert verify_pdf(data).signatures[0].modification == "other"


def test_replaced_content_stream_object(pki: KeyStore) -> None:
    """Overwriting the existing content stream object (same object number)."""
    data = signed(make_pdf(1))

    def change(w: IncrementalPdfFileWriter) -> None:
        page = w.root["/Pages"]["/Kids"][0].get_object()
        ref = page.raw_get("/Contents")
        stream = generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (Forged) Tj ET")
        w.objects[(ref.generation, ref.idnum)] = stream  # pyHanko's writer: override in place

    assert_invalid(update(data, change), "content of page 1 changed")


def test_added_page(pki: KeyStore) -> None:
    def change(w: IncrementalPdfFileWriter) -> None:
        page = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Page"),
                pdf_name("/MediaBox"): generic.ArrayObject(
                    [generic.NumberObject(v) for v in (0, 0, 595, 842)]
                ),
                pdf_name("/Contents"): w.add_object(generic.StreamObject(stream_data=b"")),
                pdf_name("/Resources"): generic.DictionaryObject(),
            }
        )
        w.insert_page(page)

    assert_invalid(update(signed(make_pdf(1)), change), "page(s) added")


def test_removed_page(pki: KeyStore) -> None:
    def change(w: IncrementalPdfFileWriter) -> None:
        pages = w.root["/Pages"]
        kids = pages["/Kids"]
        del kids[1]
        pages[pdf_name("/Count")] = generic.NumberObject(1)
        w.update_container(pages)
        if isinstance(pages.raw_get("/Kids"), generic.IndirectObject):
            w.update_container(kids)

    assert_invalid(update(signed(make_pdf(2)), change), "page(s) removed")


def test_changed_form_field_value(pki: KeyStore) -> None:
    data = signed((TESTDATA / "libreoffice-form.pdf").read_bytes())
    reader = PdfFileReader(io.BytesIO(data))
    text_field = next(
        f.get_object()
        for f in reader.root["/AcroForm"]["/Fields"]
        if f.get_object().get("/FT") == "/Tx"
    )
    name = str(text_field["/T"])

    def change(w: IncrementalPdfFileWriter) -> None:
        for f in w.root["/AcroForm"]["/Fields"]:
            obj = f.get_object()
            if obj.get("/T") == name:
                obj[pdf_name("/V")] = generic.TextStringObject("¥9,999,999")
                w.update_container(obj)

    assert_invalid(update(data, change), f"form field {name} value changed")


def test_flipped_byte_inside_signed_range(pki: KeyStore) -> None:
    data = bytearray(signed(make_pdf(1)))
    start = data.index(b"stream", 100) + 20  # inside the first content stream (signed)
    data[start] ^= 0x01
    with translation.override("en"):
        report = verify_pdf(bytes(data))
    assert not report.valid
    sig = report.signatures[0]
    assert sig.field_name == "stamp-1" and not sig.intact
    assert "altered" in (sig.problem or "") or "could not be validated" in (sig.problem or "")


def test_unsigned_encrypted_and_broken_pdfs() -> None:
    with translation.override("en"):
        report = verify_pdf(make_pdf(1))
        assert not report.valid and report.problem == "the PDF has no signature"

        report = verify_pdf((TESTDATA / "libreoffice-writer-password.pdf").read_bytes())
        assert not report.valid and "encrypted" in (report.problem or "")

    for garbage in (
        b"",
        b"hello",
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nendobj\n%%EOF",
        make_pdf(1)[:500],
    ):
        report = verify_pdf(garbage)
        assert not report.valid and report.problem, garbage[:20]


def test_truncated_signed_pdf(pki: KeyStore) -> None:
    data = signed(make_pdf(1))
    report = verify_pdf(data[: len(data) - 3000])
    assert not report.valid and report.problem
