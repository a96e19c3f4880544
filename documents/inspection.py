"""What an uploaded file is, and whether we accept it.

The type comes from the bytes, never from the name or the browser's word: an attachment is stored
for decades and shown to approvers who trust it. Every check reads a bounded part of the file (a
head, a tail, a zip's central directory, a few sampled PDF streams), so a 200 MB upload is never
read into memory and a crafted one cannot make inspection run away.
"""

from __future__ import annotations

import csv
import itertools
import os
import struct
import unicodedata
import warnings
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import olefile
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

    from api.errors import ApiError

PDF = "application/pdf"
ZIP = "application/zip"
OLE = "application/x-ole-storage"
OCTET = "application/octet-stream"
_OOXML = "application/vnd.openxmlformats-officedocument."
DOCX = _OOXML + "wordprocessingml.document"
XLSX = _OOXML + "spreadsheetml.sheet"
PPTX = _OOXML + "presentationml.presentation"
# A part named vbaProject.bin makes an OOXML package macro-enabled, whatever its name says.
_MACRO = {DOCX: "application/vnd.ms-word.document.macroEnabled.12",
          XLSX: "application/vnd.ms-excel.sheet.macroEnabled.12",
          PPTX: "application/vnd.ms-powerpoint.presentation.macroEnabled.12"}  # fmt: skip
_OLE_TYPES = {"WordDocument": "application/msword", "Workbook": "application/vnd.ms-excel",
              "Book": "application/vnd.ms-excel",
              "PowerPoint Document": "application/vnd.ms-powerpoint"}  # fmt: skip
OFFICE_TYPES = frozenset([*_MACRO, *_MACRO.values(), *_OLE_TYPES.values()])
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "TIFF": "image/tiff",
               "WEBP": "image/webp", "BMP": "image/bmp"}  # fmt: skip
_KINDS = {PDF: "pdf"} | dict.fromkeys(IMAGE_TYPES.values(), "image")
_KINDS |= dict.fromkeys(OFFICE_TYPES, "office")
EXECUTABLE = "application/x-executable"
_TEXTUAL = frozenset({"application/xml", "image/svg+xml", "application/rtf"})

_CLAIMS = {".pdf": "pdf", ".txt": "text", ".csv": "text", ".tsv": "text"}
_CLAIMS |= dict.fromkeys(str.split(".png .jpg .jpeg .jpe .gif .tif .tiff .webp .bmp"), "image")
_CLAIMS |= dict.fromkeys(str.split(""".docx .docm .dotx .xlsx .xlsm .xltx .pptx .pptm .potx .ppsx
    .odt .ods .odp .odg .doc .dot .xls .xlt .ppt .pps"""), "office")  # fmt: skip
# Windows runs these by their name alone, so their content does not matter.
_PROGRAM_EXTENSIONS = frozenset(str.split(""".exe .com .scr .pif .cpl .dll .msi .msp .bat .cmd
    .vbs .vbe .js .jse .wsf .wsh .hta .ps1 .lnk .reg .jar .appx .msix"""))  # fmt: skip
_MAX_FLATE_RATIO = 1100  # a single deflate layer cannot exceed 1032:1
_INVISIBLE = ("Cc", "Cf", "Cs", "Zl", "Zp")

