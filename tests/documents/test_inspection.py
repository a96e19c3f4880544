"""documents.inspection: what an uploaded file is, and whether we keep it.

Every hostile or broken file here is built by the test itself; the real-world PDFs come from
shared/testdata/pdfs (see its README).
"""

from __future__ import annotations

import io
import os
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.utils import translation
from django.utils.functional import Promise
from PIL import Image

from documents.inspection import (
    DOCX,
    PPTX,
    XLSX,
    Inspection,
    Limits,
    UploadRefused,
    clean_filename,
    inspect_file,
)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    # The assertions read the English messages; the UI's default language is Japanese.
    with translation.override("en"):
        yield


PDFS = Path(__file__).resolve().parents[3] / "shared" / "testdata" / "pdfs"
if not PDFS.is_dir():
    PDFS = Path("/work/shared/testdata/pdfs")
PASSWORD_PDF = "libreoffice-writer-password.pdf"
# Every real-world sample must appear here: a new one has to be looked at, not silently passed.
REAL_WORLD_PAGES = {
    "002-trivial-libre-office-writer.pdf": 1,
    "annotated_pdf.pdf": 1,
    "cmyk-image.pdf": 1,
    "crazyones-pdfa.pdf": 1,
    "google-doc-document.pdf": 1,
    "habibi-rotated.pdf": 4,
    "libreoffice-form.pdf": 1,
    "libreoffice-writer-password.pdf": 1,
    "minimal-document.pdf": 1,
    "pdflatex-4-pages.pdf": 4,
    "pdflatex-forms.pdf": 1,
    "pdflatex-image.pdf": 1,
    "pdflatex-outline.pdf": 4,
    "with-attachment.pdf": 1,
}


# ---------------------------------------------------------------- builders


