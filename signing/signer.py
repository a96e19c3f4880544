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
  (:class:`FastCMSSigner`; pyHanko re-encoded the certificates on every signature), and the
  internal TSA assembles its token the same way without building a request
  (:func:`signing.tsa.token_der`);
* the seal image is decoded and compressed once per seal (:func:`_decode_seal`);
* pyHanko's coroutines run on one event loop per thread (:func:`run_sync`) instead of a new
  loop per call;
* :func:`validation_context` builds each context from trust anchors, certificates and a CRL
  parsed once per change of the PKI directory (:meth:`KeyStore.trust`);
* :mod:`signing.fastpath` speeds up pyHanko's xref-table, hex-string and reference-array
  parsers and asn1crypto's name comparison (checked against the originals in the tests).

No network access on this path unless an external TSA is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import io
import threading
import zlib
from collections import defaultdict
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, BinaryIO, TypeVar
from zoneinfo import ZoneInfo

from asn1crypto import cms
from cryptography.hazmat.primitives.asymmetric import ec
from PIL import Image
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import PdfImage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, collect_validation_info
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import (
    CertificateRegistry,
    SimpleCertificateStore,
    SimpleTrustManager,
)
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from . import conf, fastpath
from .fastpath import OCTET_STRING, SEQUENCE, SET, der_oid, der_set_of, tlv
from .keystore import KeyStore, LoadedKey, TrustState, get_keystore
from .pki import name_parts
from .seal import render_seal
from .tsa import SHA256_ALGORITHM, TimestampUnavailable, attribute, get_timestamper

fastpath.install()

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


T = TypeVar("T")
OID_DATA = der_oid("1.2.840.113549.1.7.1")
OID_SIGNED_DATA = der_oid("1.2.840.113549.1.7.2")
OID_CONTENT_TYPE = der_oid("1.2.840.113549.1.9.3")
OID_MESSAGE_DIGEST = der_oid("1.2.840.113549.1.9.4")
OID_TIMESTAMP_TOKEN = der_oid("1.2.840.113549.1.9.16.2.14")