_REASONS: dict[str, tuple[str, StrOrPromise]] = {
    "empty_file": ("empty_file", _("“%(name)s” is empty (0 bytes). Check that you picked the right file, then upload it again.")),  # noqa: E501
    "too_large": ("too_large", _("“%(name)s” is larger than %(limit)s MB, the limit for one file. Make it smaller (for example, scan at a lower resolution, or split it) and upload it again.")),  # noqa: E501
    "bad_filename": ("bad_filename", _("The file name “%(name)s” cannot be used: it is empty, too long, or contains slashes, control characters or hidden direction marks. Rename the file and upload it again.")),  # noqa: E501
    "not_a_pdf": ("not_a_pdf", _("“%(name)s” is named as a PDF but is not one (it may be a web page or another kind of file saved under a .pdf name). Open it, save or print it as PDF, and upload that file.")),  # noqa: E501
    "broken_pdf": ("broken_pdf", _("“%(name)s” is a damaged or incomplete PDF. Export or scan it to PDF again, then upload the new file.")),  # noqa: E501
    "encrypted_pdf": ("encrypted_pdf", _("“%(name)s” is protected by a password. Upload an unprotected copy, or give the password to open it.")),  # noqa: E501
    "wrong_password": ("wrong_password", _("The password for “%(name)s” is not correct. Check it, or upload an unprotected copy.")),  # noqa: E501
    "too_many_pages": ("too_many_pages", _("“%(name)s” has %(pages)s pages; at most %(limit)s are allowed. Split it into several files.")),  # noqa: E501
    "pdf_bomb": ("pdf_bomb", _("“%(name)s” would grow to an unreasonable size when opened, so it may be damaged or crafted to cause harm. Export it to PDF again from the original, then upload the new file.")),  # noqa: E501
    "zip_bomb": ("zip_bomb", _("“%(name)s” would grow to an unreasonable size when unpacked, which is how harmful archives are built. Attach the files it contains instead, or save it again from the original program.")),  # noqa: E501
    "unsafe_archive": ("unsupported", _("“%(name)s” contains entries whose paths lead outside the archive, which is how harmful archives are built. Attach the files it contains instead.")),  # noqa: E501
    "program": ("unsupported", _("“%(name)s” is a program or script. Programs cannot be attached; attach documents only.")),  # noqa: E501
    "encrypted_file": ("encrypted_file", _("“%(name)s” is protected by a password, so approvers could not open it. Remove the protection, then upload the file again.")),  # noqa: E501
    "broken_file": ("broken_file", _("“%(name)s” is damaged or incomplete and cannot be opened. Save it again from the original program, then upload the new file.")),  # noqa: E501
    "broken_image": ("broken_image", _("“%(name)s” is a damaged or incomplete image. Save or export it again, then upload the new file.")),  # noqa: E501
    "image_too_large": ("image_too_large", _("“%(name)s” is an image too large to show safely (over %(limit)s million pixels). Reduce its resolution and upload it again.")),  # noqa: E501
    "type_mismatch": ("type_mismatch", _("“%(name)s” is named %(extension)s, but its content is of another kind. Check that you picked the right file, or save it again in the format its name says.")),  # noqa: E501
}  # fmt: skip
_STATUS = {"too_large": 413, "bad_filename": 400}


def _format(message: StrOrPromise, params: dict[str, Any]) -> str:
    # Formatting a lazy string with % would translate it now, in whatever language is active;
    # this keeps it lazy until it is shown.
    return lazy(lambda: str(message) % params, str)()


class UploadRefused(Exception):
    """A file we will not store. `code` is stable; `message` tells the user what to do."""

    def __init__(self, code: str, filename: str, message: str, *, detail: str = "") -> None:
        super().__init__(f"{code}: {filename!r} {detail}".rstrip())
        self.code = code
        self.filename = filename
        self.message = message
        self.detail = detail  # for logs, in English
        self.status: int = _STATUS.get(code, 422)

    def api_error(self) -> ApiError:
        """How the API reports it (`api.errors.exception_handler`)."""
        from api.errors import ApiError

        return ApiError(self.code, str(self.message), self.status)


def _refuse(reason: str, filename: str, detail: str = "", **params: Any) -> UploadRefused:
    code, message = _REASONS[reason]
    shown = "".join("\ufffd" if unicodedata.category(c) in _INVISIBLE else c for c in filename)
    return UploadRefused(code, filename, _format(message, {"name": shown[:120], **params}),
                         detail=detail)  # fmt: skip


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int = 200 * 1024**2
    max_document_bytes: int = 1024**3
    max_pdf_pages: int = 5000
    max_zip_ratio: int = 100
    max_zip_uncompressed: int = 2 * 1024**3
    max_zip_entries: int = 100_000
    max_pdf_objects: int = 1_000_000
    # One decoded PDF stream; an A3 colour page scanned losslessly at 600 dpi is about 210 MB.
    max_pdf_stream_bytes: int = 512 * 1024**2
    max_image_pixels: int = 89_478_485  # Pillow's own decompression-bomb threshold


@dataclass(frozen=True)
class Inspection:
    content_type: str
    kind: str  # "pdf" | "image" | "office" | "other"
    page_count: int | None
    encrypted: bool
    note: str = ""


