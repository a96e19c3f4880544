"""Finding every signature of a PDF the way poppler does, where pyHanko gives up.

pyHanko (0.38) leaves out, or fails on, signatures that poppler lists and checks:

* a signature whose ``/SubFilter`` is ``adbe.pkcs7.sha1`` or ``adbe.x509.rsa_sha1`` is skipped
  with a warning (``collect_embedded_signatures`` keeps only its ``SigSeedSubFilter`` values);
* a CMS with several SignerInfos makes ``EmbeddedPdfSignature`` raise ("signer_infos should
  contain exactly one entry"), and with it the whole list: the document seems unsigned.
  ISO 32000-2 (12.8.3.3.1) allows one SignerInfo; poppler checks the first one;
* anything else its reading of a signature trips on (a KeyError on a dangling reference, an
  assertion on a /V that is no dictionary) loses that signature.

:func:`collect` reads each signature field alone: pyHanko's own object when it can be made, the
first SignerInfo's view for a CMS with several, and otherwise the raw signature dictionary,
which :func:`check_raw` verifies from the signed bytes (ByteRange digest and CMS or PKCS#1
signature, and the signer's chain). :func:`scan` finds signature dictionaries in the bytes of a
file whose cross-reference data pyHanko cannot read at all (negative or wrong offsets), as
poppler does after reconstructing it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.fields import SigSeedSubFilter, enumerate_sig_fields
from pyhanko.sign.general import extract_signer_info
from pyhanko.sign.validation.generic_cms import async_validate_cms_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature, extract_contents
from pyhanko_certvalidator import CertificateValidator, ValidationContext

logger = logging.getLogger(__name__)
SUPPORTED = frozenset(str(s.value) for s in SigSeedSubFilter)
LEGACY = frozenset({"/adbe.pkcs7.sha1", "/adbe.x509.rsa_sha1"})
MAX_SCAN = 200  # signature dictionaries looked at in a file pyHanko cannot read


@dataclass
class Found:
    """One filled signature field."""

    field_name: str
    sig: EmbeddedPdfSignature | None = None  # pyHanko's reading, when it could make one
    sig_object: Any = None  # the raw signature dictionary (a dict of PDF objects)
    signer_infos: int = 1
    error: str | None = None  # why pyHanko could not read it
    subfilter: str | None = None


class FirstSignerInfo(EmbeddedPdfSignature):
    """pyHanko's reading of a signature whose CMS holds several SignerInfos, through the first
    one (as poppler checks it): the SignedData is re-made with that SignerInfo alone. Its
    signature covers the signed attributes, not the SignedData around them, so the check is
    the first signer's own."""

    def __init__(self, reader: PdfFileReader, sig_field: Any, fq_name: str) -> None:
        if isinstance(sig_field, generic.IndirectObject):
            sig_field = sig_field.get_object()
        ref = sig_field.raw_get("/V")
        sig_object = ref.get_object()
        content = extract_contents(sig_object)
        message = cms.ContentInfo.load(content)
        signed_data = message["content"]
        self.total_signer_infos = len(signed_data["signer_infos"])
        # our own parsed copy: keep the first SignerInfo only
        signed_data["signer_infos"] = cms.SignerInfos([signed_data["signer_infos"][0]])
        single = message
        patched = generic.DictionaryObject(sig_object)
        patched["/Contents"] = generic.ByteStringObject(single.dump())
        # pyHanko reads everything from the signature dictionary; the byte range and the
        # revision come from the original (the reference stays the field's /V)
        field = generic.DictionaryObject(sig_field)
        holder = _Holder(patched, ref)
        field["/V"] = holder
        super().__init__(reader, field, fq_name)
        self.pkcs7_content = content


class _Holder(generic.IndirectObject):
    """An indirect reference to the original signature object that resolves to a patched
    copy of it (see :class:`FirstSignerInfo`)."""

    def __init__(self, value: generic.DictionaryObject, ref: generic.IndirectObject) -> None:
        super().__init__(ref.idnum, ref.generation, ref.get_pdf_handler())
        self._value = value

    def get_object(self) -> generic.DictionaryObject:
        return self._value


