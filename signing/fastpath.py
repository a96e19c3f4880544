"""Speed-ups for the signing and validation hot paths: DER assembly and two pyHanko parsers.

Measured with ``bench/signing.py`` and cProfile, the fixed costs of one signature and one
validation were not cryptography but Python-level parsing and encoding:

* **DER**: asn1crypto re-encodes every value it is handed (a certificate put into a CMS
  ``SignedData`` is copied, re-tagged and dumped again: ~10 ms a signature). The signer and the
  internal TSA assemble their CMS structures from pre-encoded parts with the helpers below;
  the result is loaded back with ``asn1crypto`` (lazily, so ``dump()`` returns these bytes).
* **Cross-reference tables**: pyHanko parses a classic xref table line by line, with a dataclass
  per entry (~5 ms for a 500-page record, on every read). :func:`install` replaces the parser
  with one that checks and splits the standard 20-byte entries with one regular expression,
  falling back to pyHanko's own parser for anything unusual (CRLF quirks, comments, short
  lines), which then behaves exactly as before.
* **Hex strings**: pyHanko reads a ``<...>`` string one byte at a time through its tokenizer;
  a signature's ``/Contents`` is 16 KiB of hex digits (~3 ms per signature read). The fast
  reader takes the whole string with one ``find`` and hands anything unusual (comments,
  garbage) back to pyHanko's reader.
* **Name comparison**: asn1crypto compares X.509 names through an LDAP string preparation of
  every attribute on every comparison (certificate path building and CMS signer matching do
  hundreds); the prepared form is memoised by the RDN's DER encoding.

The patches are applied once, only to the pyHanko/asn1crypto versions they were written and
tested against (tests/signing/test_fastpath.py compares them with the originals on every test
PDF); with any other version nothing is patched and everything still works, only slower.
"""

from __future__ import annotations

import binascii
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from functools import lru_cache
from importlib.metadata import version
from typing import Any

logger = logging.getLogger(__name__)

TESTED = {"pyHanko": ("0.38.",), "asn1crypto": ("1.5.",)}

# --- DER ---------------------------------------------------------------------------------------

SEQUENCE = 0x30
SET = 0x31
INTEGER = 0x02
OCTET_STRING = 0x04
OID = 0x06
UTC_TIME = 0x17
GENERALIZED_TIME = 0x18


def der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, *content: bytes) -> bytes:
    """One DER element: tag, definite length, the concatenated ``content``."""
    body = b"".join(content)
    return bytes((tag,)) + der_length(len(body)) + body


def der_set_of(items: Iterable[bytes], tag: int = SET) -> bytes:
    """A DER SET OF: the encodings sorted as octet strings (X.690 11.6)."""
    return tlv(tag, *sorted(items))


def der_integer(value: int) -> bytes:
    if value == 0:
        return b"\x02\x01\x00"
    body = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return tlv(INTEGER, body)


def der_oid(dotted: str) -> bytes:
    parts = [int(p) for p in dotted.split(".")]
    out = bytearray()
    for value in [parts[0] * 40 + parts[1], *parts[2:]]:
        chunk = [value & 0x7F]
        value >>= 7
        while value:
            chunk.append(0x80 | (value & 0x7F))
            value >>= 7
        out.extend(reversed(chunk))
    return tlv(OID, bytes(out))


# --- cross-reference tables --------------------------------------------------------------------

_WS = b" \n\r\t\f\x00"
_WS_RE = re.compile(rb"[ \n\r\t\f\x00]*")
_SUBSECTION_RE = re.compile(rb"(\d+)[ \n\r\t\f\x00]+(\d+)[ \n\r\t\f\x00]*")
_ENTRIES_RE = re.compile(rb"(?:\d{10} \d{5} [nf](?: \r| \n|\r\n))*")
_ENTRY_RE = re.compile(rb"(\d{10}) (\d{5}) ([nf])")
_CHUNK = 1 << 16


class _Fallback(Exception):
    pass


class FastXrefEntries:
    """Parsed entries of one xref table: rows of (id, generation, offset or None)."""

    def __init__(self, rows: list[tuple[int, int, int | None]]) -> None:
        self.rows = rows

    def __iter__(self) -> Iterator[Any]:  # what pyHanko's own parser yields, for other callers
        from pyhanko.pdf_utils.xref import XRefEntry, XRefType

        for idnum, generation, offset in self.rows:
            yield XRefEntry(
                xref_type=XRefType.FREE if offset is None else XRefType.STANDARD,
                location=offset,
                idnum=idnum,
                generation=generation,
            )