def clean_filename(name: str) -> str:
    """The name as stored and shown: NFC (macOS sends NFD), trimmed; refused if it could mislead."""
    cleaned = unicodedata.normalize("NFC", name or "").strip(" \u3000")
    # Cf holds the bidi overrides that make "gpj.exe" look like "exe.jpg"; U+200D (ZWJ) is spared
    # because emoji sequences need it. Lone surrogates (Cs) could not even be stored as UTF-8.
    hidden = any(unicodedata.category(c) in _INVISIBLE and c != "\u200d" for c in cleaned)
    if hidden or cleaned in ("", ".", "..") or "/" in cleaned or "\\" in cleaned:
        raise _refuse("bad_filename", name or "", "unusable file name")
    if len(cleaned.encode("utf-8")) > 255:
        raise _refuse("bad_filename", name, "longer than 255 bytes")
    return cleaned


def _kind(content_type: str) -> str:
    if content_type.startswith("application/vnd.oasis.opendocument."):
        return "office"
    return _KINDS.get(content_type, "other")


def _sniff(head: bytes, size: int, claim: str | None) -> str:
    """The type the leading bytes prove; archives and images are examined further later."""
    if head.startswith(b"%PDF-") or (claim == "pdf" and b"%PDF-" in head[:1024]):
        return PDF  # readers accept junk before the header, but only when it is meant as a PDF
    signatures = [
        (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"), (b"GIF89a", "image/gif"), (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"), (b"PK\x03\x04", ZIP), (b"PK\x05\x06", ZIP),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE), (b"\x7fELF", EXECUTABLE),
        (b"\xfe\xed\xfa\xce", EXECUTABLE), (b"\xfe\xed\xfa\xcf", EXECUTABLE),
        (b"\xce\xfa\xed\xfe", EXECUTABLE), (b"\xcf\xfa\xed\xfe", EXECUTABLE),
        (b"{\\rtf", "application/rtf"), (b"\x1f\x8b", "application/gzip"),
        (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"Rar!\x1a\x07", "application/vnd.rar"), (b"OggS", "audio/ogg"),
        (b"ID3", "audio/mpeg"),
    ]  # fmt: skip
    for magic, content_type in signatures:
        if head.startswith(magic):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}[head[8:12]]
    if head[4:8] == b"ftyp":  # ISO media: the brand tells a phone's HEIC photo from a video
        return {b"heic": "image/heic", b"avif": "image/avif"}.get(head[8:12], "video/mp4")
    if head[:2] == b"MZ" and len(head) >= 64:
        pe = struct.unpack_from("<I", head, 0x3C)[0]
        if head[pe : pe + 4] == b"PE\x00\x00":
            return EXECUTABLE
    if head[:2] == b"BM" and len(head) >= 14 and struct.unpack_from("<I", head, 2)[0] == size:
        return "image/bmp"
    return _text_type(head, complete=len(head) >= size) or OCTET


def _text_type(head: bytes, *, complete: bool) -> str | None:
    text = None
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = head.decode("utf-16", "ignore")
    elif b"\x00" not in head:
        # A sample may end inside a multi-byte character; dropping the last few bytes allows that.
        sample = head if complete else head[: max(1, len(head) - 3)]
        for encoding in ("utf-8-sig", "cp932", "euc_jp"):
            try:
                text = sample.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    if text is None:
        return None
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\t\n\r\f\x1b")
    if controls > len(text) // 100:
        return None
    start = text.lstrip("\ufeff \t\r\n")[:1024].lower()
    if start.startswith(("<!doctype html", "<html")):
        return "text/html"
    if start.startswith(("<svg", "<?xml")):
        return "image/svg+xml" if "<svg" in start else "application/xml"
    lines = text.splitlines()[: 20 if complete else -1][:20]
    for delimiter, content_type in ((",", "text/csv"), ("\t", "text/tab-separated-values")):
        widths = {len(row) for row in csv.reader(lines, delimiter=delimiter) if row}
        if len(lines) >= 2 and len(widths) == 1 and widths.pop() >= 2:
            return content_type
    return "text/plain"


