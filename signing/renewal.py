"""Archival timestamp renewal of a PDF (PAdES B-LTA, ETSI EN 319 142-1 §5.5).

A decided record ends with a document timestamp: it proves that everything before it (the
approval signatures, their timestamps, the validation data) existed at that time. That proof
lasts as long as the timestamp can be validated: until its TSA certificate expires (or its
algorithms become weak). Before then, :func:`renew_pdf` adds the validation data of the last
timestamp (its TSA's certificates and our CRL) to the DSS and a new document timestamp over the
whole file, from a TSA whose certificate outlives the old one. The verifier
(:func:`signing.verify.verify_pdf`) validates each older timestamp at the time of the next one,
so the chain stays valid across any number of renewals.

With the internal TSA, a TSA certificate that itself expires within the window is replaced first
(:func:`ensure_fresh_tsa`, :meth:`~signing.pki.CertificateAuthority.rotate_tsa`): renewing with
it would not help. Renewing the stored records (``renew_timestamps``) is `retention.renewal`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import BinaryIO

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from . import conf
from .cms import RecordingTimeStamper, run_sync, token_signer
from .keystore import KeyStore, get_keystore
from .signer import as_stream, write_document_timestamp
from .trust import extra_trust_roots, validation_context
from .tsa import InternalTimeStamper, get_timestamper

DEFAULT_DAYS = 365
WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
MIN_KEY_BITS = {"rsa": 2048, "rsassa_pss": 2048, "dsa": 2048, "ec": 256}
STRONG_DIGESTS = ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512")


class RenewalFailed(Exception):
    """The record's timestamps cannot be renewed (no timestamp, no longer valid, …)."""


# --- the file --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimestampState:
    """What matters about the last document timestamp of a record for its renewal."""

    field_name: str
    time: dt.datetime
    tsa: str
    tsa_serial: int
    tsa_not_after: dt.datetime
    digest_algorithm: str  # of the message imprint (hashing the document)
    signature_digest: str  # hashing the token's signed attributes
    key_algorithm: str
    key_bits: int

    def reasons(self, *, days: float = DEFAULT_DAYS, now: dt.datetime | None = None) -> list[str]:
        """Why it needs renewing: its TSA certificate expires within ``days``, or its
        algorithms are weak. Empty when it does not."""
        now = now or dt.datetime.now(dt.UTC)
        out = []
        if self.tsa_not_after <= now + dt.timedelta(days=days):
            out.append(
                f"TSA certificate {self.tsa_serial:x} ({self.tsa}) expires "
                f"{self.tsa_not_after.isoformat()}"
            )
        for what, algorithm in (
            ("document digest", self.digest_algorithm),
            ("signature digest", self.signature_digest),
        ):
            if algorithm in WEAK_DIGESTS:
                out.append(f"weak {what} {algorithm}")
        minimum = MIN_KEY_BITS.get(self.key_algorithm)
        if minimum is not None and self.key_bits < minimum:
            out.append(f"weak TSA key {self.key_algorithm} {self.key_bits} bits")
        return out


def _token_state(field_name: str, signed_data: cms.SignedData) -> TimestampState:
    tst_info = signed_data["encap_content_info"]["content"].parsed
    cert = token_signer(signed_data)
    if cert is None:
        raise RenewalFailed("the timestamp token does not carry its TSA's certificate")
    info = signed_data["signer_infos"][0]
    key = cert.public_key
    return TimestampState(
        field_name=field_name,
        time=tst_info["gen_time"].native,
        tsa=str(cert.subject.native.get("common_name") or cert.subject.human_friendly),
        tsa_serial=cert.serial_number,
        tsa_not_after=cert["tbs_certificate"]["validity"]["not_after"].native,
        digest_algorithm=tst_info["message_imprint"]["hash_algorithm"]["algorithm"].native,
        signature_digest=info["digest_algorithm"]["algorithm"].native,
        key_algorithm=key.algorithm,
        key_bits=key.bit_size,
    )


def last_document_timestamp(pdf: bytes | BinaryIO) -> TimestampState | None:
    """The last document timestamp of ``pdf``, or None if it has none."""
    reader = PdfFileReader(as_stream(pdf), strict=False)
    timestamps = reader.embedded_timestamp_signatures
    if not timestamps:
        return None
    last = timestamps[-1]
    return _token_state(str(last.field_name), last.signed_data)