def _parse_xref_table_fast(stream: Any) -> FastXrefEntries:
    start = stream.tell()
    data = b""
    while True:
        chunk = stream.read(_CHUNK)
        data += chunk
        at = data.find(b"trailer")
        if at >= 0 or not chunk:
            break
    if at < 0:
        raise _Fallback
    pos = _WS_RE.match(data, 0).end()  # type: ignore[union-attr]
    rows: list[tuple[int, int, int | None]] = []
    while True:
        header = _SUBSECTION_RE.match(data, pos)
        if header is None:
            raise _Fallback
        first, size = int(header.group(1)), int(header.group(2))
        pos = header.end()
        end = pos + 20 * size
        block = data[pos:end]
        if len(block) != 20 * size or _ENTRIES_RE.fullmatch(block) is None:
            raise _Fallback
        for number, (offset, generation, marker) in enumerate(
            _ENTRY_RE.findall(block), start=first
        ):
            rows.append((number, int(generation), int(offset) if marker == b"n" else None))
        pos = _WS_RE.match(data, end).end()  # type: ignore[union-attr]
        if data.startswith(b"trailer", pos):
            after = _WS_RE.match(data, pos + 7).end()  # type: ignore[union-attr]
            if after >= len(data) or data[after : after + 1] == b"%":
                raise _Fallback  # a comment or the end of the buffer: let pyHanko decide
            stream.seek(start + after)
            return FastXrefEntries(rows)
        if not data[pos : pos + 1].isdigit():
            raise _Fallback


def _process_fast_entries(section: Any, entries: FastXrefEntries, strict: bool) -> int:
    from pyhanko.pdf_utils.misc import PdfStrictReadError

    highest = 0
    standard = section.standard_xrefs
    freed = section.freed
    explicit = section.explicit_refs_in_revision
    for idnum, generation, offset in entries.rows:
        if idnum > highest:
            highest = idnum
        if generation > 0xFFFF:
            if strict:
                raise PdfStrictReadError(f"Illegal generation {generation} for object ID {idnum}.")
            continue
        if idnum == 0:
            continue
        if offset is not None:
            standard[idnum] = (generation, offset)
            explicit.add((idnum, generation))
        else:
            freed[idnum] = generation
            explicit.add((idnum, generation - 1))
    return highest


# --- hex strings -------------------------------------------------------------------------------

_HEX = b"0123456789abcdefABCDEF"


def _read_through(stream: Any, marker: bytes, limit: int = 1 << 22) -> tuple[bytes, int]:
    """Read from the stream's position until ``marker`` (not at offset 0) is in the data,
    in chunks that start small and double (most strings and arrays are short). Returns the
    data and the marker's offset; raises _Fallback at the end of the stream or past ``limit``."""
    data = b""
    size = 256
    while True:
        chunk = stream.read(size)
        data += chunk
        at = data.find(marker, 1)
        if at >= 0:
            return data, at
        if not chunk or len(data) > limit:
            raise _Fallback
        size = min(size * 2, _CHUNK)


def _read_hex_fast(stream: Any) -> bytes:
    """The bytes of the hex string at the stream's ``<``; the stream is left after ``>``."""
    start = stream.tell()
    data, end = _read_through(stream, b">")
    body = data[1:end]
    if b"%" in body:
        raise _Fallback
    digits = body.translate(None, _WS)
    if digits.translate(None, _HEX):
        raise _Fallback
    if len(digits) % 2:
        digits += b"0"
    stream.seek(start + end + 1)
    return binascii.unhexlify(digits)


# --- arrays of references ---------------------------------------------------------------------

_W = rb"[ \n\r\t\f\x00]"
_REF_ARRAY_RE = re.compile(
    rb"\[((?:" + _W + rb"*\d+" + _W + rb"+\d+" + _W + rb"+R)*)" + _W + rb"*\]"
)
_REF_RE = re.compile(rb"(\d+)" + _W + rb"+(\d+)" + _W + rb"+R")


def _read_ref_array_fast(stream: Any, container_ref: Any) -> Any:
    """An array made only of indirect references (a page tree's /Kids, /Annots, /Fields):
    one regular expression instead of a tokenizer round per byte."""
    from pyhanko.pdf_utils import generic

    start = stream.tell()
    data, _ = _read_through(stream, b"]")
    match = _REF_ARRAY_RE.match(data)
    if match is None:
        raise _Fallback
    handler = container_ref.get_pdf_handler()
    arr = generic.ArrayObject()
    for idnum, generation in _REF_RE.findall(match.group(1)):
        if int(idnum) <= 0:
            raise _Fallback
        ref = generic.IndirectObject(int(idnum), int(generation), handler)
        ref.container_ref = container_ref
        arr.append(ref)
    stream.seek(start + match.end())
    return arr


