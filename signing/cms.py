"""CMS signatures assembled from pre-encoded parts, and the event loop pyHanko's coroutines
run on.

pyHanko's own signer re-encoded the certificates on every signature; :class:`FastCMSSigner`
writes the ``SignedData`` from DER parts encoded once per certificate (checked against pyHanko's
encoding in the tests). :func:`run_sync` runs pyHanko's coroutines on one event loop per thread
instead of a new loop per call. :class:`RecordingTimeStamper` keeps the last timestamp token,
for the signature's report.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Coroutine
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

from asn1crypto import cms
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import (
    SimpleCertificateStore,
)
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .fastpath import OCTET_STRING, SEQUENCE, SET, der_oid, der_set_of, tlv
from .keystore import LoadedKey
from .tsa import SHA256_ALGORITHM, TimestampUnavailable, attribute


class SigningFailed(Exception):
    """The signature could not be made (other than a missing timestamp)."""


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


class RecordingTimeStamper(TimeStamper):
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


def token_signer(signed_data: cms.SignedData) -> asn1_x509.Certificate | None:
    """The certificate that signed a timestamp token (or any CMS), from those it carries."""
    sid = signed_data["signer_infos"][0]["sid"]
    for choice in signed_data["certificates"] or ():
        cert = choice.chosen
        if not isinstance(cert, asn1_x509.Certificate):
            continue
        if sid.name == "issuer_and_serial_number":
            if (
                cert.serial_number == sid.chosen["serial_number"].native
                and cert.issuer == sid.chosen["issuer"]
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None