class _LoopHolder:
    """One event loop per thread, closed when the thread ends (its locals are dropped)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.loop.close()


_local = threading.local()


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a pyHanko coroutine to completion on this thread's own event loop.

    pyHanko's synchronous wrappers call ``asyncio.run`` per call (a new loop, its self-pipe and
    two shutdown rounds every time); reusing one loop per thread avoids that. Like
    ``asyncio.run`` it refuses to run inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError("run_sync() cannot be called from a running event loop")
    holder: _LoopHolder | None = getattr(_local, "loop", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.loop = _LoopHolder()
    return holder.loop.run_until_complete(coro)


@dataclass(frozen=True)
class _CMSParts:
    sid: bytes  # IssuerAndSerialNumber of the signing certificate
    certificates: bytes  # [0] IMPLICIT SET OF Certificate
    signed_attrs: tuple[bytes, ...]  # content-type and signing-certificate-v2 attributes
    signature_algorithm: bytes


class FastCMSSigner(Signer):
    """A pyHanko :class:`Signer` that assembles PAdES CMS signatures from pre-encoded parts.

    pyHanko builds the ``SignedData`` with asn1crypto, which re-encodes both certificates and
    the signing-certificate-v2 attribute on every signature (~10 ms). For the one shape we
    produce (PAdES, SHA-256, detached, optionally with a signature timestamp) this class writes
    the same DER from parts encoded once per certificate; anything else goes to pyHanko.
    Subclasses provide ``async_sign_raw`` (a key in memory, or a PKCS#11 token)."""

    _parts: _CMSParts | None = None

    def _cms_parts(self) -> _CMSParts:
        if self._parts is None:
            cert = self.signing_cert
            if cert is None:  # pragma: no cover
                raise SigningFailed("the signer has no certificate")
            certs = {cert.dump()}
            certs.update(c.dump() for c in (self.cert_registry or ()))
            self._parts = _CMSParts(
                sid=cms.IssuerAndSerialNumber(
                    {"issuer": cert.issuer, "serial_number": cert.serial_number}
                ).dump(),
                certificates=der_set_of(certs, tag=0xA0),
                signed_attrs=(
                    attribute(OID_CONTENT_TYPE, OID_DATA),
                    signing_certificate_attribute(cert.dump()),
                ),
                signature_algorithm=self.get_signature_mechanism_for_digest("sha256").dump(),
            )
        return self._parts

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: TimeStamper | None = None,
        signed_attr_settings: Any = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> cms.ContentInfo:
        fast = (
            digest_algorithm.lower() == "sha256"
            and use_pades
            and is_pdf_sig
            and not dry_run
            and encap_content_info is None
            and not self.attribute_certs
            and self.signed_attr_prov_spec is None
            and self.unsigned_attr_prov_spec is None
            and (signed_attr_settings is None or signed_attr_settings.cades_signed_attrs is None)
        )
        if not fast:
            return await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )
        parts = self._cms_parts()
        signed_attrs = [
            *parts.signed_attrs,
            attribute(OID_MESSAGE_DIGEST, tlv(OCTET_STRING, data_digest)),
        ]
        signature = await self.async_sign_raw(der_set_of(signed_attrs), "sha256")
        unsigned = b""
        if timestamper is not None:
            token = await timestamper.async_timestamp(hashlib.sha256(signature).digest(), "sha256")
            unsigned = der_set_of([attribute(OID_TIMESTAMP_TOKEN, token.dump())], tag=0xA1)
        signer_info = tlv(
            SEQUENCE,
            b"\x02\x01\x01",  # version v1: issuerAndSerialNumber
            parts.sid,
            SHA256_ALGORITHM,
            der_set_of(signed_attrs, tag=0xA0),
            parts.signature_algorithm,
            tlv(OCTET_STRING, signature),
            unsigned,
        )
        signed_data = tlv(
            SEQUENCE,
            b"\x02\x01\x01",  # version v1
            tlv(SET, SHA256_ALGORITHM),
            tlv(SEQUENCE, OID_DATA),  # detached
            parts.certificates,
            tlv(SET, signer_info),
        )
        return cms.ContentInfo.load(tlv(SEQUENCE, OID_SIGNED_DATA, tlv(0xA0, signed_data)))


@lru_cache(maxsize=256)
def signing_certificate_attribute(cert_der: bytes) -> bytes:
    from asn1crypto import x509 as asn1_x509
    from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

    cert = asn1_x509.Certificate.load(cert_der)
    return simple_cms_attribute("signing_certificate_v2", as_signing_certificate_v2(cert)).dump()


class PositionSigner(FastCMSSigner):
    """A pyHanko signer around an already parsed key (ECDSA P-256): no per-signature parsing."""

    def __init__(self, key: LoadedKey) -> None:
        registry = SimpleCertificateStore()
        registry.register_multiple([key.asn1_certificate, *key.chain])
        super().__init__(
            signing_cert=key.asn1_certificate, cert_registry=registry, embed_roots=True
        )
        self._key = key.private_key
        self._parts = _cms_parts_for(key, self)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if not isinstance(self._key, ec.EllipticCurvePrivateKey):  # pragma: no cover
            raise SigningFailed("only ECDSA keys are supported")
        return self._key.sign(data, ec.ECDSA(get_pyca_cryptography_hash(digest_algorithm)))


_parts_lock = threading.Lock()
_parts_cache: dict[int, tuple[LoadedKey, _CMSParts]] = {}


def _cms_parts_for(key: LoadedKey, signer: FastCMSSigner) -> _CMSParts:
    """The pre-encoded CMS parts of a loaded key, computed once per key object."""
    hit = _parts_cache.get(id(key))
    if hit is not None and hit[0] is key:
        return hit[1]
    signer._parts = None
    parts = signer._cms_parts()
    with _parts_lock:
        if len(_parts_cache) > 256:
            _parts_cache.clear()
        _parts_cache[id(key)] = (key, parts)
    return parts


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
        run_sync(
            pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=conf.bytes_reserved())
        )
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


_tm_lock = threading.Lock()
_trust_managers: dict[tuple[int, tuple[bytes, ...]], tuple[TrustState, SimpleTrustManager]] = {}