# --- names -------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _rdn_values(der: bytes) -> Any:
    from asn1crypto import x509 as asn1_x509

    rdn = asn1_x509.RelativeDistinguishedName.load(der)
    return _ORIGINAL["rdn_values"](rdn, rdn)


# --- installation ------------------------------------------------------------------------------

_ORIGINAL: dict[str, Any] = {}
_lock = threading.Lock()
_installed: bool | None = None


def _tested() -> bool:
    for dist, prefixes in TESTED.items():
        try:
            v = version(dist)
        except Exception:
            return False
        if not v.startswith(prefixes):
            logger.warning("signing.fastpath: %s %s is untested; not patching", dist, v)
            return False
    return True


def install() -> bool:
    """Apply the parser patches once (idempotent). Returns whether they are active."""
    global _installed
    if _installed is not None:
        return _installed
    with _lock:
        if _installed is not None:
            return _installed
        if not _tested():
            _installed = False
            return False
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils import generic, xref

        _ORIGINAL["parse_xref_table"] = xref.parse_xref_table
        _ORIGINAL["process_entries"] = xref.XRefSectionData.process_entries
        _ORIGINAL["read_hex"] = generic.read_hex_string_from_stream
        _ORIGINAL["rdn_values"] = asn1_x509.RelativeDistinguishedName._get_values
        _ORIGINAL["read_array"] = generic.ArrayObject.read_from_stream

        def parse_xref_table(stream: Any, strict: bool) -> Any:
            start = stream.tell()
            try:
                return _parse_xref_table_fast(stream)
            except _Fallback:
                stream.seek(start)
                return _ORIGINAL["parse_xref_table"](stream, strict)

        def process_entries(self: Any, entries: Any, strict: bool) -> int:
            if isinstance(entries, FastXrefEntries):
                return _process_fast_entries(self, entries, strict)
            return _ORIGINAL["process_entries"](self, entries, strict)

        def read_hex_string_from_stream(stream: Any) -> Any:
            start = stream.tell()
            try:
                raw = _read_hex_fast(stream)
            except _Fallback:
                stream.seek(start)
                return _ORIGINAL["read_hex"](stream)
            return generic.pdf_string(raw)

        def read_array(stream: Any, container_ref: Any, in_content_stream: Any = None) -> Any:
            if in_content_stream is None or in_content_stream == generic.ContentOpReading.NO:
                start = stream.tell()
                try:
                    return _read_ref_array_fast(stream, container_ref)
                except _Fallback:
                    stream.seek(start)
            if in_content_stream is None:
                return _ORIGINAL["read_array"](stream, container_ref)
            return _ORIGINAL["read_array"](stream, container_ref, in_content_stream)

        def rdn_values(self: Any, rdn: Any) -> Any:
            try:
                der = rdn.dump()
            except Exception:
                return _ORIGINAL["rdn_values"](self, rdn)
            return dict(_rdn_values(der))

        xref.parse_xref_table = parse_xref_table
        xref.XRefSectionData.process_entries = process_entries  # type: ignore[method-assign]
        generic.read_hex_string_from_stream = read_hex_string_from_stream
        asn1_x509.RelativeDistinguishedName._get_values = rdn_values
        generic.ArrayObject.read_from_stream = staticmethod(read_array)  # type: ignore[method-assign]
        _installed = True
        return True


def uninstall() -> None:
    """Restore pyHanko's and asn1crypto's own functions (tests compare both)."""
    global _installed
    with _lock:
        if not _installed:
            _installed = None
            return
        from asn1crypto import x509 as asn1_x509
        from pyhanko.pdf_utils import generic, xref

        xref.parse_xref_table = _ORIGINAL["parse_xref_table"]
        xref.XRefSectionData.process_entries = _ORIGINAL["process_entries"]  # type: ignore[method-assign]
        generic.read_hex_string_from_stream = _ORIGINAL["read_hex"]
        asn1_x509.RelativeDistinguishedName._get_values = _ORIGINAL["rdn_values"]
        generic.ArrayObject.read_from_stream = staticmethod(_ORIGINAL["read_array"])  # type: ignore[method-assign]
        _rdn_values.cache_clear()
        _installed = None
