"""Issue 17: links keep only http, https and mailto, whatever their spelling, and the files a
PDF carries (EmbeddedFiles, FileAttachment annotations) are checked like attachments."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    FloatObject,
    NameObject,
    TextStringObject,
)

from documents.inspection import inspect_file
from documents.record.sanitize import safe_uri
from tests.documents.record_support import build, make_cover, make_input, page_at, qpdf_check, start

A4 = (595.28, 841.89)


@pytest.mark.parametrize(
    "uri",
    [
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        " JAVASCRIPT:alert(1)",
        "\x00javascript:alert(1)",
        "java\u200bscript:alert(1)",
        "jav\x7fascript:alert(1)",
        "vbscript:msgbox(1)",
        "file:///C:/Windows/system32/calc.exe",
        "data:text/html,<script>alert(1)</script>",
        "smb://server/share",
        "/relative/path",
        "//evil.example/x",
        "",
    ],
)
def test_only_http_https_and_mailto_survive(uri: str) -> None:
    assert safe_uri(uri) is None


@pytest.mark.parametrize(
    ("uri", "kept"),
    [
        ("https://example.org/", "https://example.org/"),
        ("HTTP://EXAMPLE.ORG/a b", "HTTP://EXAMPLE.ORG/ab"),
        ("mailto:soumu@example.lg.jp", "mailto:soumu@example.lg.jp"),
        (" https://example.org/\n", "https://example.org/"),
    ],
)
def test_web_and_mail_links_are_kept_as_checked(uri: str, kept: str) -> None:
    assert safe_uri(uri) == kept


def _exe() -> bytes:
    head = bytearray(256)
    head[0:2] = b"MZ"
    struct.pack_into("<I", head, 0x3C, 0x80)
    head[0x80:0x84] = b"PE\x00\x00"
    return bytes(head)


def _file_spec(writer: PdfWriter, name: str, data: bytes) -> DictionaryObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    stream[NameObject("/Type")] = NameObject("/EmbeddedFile")
    ref = writer._add_object(stream)
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Filespec"),
            NameObject("/F"): TextStringObject(name),
            NameObject("/UF"): TextStringObject(name),
            NameObject("/EF"): DictionaryObject({NameObject("/F"): ref}),
        }
    )


def hostile_pdf() -> bytes:
    """A link to `java\\tscript:`, an .exe and a text file in FileAttachment annotations, and an
    .exe in the EmbeddedFiles name tree."""
    writer = PdfWriter()
    writer.add_blank_page(*A4)
    page = writer.pages[0]

    def annotation(subtype: str, y: float, **entries: object) -> DictionaryObject:
        annot = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Annot"),
                NameObject("/Subtype"): NameObject(subtype),
                NameObject("/Rect"): ArrayObject(
                    [FloatObject(72), FloatObject(y), FloatObject(144), FloatObject(y + 20)]
                ),
            }
        )
        for key, value in entries.items():
            annot[NameObject("/" + key)] = value
        return annot

    link = annotation(
        "/Link",
        700,
        A=DictionaryObject(
            {
                NameObject("/S"): NameObject("/URI"),
                NameObject("/URI"): TextStringObject("java\tscript:alert(1)"),
            }
        ),
    )
    exe = annotation("/FileAttachment", 600, FS=_file_spec(writer, "setup.exe", _exe()))
    note = annotation(
        "/FileAttachment", 500, FS=_file_spec(writer, "メモ.txt", "確認事項\n".encode())
    )
    page[NameObject("/Annots")] = ArrayObject(writer._add_object(a) for a in (link, exe, note))
    writer.root_object[NameObject("/Names")] = DictionaryObject(
        {
            NameObject("/EmbeddedFiles"): DictionaryObject(
                {
                    NameObject("/Names"): ArrayObject(
                        [
                            TextStringObject("tool.exe"),
                            writer._add_object(_file_spec(writer, "tool.exe", _exe())),
                        ]
                    )
                }
            )
        }
    )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_hostile_content_of_an_upload_stays_out_of_the_record(tmp_path: Path) -> None:
    source = hostile_pdf()
    # The upload itself is a PDF like any other: its original is kept byte for byte.
    original = tmp_path / "見積書.pdf"
    original.write_bytes(source)
    assert inspect_file(original, "見積書.pdf").kind == "pdf"
    data, result = build(make_cover(), [make_input(1, "見積書.pdf", source, "pdf")])
    qpdf_check(data, tmp_path)
    reader = PdfReader(io.BytesIO(data))
    page = page_at(reader, start(result.parts[0]))
    annots = [a.get_object() for a in page.get("/Annots", [])]
    assert [a["/Subtype"] for a in annots] == ["/Link"]
    assert "/A" not in annots[0]  # the disguised javascript: link lost its action
    names: Any = reader.root_object["/Names"]["/EmbeddedFiles"]["/Names"]  # type: ignore[index]
    kept = [str(names[i]) for i in range(0, len(names), 2)]
    assert any(k.endswith("メモ.txt") for k in kept), kept
    assert not any(k.endswith(".exe") for k in kept), kept
    assert b"PE\x00\x00" not in data
    note = result.parts[0].note
    assert "setup.exe" in note and "tool.exe" in note and "メモ.txt" not in note
    # The note is on the cover, beside the attachment.
    cover = "".join(reader.pages[i].extract_text() for i in range(start(result.parts[0]) - 1))
    cover = "".join(c for c in cover if c not in "\x00 \n")
    assert "除去" in cover and "setup.exe" in cover