def _inspect_pdf(fh: IO[bytes], size: int, name: str, password: str | None,
                 limits: Limits) -> tuple[int, bool, str]:  # fmt: skip
    fh.seek(max(0, size - 8192))
    if b"%%EOF" not in fh.read():
        raise _refuse("broken_pdf", name, "no %%EOF near the end: truncated")
    fh.seek(0)
    notes = []
    try:
        # Given the open file, not the path: pypdf would read a whole path into memory.
        reader = PdfReader(fh, strict=False)
        encrypted = False
        if reader.is_encrypted:
            # An empty user password only restricts printing or copying: anyone can open it.
            if reader.decrypt(""):
                notes.append("encrypted with an empty user password (restrictions only)")
            elif not password:
                raise _refuse("encrypted_pdf", name, "needs a password")
            elif not reader.decrypt(password):
                raise _refuse("wrong_password", name, "password rejected")
            else:
                encrypted = True
        declared = _resolved(_resolved(reader.root_object, "/Pages"), "/Count")
        # The declared count is checked first so that a huge page tree is never walked.
        if isinstance(declared, int) and declared > limits.max_pdf_pages:
            raise _refuse("too_many_pages", name, pages=declared, limit=limits.max_pdf_pages)
        objects = sum(len(table) for table in reader.xref.values()) + len(reader.xref_objStm)
        if objects > limits.max_pdf_objects:
            raise _refuse("pdf_bomb", name, f"{objects} objects")
        pages = len(reader.pages)
        if pages > limits.max_pdf_pages:
            raise _refuse("too_many_pages", name, pages=pages, limit=limits.max_pdf_pages)
        if pages == 0:
            raise _refuse("broken_pdf", name, "no pages")
        _check_pdf_streams(reader, pages, name, limits)
        names = _resolved(reader.root_object, "/Names")
        if isinstance(names, DictionaryObject) and "/EmbeddedFiles" in names:
            notes.append("carries embedded files")
    except UploadRefused:
        raise
    except NotImplementedError as exc:  # a security handler pypdf does not know
        raise _refuse("encrypted_pdf", name, f"unsupported encryption: {exc}") from exc
    except Exception as exc:  # pypdf raises anything from KeyError to RecursionError
        raise _refuse("broken_pdf", name, f"{type(exc).__name__}: {exc}"[:300]) from exc
    return pages, encrypted, "; ".join(notes)


