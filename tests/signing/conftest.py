"""Fixtures for the signing tests: an internal CA in a temp dir, PDFs, tampering helpers."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from fpdf import FPDF
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

from signing.keystore import KeyStore, get_keystore, reset_keystores

ROOT = Path(__file__).resolve().parents[2]
TESTDATA = ROOT.parent / "shared" / "testdata" / "pdfs"
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture
def pki(tmp_path: Path, settings, monkeypatch) -> Iterator[KeyStore]:
    """A fresh CA with two position keys: somu-kacho (総務課長) and somu-hosa (課長補佐)."""
    for var in ("EKESSAI_PKI_DIR", "EKESSAI_KEY_PASSPHRASE", "TSA_URL", "TSA_USERNAME"):
        monkeypatch.delenv(var, raising=False)
    settings.SIGNING_PKI_DIR = tmp_path / "pki"
    settings.SIGNING_KEY_PASSPHRASE = "correct horse battery staple"
    reset_keystores()
    store = get_keystore()
    store.ca.issue_position("somu-kacho", position="総務課長", section="総務部 総務課")
    store.ca.issue_position("somu-hosa", position="課長補佐", section="総務部 総務課")
    yield store
    reset_keystores()


def make_pdf(pages: int = 1, *, text: str = "Decision record") -> bytes:
    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for i in range(pages):
        pdf.add_page()
        pdf.cell(0, 10, f"{text} - page {i + 1}")
        pdf.ln()
        pdf.multi_cell(0, 6, "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8)
    return bytes(pdf.output())


@pytest.fixture
def minimal_pdf() -> bytes:
    return (TESTDATA / "minimal-document.pdf").read_bytes()


def _appearance(
    w: IncrementalPdfFileWriter, width: float, height: float, ops: bytes, resources=None
):
    ap = generic.StreamObject(
        {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Form"),
            pdf_name("/BBox"): generic.ArrayObject(
                [
                    generic.FloatObject(0),
                    generic.FloatObject(0),
                    generic.FloatObject(width),
                    generic.FloatObject(height),
                ]
            ),
            pdf_name("/Resources"): resources or generic.DictionaryObject(),
        },
        stream_data=ops,
    )
    return w.add_object(ap)


def add_markup(
    data: bytes, *, page: int = 0, subtypes=("/Highlight", "/FreeText"), action=False
) -> bytes:
    """An incremental update adding markup annotations with appearance streams (as the server
    writes them), optionally with a forbidden /A action."""
    w = IncrementalPdfFileWriter(io.BytesIO(data))
    page_ref, _ = w.find_page_for_modification(page)
    x, y = 72.0, 700.0
    for subtype in subtypes:
        width, height = 200.0, 18.0
        if subtype == "/Highlight":
            ops = b"/GS0 gs 1 1 0 rg 0 0 200 18 re f"
            res = generic.DictionaryObject(
                {
                    pdf_name("/ExtGState"): generic.DictionaryObject(
                        {
                            pdf_name("/GS0"): generic.DictionaryObject(
                                {
                                    pdf_name("/BM"): pdf_name("/Multiply"),
                                    pdf_name("/ca"): generic.FloatObject(0.5),
                                }
                            )
                        }
                    )
                }
            )
        else:
            ops = (
                b"0 0 1 RG 1 w 0.5 0.5 199 17 re S "
                b"BT /Helv 10 Tf 0 0 1 rg 4 5 Td (Please check) Tj ET"
            )
            res = generic.DictionaryObject(
                {
                    pdf_name("/Font"): generic.DictionaryObject(
                        {
                            pdf_name("/Helv"): w.add_object(
                                generic.DictionaryObject(
                                    {
                                        pdf_name("/Type"): pdf_name("/Font"),
                                        pdf_name("/Subtype"): pdf_name("/Type1"),
                                        pdf_name("/BaseFont"): pdf_name("/Helvetica"),
                                    }
                                )
                            )
                        }
                    )
                }
            )
        rect = [x, y, x + width, y + height]
        annot = generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Annot"),
                pdf_name("/Subtype"): pdf_name(subtype),
                pdf_name("/Rect"): generic.ArrayObject([generic.FloatObject(v) for v in rect]),
                pdf_name("/Contents"): generic.TextStringObject("要確認"),
                pdf_name("/T"): generic.TextStringObject("佐藤"),
                pdf_name("/P"): page_ref,
                pdf_name("/C"): generic.ArrayObject(
                    [generic.FloatObject(1), generic.FloatObject(1), generic.FloatObject(0)]
                ),
                pdf_name("/AP"): generic.DictionaryObject(
                    {pdf_name("/N"): _appearance(w, width, height, ops, res)}
                ),
            }
        )
        if subtype == "/Highlight":
            x1, y1, x2, y2 = rect
            annot[pdf_name("/QuadPoints")] = generic.ArrayObject(
                [generic.FloatObject(v) for v in (x1, y2, x2, y2, x1, y1, x2, y1)]
            )
        if subtype == "/FreeText":
            annot[pdf_name("/DA")] = generic.TextStringObject("/Helv 10 Tf 0 0 1 rg")
        if action:
            annot[pdf_name("/A")] = generic.DictionaryObject(
                {
                    pdf_name("/S"): pdf_name("/URI"),
                    pdf_name("/URI"): generic.TextStringObject("https://example.org/"),
                }
            )
        w.register_annotation(page_ref, w.add_object(annot))
        y -= 30
    out = io.BytesIO()
    w.write(out)
    return out.getvalue()