def collect(reader: PdfFileReader) -> list[Found]:
    """Every filled signature field, in signing order (pyHanko's signed revision, or the end of
    the byte range for those pyHanko cannot read)."""
    found: list[Found] = []
    for fq_name, sig_obj_ref, sig_field in enumerate_sig_fields(reader, filled_status=True):
        name = str(fq_name)
        try:
            sig_object = sig_obj_ref.get_object()
        except Exception as e:
            found.append(Found(name, error=_error(e)))
            continue
        if not isinstance(sig_object, generic.DictionaryObject):
            found.append(Found(name, error="the signature value is not a dictionary"))
            continue
        subfilter = str(sig_object.get("/SubFilter", ""))
        item = Found(name, sig_object=sig_object, subfilter=subfilter)
        found.append(item)
        if subfilter not in SUPPORTED:
            item.error = f"SubFilter {subfilter or '(none)'}"
            continue
        try:
            item.sig = EmbeddedPdfSignature(reader, sig_field, name)
        except Exception as e:
            item.error = _error(e)
            try:
                several = FirstSignerInfo(reader, sig_field, name)
            except Exception:  # not that: the raw check reads it (check_raw)
                logger.debug("signature %s: no SignerInfo to read", name, exc_info=True)
                continue
            if several.total_signer_infos > 1:
                item.sig, item.error = several, None
                item.signer_infos = several.total_signer_infos
    return sorted(found, key=_order)


def _order(item: Found) -> int:
    """Where the signed bytes end: the order of signing, for pyHanko's readings and ours."""
    try:
        ranges = item.sig_object["/ByteRange"]
        return int(ranges[2]) + int(ranges[3])
    except Exception:
        return 1 << 62


def _error(e: BaseException) -> str:
    text = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


# --- checking a signature from its bytes -------------------------------------------------------


@dataclass
class RawCheck:
    """What the signed bytes say, without pyHanko's reading of the document."""

    intact: bool = False
    trusted: bool = False
    signer: asn1_x509.Certificate | None = None
    covers_whole_file: bool = False
    end: int = 0  # where the signed bytes end
    weak: str | None = None  # a digest that no longer protects (SHA-1)
    problem: str | None = None  # why it could not be checked at all
    timestamp: dt.datetime | None = None
    notes: list[str] = field(default_factory=list)


def _byte_range(sig_object: Any) -> list[int]:
    values = [int(v) for v in sig_object["/ByteRange"]]
    if len(values) != 4 or any(v < 0 for v in values):
        raise ValueError(f"ByteRange {values}")
    return values


def _signed_bytes(data: bytes, ranges: list[int]) -> bytes:
    a, la, b, lb = ranges
    if a + la > len(data) or b + lb > len(data) or b < a + la:
        raise ValueError("the ByteRange reaches past the end of the file")
    return data[a : a + la] + data[b : b + lb]


def _raw_contents(sig_object: Any) -> bytes:
    value = sig_object["/Contents"]
    return bytes(value.original_bytes if hasattr(value, "original_bytes") else value)


async def check_raw(data: bytes, sig_object: Any, vc: ValidationContext) -> RawCheck:
    """Verify a signature dictionary against the file's bytes: the digest of its byte range,
    the signature over it, and the signer's certificate chain."""
    out = RawCheck()
    try:
        ranges = _byte_range(sig_object)
        signed = _signed_bytes(data, ranges)
        out.end = ranges[2] + ranges[3]
        out.covers_whole_file = not data[out.end :].strip(b"\r\n\t \x00%EOF")
        subfilter = str(sig_object.get("/SubFilter", ""))
        contents = _raw_contents(sig_object)
        if subfilter == "/adbe.x509.rsa_sha1":
            await _check_rsa_sha1(out, sig_object, contents, signed, vc)
        else:
            await _check_cms(out, subfilter, contents, signed, vc)
    except Exception as e:
        out.problem = _error(e)
    return out