def _check_pdf_streams(reader: PdfReader, pages: int, name: str, limits: Limits) -> None:
    """Decode a sample of content and image streams, counting bytes but keeping none.

    A few pages are enough: a PDF bomb has to put its stream where a viewer will open it.
    """
    budget = 2 * limits.max_pdf_stream_bytes  # stop sampling, not refusing, when spent
    seen: set[int] = set()
    for index in sorted({0, 1, 2, pages // 2, pages - 1} & set(range(pages))):
        page = reader.pages[index]
        contents = _resolved(page, "/Contents")
        streams = list(contents) if isinstance(contents, ArrayObject) else [contents]
        xobjects = _resolved(_resolved(page, "/Resources"), "/XObject")
        if isinstance(xobjects, DictionaryObject):
            streams += list(xobjects.values())[:64]
        for ref in streams:
            stream = ref.get_object() if ref is not None else None
            if not isinstance(stream, StreamObject) or id(stream) in seen or budget <= 0:
                continue
            seen.add(id(stream))
            budget -= _inflated_size(stream, name, limits.max_pdf_stream_bytes)


def _resolved(container: Any, key: str) -> Any:
    """`container[key]` through any indirect reference, or None."""
    value = container.get(key) if isinstance(container, DictionaryObject) else None
    return value.get_object() if value is not None else None


def _inflated_size(stream: StreamObject, name: str, cap: int) -> int:
    filters = _resolved(stream, "/Filter")
    chain = list(filters) if isinstance(filters, ArrayObject) else [filters]
    layers = 0
    while layers < min(len(chain), 4) and chain[layers] in ("/FlateDecode", "/Fl"):
        layers += 1
    data: bytes = stream._data
    if layers == 0:
        return len(data)
    pieces = (data[i : i + 65536] for i in range(0, len(data), 65536))
    total = 0
    try:
        for out in _inflate(pieces, layers, zlib.MAX_WBITS, cap):
            total += len(out)
            # One deflate layer cannot pass 1032:1, so more means deflate nested in deflate:
            # refuse at once instead of inflating hundreds of MB to reach the cap.
            if total > 16 * 1024**2 and total > _MAX_FLATE_RATIO * len(data):
                raise OverflowError(total)
    except OverflowError:
        raise _refuse("pdf_bomb", name, f"a stream inflates past {total} bytes") from None
    return total


def _inflate(chunks: Iterable[bytes], layers: int, wbits: int, cap: int) -> Iterator[bytes]:
    """Inflate nested zlib layers in pieces of at most 1 MB; OverflowError past `cap` bytes.

    Damaged data ends the output quietly: pdfium shows what it can of it, and it is no bomb.
    """
    source = _inflate(chunks, layers - 1, wbits, cap) if layers > 1 else chunks
    decoder = zlib.decompressobj(wbits)
    produced = 0
    try:
        for chunk in source:
            while chunk and not decoder.eof:
                out = decoder.decompress(chunk, 1 << 20)
                chunk = decoder.unconsumed_tail
                produced += len(out)
                if produced > cap:
                    raise OverflowError(produced)
                yield out
            if decoder.eof:
                return
    except zlib.error:
        return


def _inspect_zip(fh: IO[bytes], size: int, name: str, limits: Limits) -> str:
    """Refuse archives that unpack to too much or outside themselves; tell OOXML/ODF apart."""
    fh.seek(max(0, size - 65557))
    tail = fh.read()
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) < end + 22:
        raise _refuse("broken_file", name, "no zip end record")
    entries = struct.unpack_from("<H", tail, end + 10)[0]
    if entries == 0xFFFF and tail[end - 20 : end - 16] == b"PK\x06\x07":
        fh.seek(struct.unpack_from("<Q", tail, end - 12)[0] + 32)
        entries = struct.unpack("<Q", fh.read(8).ljust(8, b"\xff"))[0]
    # Counted before zipfile builds an object for each entry of a crafted directory.
    if entries > limits.max_zip_entries:
        raise _refuse("zip_bomb", name, f"{entries} entries")
    fh.seek(0)
    try:
        archive = zipfile.ZipFile(fh)
        infos = archive.infolist()
        declared = sum(info.file_size for info in infos)
        # Against the file's size, not the entries' compressed sizes: overlapping entries that
        # share one compressed run would otherwise look modest.
        ratio_cap = max(limits.max_zip_ratio * size, 1024**2)
        if declared > limits.max_zip_uncompressed or declared > ratio_cap:
            raise _refuse("zip_bomb", name, f"declares {declared} bytes in {size}")
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            if info.filename.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                raise _refuse("unsafe_archive", name, f"entry {info.filename!r}")
            if info.flag_bits & 0x1:
                raise _refuse("encrypted_file", name, "encrypted zip entries")
        # Entries sharing one compressed run is how the smallest bombs multiply their size.
        spans = sorted((i.header_offset, i.header_offset + 30 + i.compress_size) for i in infos)
        if any(after[0] < before[1] for before, after in itertools.pairwise(spans)):
            raise _refuse("zip_bomb", name, "overlapping entries")
        for info in infos:
            # The directory's sizes are the sender's word. zipfile stops at the declared size
            # and then fails the CRC, so an entry that inflates to more cannot run away here.
            with archive.open(info) as member:
                while member.read(1 << 20):
                    pass
        names = {info.filename for info in infos}
        mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except UploadRefused:
        raise
    except NotImplementedError:  # a compression method zipfile lacks: kept as an opaque file
        return ZIP
    except Exception as exc:  # zipfile raises BadZipFile, OSError, struct.error, ...
        raise _refuse("broken_file", name, f"zip: {type(exc).__name__}: {exc}"[:300]) from exc
    if mimetype.startswith(b"application/"):  # ODF, EPUB: the first entry names the type
        return mimetype.decode("ascii", "replace").strip()
    if "[Content_Types].xml" not in names:
        return ZIP
    for folder, content_type in (("word/", DOCX), ("xl/", XLSX), ("ppt/", PPTX)):
        if any(n.startswith(folder) for n in names):
            macros = any(n.endswith("vbaProject.bin") for n in names)
            return _MACRO[content_type] if macros else content_type
    return ZIP


def _inspect_ole(path: Path, name: str) -> str:
    """Legacy Office files are OLE2 compound files; their stream names say which program."""
    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry) for entry in ole.listdir(streams=True, storages=False)}
            if "EncryptedPackage" in streams or "EncryptedSummary" in streams:
                raise _refuse("encrypted_file", name, "encrypted Office file")
            if "WordDocument" in streams:
                fib = ole.openstream("WordDocument").read(12)
                if len(fib) == 12 and struct.unpack_from("<H", fib, 10)[0] & 0x0100:
                    raise _refuse("encrypted_file", name, "Word fEncrypted")
            for stream in ("Workbook", "Book"):
                if stream in streams and _xls_encrypted(ole.openstream(stream).read(4096)):
                    raise _refuse("encrypted_file", name, "Excel FILEPASS")
    except UploadRefused:
        raise
    except Exception as exc:  # olefile raises OSError on bad files, anything on crafted ones
        raise _refuse("broken_file", name, f"ole2: {type(exc).__name__}: {exc}"[:300]) from exc
    return next((_OLE_TYPES[s] for s in _OLE_TYPES if s in streams), OLE)


