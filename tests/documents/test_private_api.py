"""pypdf, fpdf2 and DRF internals that documents (and security.assurance) use
(docs/architecture.md, "Private code of libraries"): still there, shaped as relied upon."""

from __future__ import annotations

import inspect
import zlib

from django.http import HttpRequest
from fpdf import FPDF
from fpdf.fonts import TTFFont
from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, StreamObject
from rest_framework.request import Request


def test_pypdf_writer_internals() -> None:
    writer = PdfWriter()
    assert writer._ID is None or isinstance(writer._ID, ArrayObject)  # assemble: our own /ID
    assert isinstance(writer._id_translated, dict)  # links.release_reader
    assert isinstance(writer._merged_in_pages, dict)
    reference = writer._add_object(DictionaryObject())  # embed: pypdf 7 has no add_object
    assert reference.get_object() == DictionaryObject()


def test_pypdf_writer_keys_clones_by_reader_id(tmp_path) -> None:
    source = PdfWriter()
    source.add_blank_page(100, 100)
    path = tmp_path / "one.pdf"
    source.write(path)
    reader = PdfReader(path)
    writer = PdfWriter()
    writer.add_page(reader.pages[0])
    assert id(reader) in writer._id_translated


def test_pypdf_stream_data_is_the_encoded_bytes() -> None:
    """inspection._inflated_size reads `_data` to count inflated bytes without decoding whole."""
    raw = zlib.compress(b"x" * 1000)
    stream = StreamObject.initialize_from_dictionary(
        {NameObject("/Filter"): NameObject("/FlateDecode"), "__streamdata__": raw}
    )
    assert stream._data == raw
    assert stream.get_data() == b"x" * 1000


def test_fpdf2_font_and_version_internals() -> None:
    assert "_hbfont" in TTFFont.__slots__  # cover: the copied template's shaper is reset
    assert list(inspect.signature(FPDF._set_min_pdf_version).parameters) == ["self", "version"]
    pdf = FPDF()
    pdf._set_min_pdf_version("1.6")
    assert pdf.pdf_version == "1.6"


def test_drf_request_wraps_the_django_request() -> None:
    """downloads.streamed and security.assurance look at the request under DRF's."""
    django_request = HttpRequest()
    assert Request(django_request)._request is django_request