async def _check_cms(
    out: RawCheck, subfilter: str, contents: bytes, signed: bytes, vc: ValidationContext
) -> None:
    message = cms.ContentInfo.load(contents.rstrip(b"\x00"), strict=False)
    signed_data = message["content"]
    infos = signed_data["signer_infos"]
    if len(infos) != 1:
        out.notes.append(f"{len(infos)} SignerInfos")
        signed_data["signer_infos"] = cms.SignerInfos([infos[0]])  # our own parsed copy
    signer_info = extract_signer_info(signed_data)
    md = signer_info["digest_algorithm"]["algorithm"].native
    eci = signed_data["encap_content_info"]
    if subfilter == "/ETSI.RFC3161":
        # a document timestamp: the token's message imprint is the digest of the byte range
        status = await async_validate_cms_signature(signed_data, validation_context=vc)
        tst_info = eci["content"].parsed
        imprint = tst_info["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        matches = imprint["hashed_message"].native == hashlib.new(algorithm, signed).digest()
        out.intact = bool(matches and status.intact and status.valid)
        out.timestamp = tst_info["gen_time"].native
    elif subfilter == "/adbe.pkcs7.sha1":
        # the signed content is the SHA-1 digest of the byte range, encapsulated
        out.weak = "SHA-1"
        content = eci["content"].native if eci["content"] is not core.VOID else b""
        if isinstance(content, bytes) and len(content) != 20:
            with contextlib.suppress(Exception):  # some wrap it in an OCTET STRING of its own
                content = core.OctetString.load(content).native
        # the SubFilter's own digest, checked to report it (and called weak above)
        matches = content == hashlib.sha1(signed, usedforsecurity=False).digest()
        status = await async_validate_cms_signature(signed_data, validation_context=vc)
        out.intact = bool(matches and status.intact and status.valid)
    else:
        digest = hashlib.new(md.replace("sha3_", "sha3-"), signed).digest()
        status = await async_validate_cms_signature(
            signed_data, raw_digest=digest, validation_context=vc
        )
        out.intact = bool(status.intact and status.valid)
        if md in ("sha1", "md5"):
            out.weak = md.upper()
    out.trusted = bool(status.trusted)
    out.signer = status.signing_cert


async def _check_rsa_sha1(
    out: RawCheck, sig_object: Any, contents: bytes, signed: bytes, vc: ValidationContext
) -> None:
    """/Contents: a DER OCTET STRING holding a PKCS#1 v1.5 signature over the SHA-1 of the byte
    range; /Cert: the signer's certificate first, then others (a string or an array)."""
    out.weak = "SHA-1"
    raw = sig_object["/Cert"]
    ders = [bytes(c) for c in raw] if isinstance(raw, generic.ArrayObject) else [bytes(raw)]
    certs = [asn1_x509.Certificate.load(d) for d in ders]
    signature = core.OctetString.load(contents.rstrip(b"\x00"), strict=False).native
    key = x509.load_der_x509_certificate(ders[0]).public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed, ec.ECDSA(hashes.SHA1()))  # noqa: S303
        else:
            raise ValueError("unsupported key")
        out.intact = True
    except Exception:
        out.intact = False
    out.signer = certs[0]
    try:
        validator = CertificateValidator(certs[0], certs[1:], validation_context=vc)
        await validator.async_validate_usage({"digital_signature"})
        out.trusted = True
    except Exception:
        out.trusted = False


# --- files pyHanko cannot open -----------------------------------------------------------------

_BYTE_RANGE = re.compile(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]")
_CONTENTS = re.compile(rb"/Contents\s*<([0-9A-Fa-f\s]*)>")
_NAME = re.compile(rb"/(SubFilter|Type)\s*/([A-Za-z0-9.#_-]+)")
_TEXT = re.compile(rb"/(Name|Reason|M)\s*\(((?:\\.|[^\\)])*)\)")


def scan(data: bytes) -> list[dict[str, Any]]:
    """Signature dictionaries found by their /ByteRange in the raw bytes, as plain dicts of
    PDF objects (``/ByteRange``, ``/Contents``, ``/SubFilter``, ``/Type``, ``/Name``,
    ``/Reason``, ``/M``), in file order."""
    out: list[dict[str, Any]] = []
    for m in list(_BYTE_RANGE.finditer(data))[:MAX_SCAN]:
        start = data.rfind(b"<<", 0, m.start())
        start = max(start, m.start() - 20000, 0)
        window = data[start : m.end() + 80000]
        end = window.find(b"endobj")
        window = window[: end if end > 0 else len(window)]
        contents = _CONTENTS.search(window)
        if contents is None:
            continue
        entry: dict[str, Any] = {
            "/ByteRange": [int(m.group(i)) for i in range(1, 5)],
            "/Contents": bytes.fromhex(re.sub(rb"\s", b"", contents.group(1)).decode()),
        }
        for key, value in _NAME.findall(window):
            entry.setdefault("/" + key.decode(), "/" + value.decode())
        for key, value in _TEXT.findall(window):
            entry.setdefault("/" + key.decode(), _pdf_text(value))
        out.append(entry)
    return out


_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _pdf_text(raw: bytes) -> str:
    """A PDF literal string's text: escapes undone, UTF-16 (with its BOM) or PDFDocEncoding."""
    out = re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: (
            bytes([int(m.group(1), 8) & 0xFF])
            if m.group(1)[:1].isdigit()
            else _ESCAPES.get(m.group(1), m.group(1))
        ),
        raw,
        flags=re.S,
    )
    if out.startswith(b"\xfe\xff"):
        return out[2:].decode("utf-16-be", "replace")
    if out.startswith(b"\xef\xbb\xbf"):
        return out[3:].decode("utf-8", "replace")
    return out.decode("latin-1")