def raw_pdf(*objects: bytes) -> bytes:
    """A PDF whose objects are written as given (object 1 is the catalog), with a correct xref."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def stream(data: bytes, filters: str = "") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), filters.encode(), data)


def one_page_pdf(content: bytes, filters: str = "", count: int = 1) -> bytes:
    return raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count %d >>" % count,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        stream(content, filters),
    )


def deflated_zeros(megabytes: int, layers: int) -> bytes:
    """zlib data for that many MB of zeros, nested `layers` deep, made in well under a second.

    One fully flushed deflate block of a MB of zeros is repeated: a full flush forgets the
    history, so each copy decodes alone.
    """
    zeros = bytes(1 << 20)
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = raw.compress(zeros) + raw.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(megabytes):
        adler = zlib.adler32(zeros, adler)
    data = b"\x78\xda" + block * megabytes + b"\x03\x00" + struct.pack(">I", adler)
    for _ in range(layers - 1):
        data = zlib.compress(data, 9)
    return data


def zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def ooxml(folder: str, *extra: str) -> bytes:
    entries = {"[Content_Types].xml": b"<Types/>", "_rels/.rels": b"<Relationships/>"}
    entries[f"{folder}/main.xml"] = b"<doc>" + b"x" * 2000 + b"</doc>"
    entries.update({name: b"\x00" * 100 for name in extra})
    return zip_bytes(entries)


def ole2(streams: dict[str, bytes]) -> bytes:
    """A minimal compound file (legacy .doc/.xls): one FAT sector, one directory sector.

    Streams are padded to 4096 bytes so they live in the regular FAT, not the mini stream.
    """
    end, free, fat_sector, no_stream = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
    assert len(streams) <= 3
    fat = [fat_sector, end]
    data = b""
    entries = []
    for name, body in streams.items():
        body = body.ljust(4096, b"\x00")
        first = len(fat)
        sectors = len(body) // 512
        fat += [first + i + 1 for i in range(sectors - 1)] + [end]
        entries.append((name, 2, first, len(body)))
        data += body
    fat += [free] * (128 - len(fat))

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le") if name else b""
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB3I", len(encoded), kind, 1, no_stream, right, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<IQ", start, size)
        )

    directory = entry("Root Entry", 5, 1 if entries else no_stream, no_stream, end, 0)
    for i, (name, kind, start, size) in enumerate(entries, 1):
        right = i + 1 if i < len(entries) else no_stream
        directory += entry(name, kind, no_stream, right, start, size)
    directory = directory.ljust(512, b"\x00")
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIII", 0, 1, 1, 0, 4096, end, 0, end)
        + struct.pack("<I", 0)
        + struct.pack("<I", 0)
        + struct.pack("<108I", *([free] * 108))
    )
    assert len(header) == 512
    return header + struct.pack("<128I", *fat) + directory + data


def image_bytes(fmt: str, size: tuple[int, int] = (120, 80)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def put(tmp_path: Path) -> Callable[..., Path]:
    def put(data: bytes, name: str = "upload.bin") -> Path:
        path = tmp_path / "uploads" / f"{len(list(tmp_path.glob('uploads/*')))}"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        return path

    return put


def refused(path: Path, name: str, **kwargs: object) -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        inspect_file(path, name, **kwargs)  # type: ignore[arg-type]
    return caught.value


# ---------------------------------------------------------------- file names


@pytest.mark.parametrize(
    "name",
    ["見積書（最終版）.pdf", "令和7年度 契約書.docx", "a.b.c.xlsx", ".hidden", "x" * 255],
)
def test_good_names_are_kept_intact(name: str) -> None:
    assert clean_filename(name) == name


def test_name_is_nfc_and_trimmed() -> None:
    nfd = "ﾃｽﾄ_カ\u3099イド.pdf"  # macOS sends dakuten as a combining mark
    assert clean_filename(nfd) == "ﾃｽﾄ_ガイド.pdf"
    assert clean_filename("  報告書.pdf\u3000") == "報告書.pdf"
    assert clean_filename("絵文字👨\u200d👩\u200d👧.png").endswith(".png")


@pytest.mark.parametrize(
    "name",
    [
        "",
        "   ",
        ".",
        "..",
        "../etc/passwd",
        "a/b.pdf",
        "a\\b.pdf",
        "a\x00.pdf",
        "a\n.pdf",
        "a\r.pdf",
        "a\t.pdf",
        "invoice\u202efdp.exe",
        "doc\u2066x\u2069.pdf",
        "zero\u200bwidth.pdf",
        "bad\ud800.pdf",
        "あ" * 86,  # 258 bytes in UTF-8
    ],
)
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(UploadRefused) as caught:
        clean_filename(name)
    assert caught.value.code == "bad_filename"
    assert caught.value.status == 400


def test_name_of_255_bytes_is_the_limit() -> None:
    assert clean_filename("あ" * 85) == "あ" * 85  # 255 bytes
    with pytest.raises(UploadRefused):
        clean_filename("あ" * 85 + "a")


def test_inspect_file_checks_the_name_too(put: Callable[..., Path]) -> None:
    assert refused(put(b"hello"), "a/b.txt").code == "bad_filename"


# ---------------------------------------------------------------- the refusal itself


def test_refusal_carries_code_status_filename_and_a_lazy_message(put: Callable[..., Path]) -> None:
    error = refused(put(b""), "空.pdf")
    assert (error.code, error.status, error.filename) == ("empty_file", 422, "空.pdf")
    assert isinstance(error.message, Promise)  # translated when shown, in the reader's language
    assert "空.pdf" in str(error.message)
    assert "empty_file" in str(error)


def test_message_never_echoes_control_characters() -> None:
    with pytest.raises(UploadRefused) as caught:
        clean_filename("evil\u202e\x1b[2J.pdf")
    assert "\u202e" not in str(caught.value.message)
    assert "\x1b" not in str(caught.value.message)


# ---------------------------------------------------------------- sizes


def test_zero_bytes_is_refused(put: Callable[..., Path]) -> None:
    assert refused(put(b""), "a.pdf").code == "empty_file"


def test_too_large_is_413(put: Callable[..., Path]) -> None:
    error = refused(put(b"x" * 2000), "a.txt", limits=Limits(max_file_bytes=1000))
    assert (error.code, error.status) == ("too_large", 413)


# ---------------------------------------------------------------- PDFs: real-world samples


def test_every_sample_is_listed() -> None:
    assert sorted(p.name for p in PDFS.glob("*.pdf")) == sorted(REAL_WORLD_PAGES)


@pytest.mark.parametrize("name", sorted(set(REAL_WORLD_PAGES) - {PASSWORD_PDF}))
def test_real_world_pdfs_are_accepted_with_their_page_count(name: str) -> None:
    result = inspect_file(PDFS / name, name)
    assert result == Inspection("application/pdf", "pdf", REAL_WORLD_PAGES[name], False,
                                result.note)  # fmt: skip


def test_embedded_files_are_noted() -> None:
    assert "embedded" in inspect_file(PDFS / "with-attachment.pdf", "a.pdf").note


def test_encrypted_pdf_needs_its_password() -> None:
    path = PDFS / PASSWORD_PDF
    error = refused(path, PASSWORD_PDF)
    assert (error.code, error.status) == ("encrypted_pdf", 422)
    assert "password" in str(error.message)
    assert refused(path, PASSWORD_PDF, password="wrong").code == "wrong_password"
    opened = inspect_file(path, PASSWORD_PDF, password="openpassword")
    assert (opened.kind, opened.page_count, opened.encrypted) == ("pdf", 1, True)


def test_pdf_with_only_an_owner_password_opens_without_one(put: Callable[..., Path]) -> None:
    from pypdf import PdfWriter

    writer = PdfWriter(clone_from=str(PDFS / "minimal-document.pdf"))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    result = inspect_file(put(buffer.getvalue()), "restricted.pdf")
    assert (result.page_count, result.encrypted) == (1, False)
    assert "restrictions" in result.note


# ---------------------------------------------------------------- PDFs: not, broken, bombs


def test_html_named_pdf_is_not_a_pdf(put: Callable[..., Path]) -> None:
    page = b"<!DOCTYPE html><html><body>Session expired</body></html>"
    error = refused(put(page), "契約書.pdf")
    assert (error.code, error.status) == ("not_a_pdf", 422)


def test_declared_pdf_must_be_a_pdf(put: Callable[..., Path]) -> None:
    path = put(image_bytes("PNG"))
    assert refused(path, "scan", declared_type="application/pdf").code == "not_a_pdf"
    assert inspect_file(path, "scan", declared_type="image/png").kind == "image"


def test_pdf_under_another_name_is_a_pdf_with_a_note(put: Callable[..., Path]) -> None:
    result = inspect_file(put((PDFS / "minimal-document.pdf").read_bytes()), "report.docx")
    assert (result.content_type, result.kind, result.page_count) == ("application/pdf", "pdf", 1)
    assert ".docx" in result.note


def test_truncated_pdf_is_broken(put: Callable[..., Path]) -> None:
    data = (PDFS / "pdflatex-4-pages.pdf").read_bytes()
    error = refused(put(data[: len(data) // 2]), "half.pdf")
    assert error.code == "broken_pdf"
    assert "again" in str(error.message)  # asks for a re-export


def test_garbage_after_the_header_is_broken(put: Callable[..., Path]) -> None:
    garbage = b"%PDF-1.7\n" + os.urandom(20_000).replace(b"%%EOF", b"") + b"\n%%EOF\n"
    assert refused(put(garbage), "noise.pdf").code == "broken_pdf"


def test_pdf_without_pages_is_broken(put: Callable[..., Path]) -> None:
    empty = raw_pdf(b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>")
    assert refused(put(empty), "empty.pdf").code == "broken_pdf"


def test_too_many_pages(put: Callable[..., Path]) -> None:
    path = PDFS / "pdflatex-4-pages.pdf"
    error = refused(path, "a.pdf", limits=Limits(max_pdf_pages=3))
    assert error.code == "too_many_pages"
    assert "4" in str(error.message)


def test_declared_page_count_is_refused_before_walking_the_tree(put: Callable[..., Path]) -> None:
    assert refused(put(one_page_pdf(b"", count=10**9)), "a.pdf").code == "too_many_pages"


def test_too_many_objects(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(b"BT ET"))
    assert refused(path, "a.pdf", limits=Limits(max_pdf_objects=3)).code == "pdf_bomb"


def test_stream_inflating_past_the_cap(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(deflated_zeros(64, layers=1), "/Filter /FlateDecode"))
    error = refused(path, "bomb.pdf", limits=Limits(max_pdf_stream_bytes=16 * 1024**2))
    assert error.code == "pdf_bomb"
    assert inspect_file(path, "ok.pdf").page_count == 1  # 64 MB is within the default bound


def test_nested_flate_is_refused_by_its_ratio(put: Callable[..., Path]) -> None:
    bomb = deflated_zeros(64, layers=2)  # 64 MB of zeros in a few hundred bytes
    assert len(bomb) < 10_000
    path = put(one_page_pdf(bomb, "/Filter [/FlateDecode /FlateDecode]"))
    assert refused(path, "bomb.pdf").code == "pdf_bomb"


def test_pdf_bomb_at_default_limits_is_refused_quickly(put: Callable[..., Path]) -> None:
    # One layer, so only the size cap (512 MB by default) can stop it, not the ratio.
    path = put(one_page_pdf(deflated_zeros(600, layers=1), "/Filter /Fl"))
    started = time.perf_counter()
    assert refused(path, "bomb.pdf").code == "pdf_bomb"
    assert time.perf_counter() - started < 10


def test_damaged_flate_stream_is_not_a_bomb(put: Callable[..., Path]) -> None:
    path = put(one_page_pdf(b"\x78\x9cnot really deflate", "/Filter /FlateDecode"))
    assert inspect_file(path, "a.pdf").page_count == 1


def test_large_pdf_is_not_read_into_memory(put: Callable[..., Path]) -> None:
    # A 48 MB stream that no page uses: inspection must neither load nor decode it.
    ballast = stream(os.urandom(48 * 1024**2))
    pdf = raw_pdf(
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R >>",
        stream(b"BT ET"),
        ballast,
    )
    path = put(pdf)
    del pdf, ballast
    tracemalloc.start()
    try:
        assert inspect_file(path, "big.pdf").page_count == 1
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024**2


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
