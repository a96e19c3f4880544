"""documents.inspection: what an uploaded file is, and whether we keep it.

Every hostile or broken file here is built by the test itself; the real-world PDFs come from
shared/testdata/pdfs (see its README).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.utils import translation
from PIL import Image

from documents.inspection import (
    UploadRefused,
    inspect_file,
)


@pytest.fixture(autouse=True)
def english_messages() -> Iterator[None]:
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
