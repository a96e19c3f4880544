"""Approval signatures (PAdES B-T) and the final long-term validation step (PAdES B-LTA).

* :func:`sign_approval` adds one approval signature (never a certification signature) in an
  incremental update, with a signature timestamp from the TSA, visible as the red seal image in
  the approver's stamp box or invisible.
* :func:`add_validation_data_and_doc_timestamp` embeds certificates and our CRL for every
  signature in the DSS and adds a document timestamp, for the final decision.

Speed (DESIGN.md §4; bench/signing.py): :class:`PositionSigner` holds the key parsed once by
the :class:`~signing.keystore.KeyStore`, and ``bytes_reserved`` is always given, so pyHanko never
makes a dry-run signature to estimate the size. Beyond that, the fixed costs were Python-level
encoding and parsing, not cryptography:

* the CMS ``SignedData`` is written from DER parts encoded once per certificate
  (:class:`signing.cms.FastCMSSigner`; pyHanko re-encoded the certificates on every signature),
  and the internal TSA assembles its token the same way without building a request
  (:func:`signing.tsa.token_der`);
* the dated seal is rendered once per person, post and day (:func:`_dated_seal`), and decoded
  and compressed once per seal (:func:`_decode_seal`);
* pyHanko's coroutines run on one event loop per thread (:func:`signing.cms.run_sync`) instead
  of a new loop per call;
* :func:`signing.trust.validation_context` builds each context from trust anchors, certificates
  and a CRL parsed once per change of the PKI directory (:meth:`KeyStore.trust`);
* :mod:`signing.fastpath` speeds up pyHanko's xref-table, hex-string and reference-array
  parsers and asn1crypto's name comparison (checked against the originals in the tests).

No network access on this path unless an external TSA is configured.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from asn1crypto import cms
from django.core.cache import cache
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, collect_validation_info
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext

from . import conf, fastpath
from .cms import PositionSigner, RecordingTimeStamper, SigningFailed, run_sync, token_signer
from .keystore import KeyStore, get_keystore
from .markup import Mark, write_marks
from .pki import name_parts
from .seal import render_seal
from .trust import validation_context
from .tsa import TimestampUnavailable, get_timestamper

fastpath.install()

JST = ZoneInfo("Asia/Tokyo")
Box = tuple[int, float, float, float, float]  # (page index from 0, x1, y1, x2, y2) in points


@dataclass(frozen=True)
class DocumentTimestamp:
    size: int  # bytes written
    time: dt.datetime  # genTime of the token
    tsa_serial: int | None  # serial of the TSA certificate that signed it


@dataclass(frozen=True)
class SignatureInfo:
    field_name: str
    signer_name: str  # the person who used the position key
    position: str  # CN of the certificate
    section: str  # OU
    organisation: str  # O
    certificate_serial: int
    reason: str
    signed_at: dt.datetime  # local clock of the signer (the claimed time)
    timestamp: dt.datetime | None  # genTime of the signature timestamp token
    tsa: str | None  # subject of the TSA that issued it
    visible: bool
    size: int  # bytes written


def family_name(person: str) -> str:
    """佐藤 太郎 → 佐藤 (Japanese order: family name first; no space → the whole name)."""
    parts = person.replace("\u3000", " ").split()
    return parts[0] if parts else person


@lru_cache(maxsize=256)
def _dated_seal(family: str, day: dt.date, position: str) -> bytes:
    """The dated seal of a person in a post, rendered once a day for the whole deployment:
    drawing it at 4x, downsampling and compressing the PNG takes ~100 ms of CPU on the bench
    machine, several times the rest of a signature (bench/workflow.py --signed), and every worker
    process would draw each approver's seal again. So it is kept in Django's cache (Redis in
    production, shared by every process) for two days, and in this process's memory. The same
    bytes then find their decoded image in :func:`_decode_seal`'s cache too. A cache that fails
    only costs the drawing."""
    key = _seal_key(family, day, position)
    with contextlib.suppress(Exception):
        cached = cache.get(key)
        if isinstance(cached, bytes):
            return cached
    png = render_seal(family, day, position)
    with contextlib.suppress(Exception):
        cache.set(key, png, timeout=2 * 24 * 3600)
    return png


def _seal_key(family: str, day: dt.date, position: str) -> str:
    text = f"{family}\0{day.isoformat()}\0{position}"
    return "seal:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class _DecodedSeal:
    image: Image.Image  # for its size only
    rgb: bytes  # Flate-compressed samples
    alpha: bytes | None


@lru_cache(maxsize=64)
def _decode_seal(seal_png: bytes) -> _DecodedSeal:
    """Decode and compress a seal image once (the same seal serves a person all day)."""
    image: Image.Image = Image.open(io.BytesIO(seal_png))
    image.load()
    alpha = None
    if image.mode in ("RGBA", "LA", "PA", "P"):
        image = image.convert("RGBA")
        alpha = zlib.compress(image.getchannel("A").tobytes())
        rgb = image.convert("RGB")
    else:
        rgb = image.convert("RGB")
    return _DecodedSeal(image=rgb, rgb=zlib.compress(rgb.tobytes()), alpha=alpha)


class _SealImage(PdfImage):
    """A PdfImage whose XObject streams are written from pre-compressed samples."""

    def __init__(self, decoded: _DecodedSeal) -> None:
        super().__init__(decoded.image)
        self._decoded = decoded

    def _stream(self, data: bytes, colour_space: str, **extra: Any) -> generic.StreamObject:
        entries: dict[Any, Any] = {
            pdf_name("/Type"): pdf_name("/XObject"),
            pdf_name("/Subtype"): pdf_name("/Image"),
            pdf_name("/Width"): generic.NumberObject(self.image.width),
            pdf_name("/Height"): generic.NumberObject(self.image.height),
            pdf_name("/ColorSpace"): pdf_name(colour_space),
            pdf_name("/BitsPerComponent"): generic.NumberObject(8),
            pdf_name("/Filter"): pdf_name("/FlateDecode"),
        }
        entries.update({pdf_name(f"/{k}"): v for k, v in extra.items()})
        return generic.StreamObject(entries, encoded_data=data)

    @property
    def image_ref(self) -> generic.IndirectObject:
        writer = self.writer
        if writer is None:  # pragma: no cover
            raise SigningFailed("the seal image has no writer")
        ref = self._image_ref
        if ref is None or ref.get_pdf_handler() is not writer:
            extra = {}
            if self._decoded.alpha is not None:
                extra["SMask"] = writer.add_object(self._stream(self._decoded.alpha, "/DeviceGray"))
            ref = self._image_ref = writer.add_object(
                self._stream(self._decoded.rgb, "/DeviceRGB", **extra)
            )
        return ref


def _seal_style(seal_png: bytes) -> StaticStampStyle:
    return StaticStampStyle(
        background=_SealImage(_decode_seal(bytes(seal_png))),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )


def as_stream(pdf: bytes | BinaryIO) -> BinaryIO:
    if isinstance(pdf, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(pdf))
    return pdf


def _token_info(token: cms.ContentInfo | None) -> tuple[dt.datetime | None, str | None]:
    if token is None:
        return None, None
    tst_info = token["content"]["encap_content_info"]["content"].parsed
    tsa = tst_info["tsa"]
    tsa_name = None
    if tsa.native is not None and tsa.name == "directory_name":
        cns = tsa.chosen.native.get("common_name")
        tsa_name = cns if isinstance(cns, str) else tsa.chosen.human_friendly
    return tst_info["gen_time"].native, tsa_name


def sign_approval(
    pdf: bytes | BinaryIO,
    out: BinaryIO,
    *,
    position_key_id: str,
    reason: str,
    signer_name: str,
    field_name: str,
    box: Box | None = None,
    seal_png: bytes | None = None,
    timestamper: TimeStamper | None = None,
    location: str | None = None,
    keystore: KeyStore | None = None,
    marks: Sequence[Mark] = (),
    info_subject: str | None = None,
    info_keywords: Sequence[str] = (),
) -> SignatureInfo:
    """Add an approval signature with the key of ``position_key_id``.

    ``marks`` (the approver's highlights and notes, the decision's number) are written in the
    signature's own revision, so that nothing in the record is ever signed by nobody, and
    ``info_subject``/``info_keywords`` set the document information and XMP metadata in it
    (the number and the decision date, at the decision).

    ``reason`` is e.g. 「承認 総務課長」 or 「代決 課長補佐（総務課長）」;
    ``signer_name`` is the person.
    ``box`` = (page, x1, y1, x2, y2) in PDF points (origin bottom left) makes the signature
    visible with ``seal_png`` (rendered from the family name, today's date and the position when
    not given); without a box the signature is invisible, unless ``field_name`` names an
    existing empty field with a widget, which then gets the seal.

    ``out`` must be writable, readable and seekable (BytesIO, a file opened ``w+b``).
    Raises :class:`~signing.tsa.TimestampUnavailable` if no timestamp can be had and
    :class:`SigningFailed` for other problems (the PDF, the field, the key).
    """
    store = keystore or get_keystore()
    key = store.get(position_key_id)
    subject = name_parts(key.certificate.subject)
    recording = RecordingTimeStamper(timestamper or get_timestamper())
    signed_at = dt.datetime.now(dt.UTC)

    try:
        writer = IncrementalPdfFileWriter(as_stream(pdf), strict=False)
    except Exception as e:
        raise SigningFailed(f"cannot read the PDF: {e}") from e
    if writer.prev.encrypted:
        raise SigningFailed("the PDF is encrypted")
    if marks:
        write_marks(writer, marks)  # MarkupFailed: the marks, not the signature, are wrong
    if info_subject is not None:
        writer.document_meta.subject = info_subject
    if info_keywords:
        writer.document_meta.keywords = list(info_keywords)

    existing = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    visible = box is not None
    if field_name in existing:
        field_spec = None
        visible = visible or _field_has_area(writer.prev, field_name)
    elif box is not None:
        page, x1, y1, x2, y2 = box
        field_spec = fields.SigFieldSpec(
            field_name, on_page=page, box=(round(x1), round(y1), round(x2), round(y2))
        )
    else:
        field_spec = fields.SigFieldSpec(field_name)

    style = None
    if visible:
        if seal_png is None:
            seal_png = _dated_seal(
                family_name(signer_name), dt.datetime.now(JST).date(), subject["cn"]
            )
        style = _seal_style(seal_png)

    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        name=signer_name,
        location=location,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        certify=False,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        PositionSigner(key),
        timestamper=recording,
        stamp_style=style,
        new_field_spec=field_spec,
    )
    start = out.tell() if out.seekable() else 0
    with timestamp_failures("signing failed"):
        run_sync(
            pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=conf.bytes_reserved())
        )
    ts_time, tsa_name = _token_info(recording.token)
    size = out.seek(0, io.SEEK_END) - start
    return SignatureInfo(
        field_name=field_name,
        signer_name=signer_name,
        position=subject["cn"],
        section=subject["ou"],
        organisation=subject["o"],
        certificate_serial=key.certificate.serial_number,
        reason=reason,
        signed_at=signed_at,
        timestamp=ts_time,
        tsa=tsa_name,
        visible=visible,
        size=size,
    )


def _field_has_area(reader: PdfFileReader, field_name: str) -> bool:
    for name, _, ref in fields.enumerate_sig_fields(reader):
        if name == field_name:
            try:
                x1, y1, x2, y2 = (float(v) for v in ref.get_object()["/Rect"])
            except (KeyError, TypeError, ValueError):
                return False
            return abs(x2 - x1) * abs(y2 - y1) > 0
    return False


def add_validation_data_and_doc_timestamp(
    pdf: bytes | BinaryIO,
    out: BinaryIO,
    *,
    timestamper: TimeStamper | None = None,
    keystore: KeyStore | None = None,
) -> DocumentTimestamp:
    """PAdES B-LTA for the final decision: DSS with certificates and our CRL for every
    signature (and its timestamp), then a document timestamp; the TSA's own chain is added to
    the DSS after it. Uses only local data (no OCSP/CRL fetching). Returns what the revision
    row records of it."""
    store = keystore or get_keystore()
    vc = validation_context(store)
    stream = as_stream(pdf)
    reader = PdfFileReader(stream, strict=False)
    if reader.encrypted:
        raise SigningFailed("the PDF is encrypted")
    sigs = list(reader.embedded_signatures)
    if not sigs:
        raise SigningFailed("the PDF has no signature to preserve")
    writer = IncrementalPdfFileWriter.from_reader(reader)

    async def collect() -> None:
        for sig in sigs:
            paths = await collect_validation_info(sig, vc)
            DocumentSecurityStore.supply_dss_in_writer(
                writer,
                sig.pkcs7_content.hex().encode("ascii"),
                paths=paths,
                validation_context=vc,
            )

    try:
        run_sync(collect())
    except Exception as e:
        raise SigningFailed(f"cannot collect validation data: {e}") from e
    recording = RecordingTimeStamper(timestamper or get_timestamper())
    size, signed_data = write_document_timestamp(writer, recording, "sha256", vc, out)
    tsa = token_signer(signed_data)
    return DocumentTimestamp(
        size=size,
        time=signed_data["encap_content_info"]["content"].parsed["gen_time"].native,
        tsa_serial=tsa.serial_number if tsa is not None else None,
    )


@contextlib.contextmanager
def timestamp_failures(what: str) -> Iterator[None]:
    """A silent TSA surfaces as TimestampUnavailable (pyHanko wraps it on the way), anything
    else as SigningFailed naming `what`."""
    try:
        yield
    except TimestampUnavailable:
        raise
    except Exception as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, TimestampUnavailable):
            raise cause from e
        raise SigningFailed(f"{what}: {type(e).__name__}: {e}") from e


def write_document_timestamp(
    writer: IncrementalPdfFileWriter,
    recording: RecordingTimeStamper,
    md_algorithm: str,
    vc: ValidationContext,
    out: BinaryIO,
) -> tuple[int, cms.SignedData]:
    """Append a document timestamp (the last step of B-LTA, and of each renewal); return the
    bytes written and the token's signed data (its time and TSA, for the revision row)."""
    start = out.tell() if out.seekable() else 0
    with timestamp_failures("document timestamp failed"):
        run_sync(
            signers.PdfTimeStamper(recording).async_timestamp_pdf(
                writer,
                md_algorithm,
                validation_context=vc,
                bytes_reserved=conf.bytes_reserved(),
                output=out,
            )
        )
    if recording.token is None:  # pragma: no cover - pyHanko asks the timestamper once
        raise SigningFailed("no timestamp token was recorded")
    return out.seek(0, io.SEEK_END) - start, recording.token["content"]
