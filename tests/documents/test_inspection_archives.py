"""What an uploaded file is: zip-based and legacy Office files, images, programs, text."""

from __future__ import annotations

import io
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from documents.inspection import (
    DOCX,
    PPTX,
    XLSX,
    Inspection,
    Limits,
    inspect_file,
)
from tests.documents.inspection_support import *  # noqa: F403  (the shared builders)

# ---------------------------------------------------------------- zip-based files


@pytest.mark.parametrize(
    ("folder", "extra", "content_type"),
    [
        ("word", (), DOCX),
        ("xl", (), XLSX),
        ("ppt", (), PPTX),
        ("xl", ("xl/vbaProject.bin",), "application/vnd.ms-excel.sheet.macroEnabled.12"),
    ],
)
def test_ooxml_is_told_apart(
    put: Callable[..., Path], folder: str, extra: tuple[str, ...], content_type: str
) -> None:
    result = inspect_file(put(ooxml(folder, *extra)), f"file.{folder}x")
    assert (result.content_type, result.kind, result.page_count) == (content_type, "office", None)


def test_odf_is_named_by_its_mimetype_entry(put: Callable[..., Path]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>", zipfile.ZIP_DEFLATED)
    result = inspect_file(put(buffer.getvalue()), "議事録.odt")
    assert (result.content_type, result.kind) == ("application/vnd.oasis.opendocument.text",
                                                  "office")  # fmt: skip


def test_plain_zip_is_other(put: Callable[..., Path]) -> None:
    result = inspect_file(put(zip_bytes({"図面/a.txt": b"hello"})), "図面一式.zip")
    assert (result.content_type, result.kind) == ("application/zip", "other")


def test_docx_that_is_a_plain_zip_is_a_mismatch(put: Callable[..., Path]) -> None:
    error = refused(put(zip_bytes({"a.txt": b"hello"})), "契約書.docx")
    assert error.code == "type_mismatch"
    assert ".docx" in str(error.message)


def test_zip_bomb_by_ratio_at_default_limits(put: Callable[..., Path]) -> None:
    data = zip_bytes({"zeros.bin": bytes(20 * 1024**2)})  # 20 MB in ~20 KB
    assert len(data) < 100_000
    assert refused(put(data), "a.zip").code == "zip_bomb"


def test_zip_bomb_by_total_size(put: Callable[..., Path]) -> None:
    data = ooxml("word") + b""
    limits = Limits(max_zip_uncompressed=1000)
    assert refused(put(data), "a.docx", limits=limits).code == "zip_bomb"


def test_zip_bomb_by_ratio_inside_an_office_file(put: Callable[..., Path]) -> None:
    entries = {"[Content_Types].xml": b"<Types/>", "xl/sheet1.xml": b" " * (3 * 1024**2)}
    limits = Limits(max_zip_ratio=10)
    assert refused(put(zip_bytes(entries)), "a.xlsx", limits=limits).code == "zip_bomb"


def test_zip_entry_that_inflates_beyond_its_declared_size(put: Callable[..., Path]) -> None:
    data = bytearray(zip_bytes({"a.txt": bytes(5 * 1024**2)}))
    # Claim 1000 bytes, in the local header and the central directory alike.
    struct.pack_into("<I", data, 22, 1000)
    struct.pack_into("<I", data, data.rfind(b"PK\x01\x02") + 24, 1000)
    started = time.perf_counter()
    assert refused(put(bytes(data)), "a.zip").code == "broken_file"
    assert time.perf_counter() - started < 2


def test_too_many_entries(put: Callable[..., Path]) -> None:
    data = zip_bytes({f"{i}.txt": b"x" for i in range(20)})
    assert refused(put(data), "a.zip", limits=Limits(max_zip_entries=10)).code == "zip_bomb"


def test_overlapping_entries(put: Callable[..., Path]) -> None:
    data = zip_bytes({"a.txt": b"hello world"})
    cd = data.rfind(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    record = data[cd:eocd]
    copies = [record] + [record.replace(b"a.txt", f"{i}.txt".encode()) for i in range(4)]
    directory = b"".join(copies)
    end = bytearray(data[eocd:])
    struct.pack_into("<HHII", end, 8, 5, 5, len(directory), cd)
    crafted = data[:cd] + directory + bytes(end)
    assert refused(put(crafted), "a.zip").code == "zip_bomb"


@pytest.mark.parametrize("entry", ["../../evil.sh", "word/../../x.xml", "/etc/cron.d/x", "C:/x"])
def test_entries_escaping_the_archive(put: Callable[..., Path], entry: str) -> None:
    data = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>",
                      entry: b"x"})  # fmt: skip
    error = refused(put(data), "a.docx")
    assert (error.code, error.status) == ("unsupported", 422)