@dataclass(frozen=True)
class RenewedTimestamp:
    time: dt.datetime
    tsa: str
    tsa_serial: int
    tsa_not_after: dt.datetime
    md_algorithm: str
    size: int


def _contexts(store: KeyStore, signed_data: cms.SignedData) -> ValidationContext:
    """Our chain (revocation data required) or a foreign one (soft-fail, extra roots)."""
    signer = token_signer(signed_data)
    if signer is not None and signer.issuer == store.trust().root.subject:
        return validation_context(store)
    return validation_context(store, extra_roots=extra_trust_roots(), revocation_mode="soft-fail")


def renew_pdf(
    pdf: bytes | BinaryIO,
    out: BinaryIO,
    *,
    timestamper: TimeStamper | None = None,
    keystore: KeyStore | None = None,
) -> RenewedTimestamp:
    """Add the validation data of the last document timestamp and a new document timestamp
    (incremental update written to ``out``). The last timestamp must still validate: once its
    TSA certificate has expired it is too late to renew it."""
    store = keystore or get_keystore()
    stream = as_stream(pdf)
    reader = PdfFileReader(stream, strict=False)
    if reader.encrypted:
        raise RenewalFailed("the PDF is encrypted")
    timestamps = reader.embedded_timestamp_signatures
    if not timestamps:
        raise RenewalFailed("the record has no document timestamp to renew")
    last = timestamps[-1]
    state = _token_state(str(last.field_name), last.signed_data)
    vc = _contexts(store, last.signed_data)
    status = run_sync(async_validate_pdf_timestamp(last, vc, skip_diff=True))
    if not (status.intact and status.valid and status.trusted) or status.validation_path is None:
        raise RenewalFailed(
            f"the last document timestamp ({state.field_name}, {state.time.isoformat()}) no "
            f"longer validates, too late to renew it: {status.summary()}"
        )
    writer = IncrementalPdfFileWriter.from_reader(reader)
    DocumentSecurityStore.supply_dss_in_writer(
        writer, last.pkcs7_content, paths=(status.validation_path,), validation_context=vc
    )
    md = state.digest_algorithm if state.digest_algorithm in STRONG_DIGESTS else "sha256"
    inner = timestamper or get_timestamper()
    recording = RecordingTimeStamper(inner)
    new_vc = (
        validation_context(store)
        if isinstance(inner, InternalTimeStamper)
        else validation_context(store, revocation_mode="soft-fail")
    )
    size, signed_data = write_document_timestamp(writer, recording, md, new_vc, out)
    new = _token_state("", signed_data)
    return RenewedTimestamp(
        time=new.time,
        tsa=new.tsa,
        tsa_serial=new.tsa_serial,
        tsa_not_after=new.tsa_not_after,
        md_algorithm=md,
        size=size,
    )


# --- the TSA ---------------------------------------------------------------------------------


def ensure_fresh_tsa(
    days: float = DEFAULT_DAYS,
    *,
    dry_run: bool = False,
    keystore: KeyStore | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """With the internal TSA: if its certificate expires within ``days``, issue a new one (a
    renewal by a TSA about to expire would prove nothing for long). Returns what was done."""
    if conf.tsa_url():
        return None  # an external TSA: its certificate is checked on the first renewal
    store = keystore or get_keystore()
    current = store.ca.ensure_tsa()
    now = now or dt.datetime.now(dt.UTC)
    if current.not_valid_after_utc > now + dt.timedelta(days=days):
        return None
    if dry_run:
        return (
            f"would replace the internal TSA certificate {current.serial_number:x} "
            f"(expires {current.not_valid_after_utc.isoformat()})"
        )
    new = store.ca.rotate_tsa()
    store.forget(KeyStore.TSA)
    return (
        f"replaced the internal TSA certificate {current.serial_number:x} (expires "
        f"{current.not_valid_after_utc.isoformat()}) by {new.serial_number:x} (expires "
        f"{new.not_valid_after_utc.isoformat()})"
    )
