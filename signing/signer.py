"""Approval signatures (PAdES B-T) and the final long-term validation step (PAdES B-LTA).

* :func:`sign_approval` adds one approval signature (never a certification signature) in an
  incremental update, with a signature timestamp from the TSA, visible as the red seal image in
  the approver's stamp box or invisible.
* :func:`add_validation_data_and_doc_timestamp` embeds certificates and our CRL for every
  signature in the DSS and adds a document timestamp, for the final decision.

Speed (DESIGN.md §4): :class:`PositionSigner` holds the key parsed once by the
:class:`~signing.keystore.KeyStore`, and ``bytes_reserved`` is always given, so pyHanko never
makes a dry-run signature to estimate the size. No network access on this path unless an
external TSA is configured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from asn1crypto import cms
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from pyhanko.pdf_utils import layout
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, collect_validation_info
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import conf
from .keystore import KeyStore, LoadedKey, get_keystore, to_asn1
from .pki import name_parts
from .seal import render_seal
from .tsa import TimestampUnavailable, get_timestamper

JST = ZoneInfo("Asia/Tokyo")
Box = tuple[int, float, float, float, float]  # (page index from 0, x1, y1, x2, y2) in points


class SigningFailed(Exception):
    """The signature could not be made (other than a missing timestamp)."""


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


class PositionSigner(Signer):
    """A pyHanko signer around an already parsed key (ECDSA P-256): no per-signature parsing."""

    def __init__(self, key: LoadedKey) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple([key.asn1_certificate, *key.chain])
        super().__init__(
            signing_cert=key.asn1_certificate, cert_registry=registry, embed_roots=True
        )
        self._key = key.private_key

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if not isinstance(self._key, ec.EllipticCurvePrivateKey):  # pragma: no cover
            raise SigningFailed("only ECDSA keys are supported")
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


class _Recording(TimeStamper):
    """Delegates to another timestamper and remembers the last token (for SignatureInfo)."""

    def __init__(self, inner: TimeStamper) -> None:
        super().__init__()
        self.inner = inner
        self.token: cms.ContentInfo | None = None

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            token = await self.inner.async_timestamp(message_digest, md_algorithm)
        except TimestampUnavailable:
            raise
        except Exception as e:
            raise TimestampUnavailable(f"timestamp failed: {type(e).__name__}: {e}") from e
        self.token = token
        return token


def family_name(person: str) -> str:
    """佐藤 太郎 → 佐藤 (Japanese order: family name first; no space → the whole name)."""
    parts = person.replace("\u3000", " ").split()
    return parts[0] if parts else person


def _seal_style(seal_png: bytes) -> StaticStampStyle:
    image: Image.Image = Image.open(io.BytesIO(seal_png))
    image.load()
    if image.mode not in ("RGBA", "RGB", "LA", "L"):
        image = image.convert("RGBA")
    return StaticStampStyle(
        background=PdfImage(image),
        background_opacity=1.0,
        border_width=0,
        background_layout=layout.SimpleBoxLayoutRule(
            x_align=layout.AxisAlignment.ALIGN_MID,
            y_align=layout.AxisAlignment.ALIGN_MID,
            margins=layout.Margins.uniform(0),
        ),
    )


def _as_stream(pdf: bytes | BinaryIO) -> BinaryIO:
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
) -> SignatureInfo:
    """Add an approval signature with the key of ``position_key_id``.

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
    recording = _Recording(timestamper or get_timestamper())
    signed_at = dt.datetime.now(dt.UTC)

    try:
        writer = IncrementalPdfFileWriter(_as_stream(pdf), strict=False)
    except Exception as e:
        raise SigningFailed(f"cannot read the PDF: {e}") from e
    if writer.prev.encrypted:
        raise SigningFailed("the PDF is encrypted")

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
            seal_png = render_seal(
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
    try:
        pdf_signer.sign_pdf(writer, output=out, bytes_reserved=conf.bytes_reserved())
    except TimestampUnavailable:
        raise
    except Exception as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, TimestampUnavailable):
            raise cause from e
        raise SigningFailed(f"signing failed: {type(e).__name__}: {e}") from e
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


def validation_context(
    store: KeyStore | None = None,
    *,
    extra_roots: Iterable[Any] = (),
    revocation_mode: str = "require",
) -> ValidationContext:
    """Trust our root (+ ``extra_roots``), know our certificates and current CRL, never fetch.

    ``require`` (the default) demands revocation information for every certificate below the
    root: right for our own chain, whose CRL is always at hand (our certificates need no CRL
    distribution point for this). Foreign chains (extra roots, an external TSA) cannot be
    checked without fetching: use ``soft-fail`` for them.
    """
    store = store or get_keystore()
    ca = store.ca
    roots = [store.root_asn1(), *extra_roots]
    others = [to_asn1(c) for c in ca.all_certificates()]
    crl = ca.crl()
    return ValidationContext(
        trust_roots=roots,
        other_certs=others,
        crls=[crl.public_bytes(serialization.Encoding.DER)],
        allow_fetching=False,
        revocation_mode=revocation_mode,
    )


def add_validation_data_and_doc_timestamp(
    pdf: bytes | BinaryIO,
    out: BinaryIO,
    *,
    timestamper: TimeStamper | None = None,
    keystore: KeyStore | None = None,
) -> int:
    """PAdES B-LTA for the final decision: DSS with certificates and our CRL for every
    signature (and its timestamp), then a document timestamp; the TSA's own chain is added to
    the DSS after it. Uses only local data (no OCSP/CRL fetching). Returns the bytes written."""
    store = keystore or get_keystore()
    vc = validation_context(store)
    stream = _as_stream(pdf)
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
        asyncio.run(collect())
    except Exception as e:
        raise SigningFailed(f"cannot collect validation data: {e}") from e
    recording = _Recording(timestamper or get_timestamper())
    start = out.tell() if out.seekable() else 0
    try:
        signers.PdfTimeStamper(recording).timestamp_pdf(
            writer,
            "sha256",
            validation_context=vc,
            bytes_reserved=conf.bytes_reserved(),
            output=out,
        )
    except TimestampUnavailable:
        raise
    except Exception as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, TimestampUnavailable):
            raise cause from e
        raise SigningFailed(f"document timestamp failed: {type(e).__name__}: {e}") from e
    return out.seek(0, io.SEEK_END) - start