def test_encrypted_zip_is_refused(put: Callable[..., Path]) -> None:
    data = bytearray(zip_bytes({"secret.xlsx": b"x" * 100}))
    data[6] |= 1  # general purpose flag, bit 0: encrypted
    data[data.rfind(b"PK\x01\x02") + 8] |= 1
    assert refused(put(bytes(data)), "PPAP.zip").code == "encrypted_file"


def test_damaged_zip(put: Callable[..., Path]) -> None:
    data = ooxml("word")
    assert refused(put(data[:-30]), "a.docx").code == "broken_file"


# ---------------------------------------------------------------- legacy Office (OLE2)


@pytest.mark.parametrize(
    ("stream_name", "content_type"),
    [
        ("WordDocument", "application/msword"),
        ("Workbook", "application/vnd.ms-excel"),
        ("PowerPoint Document", "application/vnd.ms-powerpoint"),
    ],
)
def test_legacy_office(put: Callable[..., Path], stream_name: str, content_type: str) -> None:
    result = inspect_file(put(ole2({stream_name: b"\x09\x08\x10\x00" + bytes(16)})), "old.doc")
    assert (result.content_type, result.kind) == (content_type, "office")


def test_password_protected_office_files(put: Callable[..., Path]) -> None:
    encrypted_word = bytearray(12)
    struct.pack_into("<H", encrypted_word, 10, 0x0100)
    xls_with_filepass = struct.pack("<HH", 0x0809, 4) + bytes(4) + struct.pack("<HH", 0x2F, 2)
    for streams, name in [
        ({"EncryptedPackage": b"x", "EncryptionInfo": b"x"}, "a.xlsx"),
        ({"WordDocument": bytes(encrypted_word)}, "a.doc"),
        ({"Workbook": xls_with_filepass + bytes(2)}, "a.xls"),
    ]:
        assert refused(put(ole2(streams)), name).code == "encrypted_file", name


def test_other_compound_files_are_kept_as_other(put: Callable[..., Path]) -> None:
    result = inspect_file(put(ole2({"__substg1.0_0037001F": b"subject"})), "mail.msg")
    assert (result.content_type, result.kind) == ("application/x-ole-storage", "other")


def test_damaged_compound_file(put: Callable[..., Path]) -> None:
    data = ole2({"WordDocument": b"x"})
    assert refused(put(data[:700]), "a.doc").code == "broken_file"


# ---------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
     ("TIFF", "image/tiff"), ("WEBP", "image/webp"), ("BMP", "image/bmp")],
)  # fmt: skip
def test_images(put: Callable[..., Path], fmt: str, content_type: str) -> None:
    result = inspect_file(put(image_bytes(fmt)), f"photo.{fmt.lower()}")
    assert result == Inspection(content_type, "image", None, False, "")


def test_image_under_another_image_name_is_fine(put: Callable[..., Path]) -> None:
    assert inspect_file(put(image_bytes("JPEG")), "photo.png").content_type == "image/jpeg"


