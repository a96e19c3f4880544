"""Assembling the decision record: cover sheet, attachments' pages, embedded originals, outline.

Attachments are read one at a time, in order: each is opened, its pages are copied into the
writer, and its reader is let go before the next is opened, so memory holds the record being
built plus one attachment, not every attachment at once. The cover is laid out last (it lists the
page where each attachment starts) and put in front.

The output is reproducible: the same inputs give the same bytes. The file identifier (/ID) is a
hash of the inputs and the dates come from the cover, never from the clock. (A record containing
LibreOffice conversions is reproducible only as far as LibreOffice is for the same version; its
own file dates are not copied.)
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    BooleanObject,
    ByteStringObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

from documents.record import carried, links
from documents.record.convert import (
    ConversionError,
    Converter,
    ImageReadError,
    OfficeConverter,
    image_to_pdf,
    source_name,
)
from documents.record.cover import ListedAttachment, labels_for, render_cover
from documents.record.embed import EmbeddedFiles
from documents.record.sanitize import sanitize_catalog, sanitize_pages
from documents.record.types import (
    KINDS,
    CoverInfo,
    PartResult,
    RecordError,
    RecordInput,
    RecordResult,
)

RECORD_FORMAT = b"ekessai-record/1"


@dataclass
class _Part:
    number: int
    item: RecordInput
    first_index: int | None = None  # 0-based index of its first page among the attachment pages
    page_count: int = 0
    embedded: bool = False
    note: str = ""
    outline: list[links.OutlineNode] = field(default_factory=list)


def build_record(
    cover: CoverInfo,
    inputs: Sequence[RecordInput],
    out: BinaryIO,
    *,
    office_converter: Converter | None = None,
) -> RecordResult:
    """Write the decision record of one document version to `out`.

    Raises RecordError for an attachment that cannot be included (an encrypted PDF without its
    password, a file that is not the PDF or image it was taken for, bytes that do not match
    their SHA-256); nothing useful has been written to `out` then.
    """
    labels = labels_for(cover.labels)
    converter: Converter = office_converter if office_converter is not None else OfficeConverter()
    writer = PdfWriter()
    files = EmbeddedFiles(writer)
    parts: list[_Part] = []
    body_pages = 0
    with tempfile.TemporaryDirectory(prefix="ekessai-record-") as tmp:
        for number, item in enumerate(inputs, start=1):
            part = _Part(number, item)
            if item.kind not in KINDS:
                raise RecordError(
                    item.attachment_id,
                    item.filename,
                    "kind",
                    f"Attachment {item.filename!r} (id {item.attachment_id}) has an unknown kind "
                    f"{item.kind!r}; expected one of {', '.join(sorted(KINDS))}",
                )
            data = _read(item)
            if item.kind == "pdf":
                _add_pages(writer, files, part, _open_pdf(item, data), body_pages)
            elif item.kind == "image":
                _add_pages(writer, files, part, _image_reader(item, data), body_pages)
            elif item.kind == "office":
                _add_office(writer, files, part, data, converter, Path(tmp), labels, body_pages)
            if item.kind in ("office", "other"):
                relationship = "/Source" if item.kind == "office" else "/Supplement"
                files.add(number, item, data, relationship)
                part.embedded = True
            del data
            body_pages += part.page_count
            parts.append(part)

    listing = [
        ListedAttachment(
            number=p.number,
            filename=p.item.filename,
            size=p.item.size,
            sha256=p.item.sha256,
            first_page=None if p.first_index is None else p.first_index + 1,
            page_count=p.page_count,
            embedded=p.embedded,
            note=p.note,
        )
        for p in parts
    ]
    sheet = render_cover(cover, listing)
    cover_reader = PdfReader(io.BytesIO(sheet.pdf))
    writer.merge(0, cover_reader, import_outline=False)
    links.release_reader(writer, cover_reader, [writer.pages[i] for i in range(sheet.pages)])

    links.build_outline(
        writer,
        labels,
        sheet.pages,
        sheet.attachments_page,
        [(p.item.filename, p.first_index, p.outline) for p in parts],
    )
    sanitize_pages(writer.pages)
    sanitize_catalog(writer)
    links.drop_named_destinations(writer)
    files.finish()
    _finish_document(writer, cover, parts, labels)
    writer.write(out)

    results = [
        PartResult(
            attachment_id=p.item.attachment_id,
            filename=p.item.filename,
            treatment="pages" if p.first_index is not None else "embedded",
            first_page=None if p.first_index is None else sheet.pages + p.first_index + 1,
            page_count=p.page_count,
            note=p.note,
        )
        for p in parts
    ]
    return RecordResult(
        page_count=len(writer.pages),
        parts=results,
        stamp_rects=sheet.stamp_rects,
        cover_pages=sheet.pages,
        cells=sheet.cells,
    )


def _read(item: RecordInput) -> bytes:
    """The original bytes, checked against the size and SHA-256 that the cover will print."""
    with item.open() as stream:
        data = stream.read()
    expected = item.sha256.strip().lower()
    if len(data) != item.size or (expected and hashlib.sha256(data).hexdigest() != expected):
        raise RecordError(
            item.attachment_id,
            item.filename,
            "checksum",
            f"Attachment {item.filename!r} (id {item.attachment_id}): the stored bytes do not "
            f"match its recorded size or SHA-256",
        )
    return data


def _open_pdf(item: RecordInput, data: bytes) -> PdfReader:
    def fail(code: str, message: str) -> RecordError:
        return RecordError(
            item.attachment_id,
            item.filename,
            code,
            f"Attachment {item.filename!r} (id {item.attachment_id}) {message}",
        )

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            # A PDF with only an owner password (restrictions) opens with the empty password.
            if item.password is None and not reader.decrypt(""):
                raise fail("encrypted", "is encrypted: its password is needed to include it")
            if item.password is not None and not reader.decrypt(item.password):
                raise fail("wrong_password", "is encrypted and the password given does not open it")
        if len(reader.pages) == 0:
            raise fail("unreadable", "cannot be read as a PDF: it has no pages")
    except RecordError:
        raise
    except Exception as exc:  # pypdf raises many kinds on malformed input
        raise fail("unreadable", f"cannot be read as a PDF ({_reason(exc)})") from exc
    return reader


def _image_reader(item: RecordInput, data: bytes) -> PdfReader:
    try:
        pdf, _pages = image_to_pdf(data)
    except ImageReadError as exc:
        raise RecordError(
            item.attachment_id,
            item.filename,
            "unreadable",
            f"Attachment {item.filename!r} (id {item.attachment_id}) cannot be read as an "
            f"image ({exc})",
        ) from exc
    return PdfReader(io.BytesIO(pdf))


def _add_office(
    writer: PdfWriter,
    files: EmbeddedFiles,
    part: _Part,
    data: bytes,
    converter: Converter,
    tmp: Path,
    labels: dict[str, str],
    body_pages: int,
) -> None:
    if not converter.available():
        part.note = labels["note_no_converter"]
        return
    workdir = tmp / f"{part.number:03d}"
    workdir.mkdir()
    source = workdir / source_name(part.item.filename, ".bin")
    source.write_bytes(data)
    try:
        converted = converter.convert(source, tmp)
        reader = PdfReader(io.BytesIO(converted.read_bytes()), strict=False)
        if len(reader.pages) == 0:
            raise ConversionError("the PDF has no pages")
        _add_pages(writer, files, part, reader, body_pages)
    except (ConversionError, PdfReadError, OSError, ValueError) as exc:
        part.note = labels["note_conversion_failed"].format(reason=_reason(exc))


def _add_pages(
    writer: PdfWriter, files: EmbeddedFiles, part: _Part, reader: PdfReader, body_pages: int
) -> None:
    """Copy every page of `reader` to the end of `writer`, with its annotations and form fields."""
    item = part.item
    start = len(writer.pages)
    new_pages: list[PageObject] = []
    try:
        fields_before = links.form_field_count(writer)
        writer.merge(None, reader, import_outline=False)
        links.rename_clashing_fields(writer, fields_before, part.number)
        new_pages = [writer.pages[i] for i in range(start, len(writer.pages))]
        links.explicit_destinations(writer, reader, new_pages)
        part.outline = links.read_outline(reader)
        # Files the PDF carries are checked like attachments (documents.record.carried).
        annotated = carried.take_file_attachments(new_pages)
        removed = files.add_nested(part.number, item.filename, reader, annotated)
        part.note = carried.note(part.note, removed)
    except Exception as exc:  # pypdf raises many kinds on malformed input
        raise RecordError(
            item.attachment_id,
            item.filename,
            "unreadable",
            f"Attachment {item.filename!r} (id {item.attachment_id}) cannot be copied into the "
            f"record ({_reason(exc)})",
        ) from exc
    finally:
        links.release_reader(writer, reader, new_pages)
    part.first_index = body_pages
    part.page_count = len(new_pages)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]


def _pdf_date(value: date) -> str:
    return f"D:{value:%Y%m%d}000000+09'00'"


def _finish_document(
    writer: PdfWriter, cover: CoverInfo, parts: list[_Part], labels: dict[str, str]
) -> None:
    root = writer.root_object
    root[NameObject("/PageMode")] = NameObject("/UseOutlines")
    root[NameObject("/Lang")] = TextStringObject("ja-JP")
    root[NameObject("/ViewerPreferences")] = DictionaryObject(
        {NameObject("/DisplayDocTitle"): BooleanObject(True)}
    )
    metadata = {
        "/Title": cover.title,
        "/Subject": f"{labels['document_number']} {cover.document_number or labels['undecided']}"
        f" {labels['version_value'].format(version=cover.version)}",
        "/Creator": "ekessai",
    }
    when = cover.decided_on or cover.drafted_on
    if when is not None:
        metadata["/CreationDate"] = metadata["/ModDate"] = _pdf_date(when)
    writer.add_metadata(metadata)
    # PDF 2.0 from the start: the PAdES signatures declare it in the catalogue (pyHanko), and
    # the header must not say otherwise
    writer.pdf_header = "%PDF-2.0"
    digest = hashlib.sha256(RECORD_FORMAT)
    digest.update(repr(cover).encode())
    for part in parts:
        item = part.item
        digest.update(
            f"\n{item.attachment_id}|{item.filename}|{item.content_type}|{item.kind}|"
            f"{item.sha256}|{item.size}|{part.first_index}|{part.page_count}|{part.note}".encode()
        )
    identifier = digest.digest()[:16]
    writer._ID = ArrayObject([ByteStringObject(identifier), ByteStringObject(identifier)])