def _trust_manager(trust: TrustState, extra_roots: tuple[Any, ...]) -> SimpleTrustManager:
    """Trust anchors of one trust state (+ extra roots), built once: they never change."""
    extra_der = tuple(r.dump() for r in extra_roots)
    key = (id(trust), extra_der)
    hit = _trust_managers.get(key)
    if hit is not None and hit[0] is trust:
        return hit[1]
    manager = SimpleTrustManager.build(trust_roots=[trust.root, *extra_roots])
    with _tm_lock:
        if len(_trust_managers) > 32:
            _trust_managers.clear()
        _trust_managers[key] = (trust, manager)
    return manager


_registries: dict[int, tuple[TrustState, CertificateRegistry]] = {}


def _registry(trust: TrustState) -> CertificateRegistry:
    """A certificate registry holding every certificate of ``trust``, as a private copy.

    Registering a certificate computes its names' comparison keys: ~30 µs each, so 17 ms per
    context with 500 posts. The registry is built once per trust state and each context gets a
    shallow copy of its indexes (pyHanko adds the certificates it finds in a signature to the
    context's registry, so contexts must not share one)."""
    hit = _registries.get(id(trust))
    if hit is None or hit[0] is not trust:
        template = CertificateRegistry.build(trust.certificates)
        with _tm_lock:
            if len(_registries) > 8:
                _registries.clear()
            _registries[id(trust)] = (trust, template)
    else:
        template = hit[1]
    try:
        copy = CertificateRegistry()
        copy.certs = dict(template.certs)
        for name in ("_subject_map", "_key_identifier_map", "_key_hash_map"):
            index: defaultdict[Any, list[Any]] = defaultdict(list)
            index.update((k, list(v)) for k, v in getattr(template, name).items())
            setattr(copy, name, index)
        return copy
    except AttributeError:  # pragma: no cover - another pyhanko-certvalidator
        return CertificateRegistry.build(trust.certificates)


def validation_context(
    store: KeyStore | None = None,
    *,
    extra_roots: Iterable[Any] = (),
    revocation_mode: str = "require",
    moment: dt.datetime | None = None,
    retroactive_revinfo: bool = False,
) -> ValidationContext:
    """Trust our root (+ ``extra_roots``), know our certificates and current CRL, never fetch.

    ``require`` (the default) demands revocation information for every certificate below the
    root: right for our own chain, whose CRL is always at hand (our certificates need no CRL
    distribution point for this). Foreign chains (extra roots, an external TSA) cannot be
    checked without fetching: use ``soft-fail`` for them.

    ``moment`` validates at a point in the past (e.g. a trusted timestamp's time, as proof of
    existence): a certificate revoked *after* it is still good then. Our CRL is issued later
    than such a moment, hence ``retroactive_revinfo`` (the CRL is taken to speak for the past).

    A new context each call (pyHanko's contexts accumulate state), built from parts that are
    parsed once per change of the PKI directory (:meth:`KeyStore.trust`).
    """
    store = store or get_keystore()
    trust = store.trust()
    return ValidationContext(
        trust_manager=_trust_manager(trust, tuple(extra_roots)),
        certificate_registry=_registry(trust),
        crls=[trust.crl],
        allow_fetching=False,
        revocation_mode=revocation_mode,
        moment=moment,
        retroactive_revinfo=retroactive_revinfo,
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
        run_sync(collect())
    except Exception as e:
        raise SigningFailed(f"cannot collect validation data: {e}") from e
    recording = _Recording(timestamper or get_timestamper())
    start = out.tell() if out.seekable() else 0
    try:
        run_sync(
            signers.PdfTimeStamper(recording).async_timestamp_pdf(
                writer,
                "sha256",
                validation_context=vc,
                bytes_reserved=conf.bytes_reserved(),
                output=out,
            )
        )
    except TimestampUnavailable:
        raise
    except Exception as e:
        cause = e.__cause__ or e.__context__
        if isinstance(cause, TimestampUnavailable):
            raise cause from e
        raise SigningFailed(f"document timestamp failed: {type(e).__name__}: {e}") from e
    return out.seek(0, io.SEEK_END) - start