def test_image_bomb_with_huge_declared_size(put: Callable[..., Path]) -> None:
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    png = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    png += b"\x00\x00\x00\x00IEND\xaeB`\x82"
    error = refused(put(png), "map.png")
    assert error.code == "image_too_large"


def test_image_over_the_pixel_limit(put: Callable[..., Path]) -> None:
    error = refused(put(image_bytes("PNG", (200, 100))), "a.png",
                    limits=Limits(max_image_pixels=10_000))  # fmt: skip
    assert error.code == "image_too_large"
    assert "0.01 million" in str(error.message)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP"])
def test_truncated_images_are_broken(put: Callable[..., Path], fmt: str) -> None:
    buffer = io.BytesIO()
    Image.effect_noise((400, 300), 60).convert("RGB").save(buffer, fmt)
    data = buffer.getvalue()
    assert refused(put(data[: len(data) // 2]), f"a.{fmt.lower()}").code == "broken_image"


def test_text_named_as_image_is_a_mismatch(put: Callable[..., Path]) -> None:
    assert refused(put(b"just some text\n"), "photo.jpg").code == "type_mismatch"


# ---------------------------------------------------------------- programs, text, the rest


def test_programs_are_refused(put: Callable[..., Path]) -> None:
    pe = bytearray(512)
    pe[:2] = b"MZ"
    struct.pack_into("<I", pe, 0x3C, 0x80)
    pe[0x80:0x84] = b"PE\x00\x00"
    assert refused(put(bytes(pe)), "setup.dat").code == "unsupported"
    assert refused(put(bytes(pe)), "invoice.pdf").code == "not_a_pdf"
    assert refused(put(b"\x7fELF\x02\x01\x01" + bytes(64)), "tool").code == "unsupported"
    assert refused(put(b"@echo off\r\ndel *\r\n"), "run.bat").code == "unsupported"
    assert refused(put(b"WScript.Echo 1"), "見積書.pdf.vbs").code == "unsupported"


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        ("報告します。\n以上\n".encode(), "memo.txt", "text/plain"),
        ("品名,数量,単価\n鉛筆,10,50\n".encode("cp932"), "見積.csv", "text/csv"),
        ("品名,数量\n鉛筆,10\n".encode("euc_jp"), "a.csv", "text/csv"),
        ("\ufeffA\tB\n1\t2\n".encode("utf-16"), "a.txt", "text/tab-separated-values"),
        (b"<!DOCTYPE html><html></html>", "page.html", "text/html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "a.svg",
         "image/svg+xml"),
        (b"{\\rtf1\\ansi hello}", "a.rtf", "application/rtf"),
        (os.urandom(3000).replace(b"PK", b"pk"), "data.bin", "application/octet-stream"),
    ],
)  # fmt: skip
def test_other_types_are_kept_untrusted(
    put: Callable[..., Path], data: bytes, name: str, content_type: str
) -> None:
    result = inspect_file(put(data), name)
    assert (result.content_type, result.kind, result.page_count) == (content_type, "other", None)


def test_html_saved_as_xls_is_accepted_with_a_note(put: Callable[..., Path]) -> None:
    # Many older systems export a table as HTML under an .xls name; Excel opens it.
    result = inspect_file(put(b"<html><table><tr><td>1</td></tr></table></html>"), "一覧.xls")
    assert (result.content_type, result.kind) == ("text/html", "other")
    assert ".xls" in result.note
    assert refused(put(b"<html></html>"), "一覧.xlsx").code == "type_mismatch"


def test_binary_named_txt_is_a_mismatch(put: Callable[..., Path]) -> None:
    assert refused(put(bytes(range(256)) * 4), "notes.txt").code == "type_mismatch"


def test_office_named_txt_is_office(put: Callable[..., Path]) -> None:
    result = inspect_file(put(ooxml("xl")), "export.csv")
    assert (result.kind, result.content_type) == ("office", XLSX)
    assert ".csv" in result.note