def _xls_encrypted(data: bytes) -> bool:
    """FILEPASS (0x2F) follows BOF within the first few records of an encrypted workbook."""
    offset = 0
    while offset + 4 <= len(data):
        kind, length = struct.unpack_from("<HH", data, offset)
        if kind == 0x002F:
            return True
        offset += 4 + length
    return False


def _inspect_image(path: Path, content_type: str, name: str, limits: Limits) -> None:
    fmt = next(f for f, t in IMAGE_TYPES.items() if t == content_type)
    limit = f"{limits.max_image_pixels / 1e6:.4g}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path, formats=[fmt]) as image:  # opening reads only the header
                width, height = image.size
                if width * height > limits.max_image_pixels:
                    raise _refuse("image_too_large", name, f"{width}x{height}", limit=limit)
                image.verify()  # structure and checksums without decoding
            with Image.open(path, formats=[fmt]) as image:
                if fmt == "JPEG":  # decoding at 1/8 scale still meets a truncated scan
                    image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
                if fmt == "JPEG" or width * height <= 40_000_000:
                    image.load()
    except UploadRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise _refuse("image_too_large", name, str(exc), limit=limit) from exc
    except Exception as exc:  # Pillow's plugins raise whatever their format's parser hits
        raise _refuse("broken_image", name, f"{type(exc).__name__}: {exc}"[:300]) from exc


def inspect_file(path: str | os.PathLike[str], filename: str, *, declared_type: str | None = None,
                 password: str | None = None, limits: Limits = Limits()) -> Inspection:  # fmt: skip
    """What the file is, from its content; raises `UploadRefused` if we will not keep it.

    Content wins over the name (a .docx that holds a PDF is a PDF), with two exceptions that
    protect the reader: a file named or declared as PDF must be one, and a file whose name
    promises an image, an Office document or text must not turn out to be something else.
    """
    name = clean_filename(filename)
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise _refuse("empty_file", name)
    if size > limits.max_file_bytes:
        raise _refuse("too_large", name, f"{size} bytes", limit=limits.max_file_bytes // 1024**2)
    extension = os.path.splitext(name)[1].lower()
    if extension in _PROGRAM_EXTENSIONS:
        raise _refuse("program", name, f"extension {extension}")
    claim = _CLAIMS.get(extension)
    if (declared_type or "").split(";")[0].strip().lower() == PDF:
        claim = "pdf"
    pages, encrypted, note = None, False, ""
    with path.open("rb") as fh:
        content_type = _sniff(fh.read(65536), size, claim)
        if claim == "pdf" and content_type != PDF:
            raise _refuse("not_a_pdf", name, f"content is {content_type}")
        if content_type == EXECUTABLE:
            raise _refuse("program", name, "executable content")
        if content_type == PDF:
            pages, encrypted, note = _inspect_pdf(fh, size, name, password, limits)
        elif content_type == ZIP:
            content_type = _inspect_zip(fh, size, name, limits)
    if content_type == OLE:
        content_type = _inspect_ole(path, name)
    elif _kind(content_type) == "image":
        _inspect_image(path, content_type, name, limits)
    kind = _kind(content_type)
    textual = content_type.startswith("text/") or content_type in _TEXTUAL
    if claim not in (None, kind) and not (claim == "text" and textual):
        # Older systems export tables as HTML or XML under an .xls name, and Excel opens them.
        if kind == "other" and not (extension in (".xls", ".doc") and textual):
            raise _refuse("type_mismatch", name, f"content is {content_type}", extension=extension)
        note = "; ".join(filter(None, [note, f"named {extension}, content is {content_type}"]))
    return Inspection(content_type, kind, pages, encrypted, note)
