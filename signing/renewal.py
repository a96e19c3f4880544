"""Archival timestamp renewal (PAdES B-LTA, ETSI EN 319 142-1 §5.5).

A decided record ends with a document timestamp: it proves that everything before it (the
approval signatures, their timestamps, the validation data) existed at that time. That proof
lasts as long as the timestamp can be validated: until its TSA certificate expires (or its
algorithms become weak). Before then, :func:`renew_pdf` adds the validation data of the last
timestamp (its TSA's certificates and our CRL) to the DSS and a new document timestamp over the
whole file, from a TSA whose certificate outlives the old one. The verifier
(:func:`signing.verify.verify_pdf`) validates each older timestamp at the time of the next one,
so the chain stays valid across any number of renewals.

``python manage.py renew_timestamps [--days N] [--dry-run]`` walks every decided record (a
:class:`~documents.models.DocumentVersion` with a ``timestamp`` revision) and renews those whose
last document timestamp's TSA certificate expires within N days (default 365) or whose
algorithms are weak; each renewal is one transaction with the version's row locked: the new
file goes to the object store, a ``timestamp`` :class:`~documents.models.RecordRevision` is
appended and ``record_sha256`` moves to it, and the audit trail records it. Running it twice
changes nothing the second time. With the internal TSA, a TSA certificate that itself expires
within the window is replaced first (:meth:`~signing.pki.CertificateAuthority.rotate_tsa`):
renewing with it would not help.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from asn1crypto import cms
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation import DocumentSecurityStore, async_validate_pdf_timestamp
from pyhanko_certvalidator import ValidationContext

from . import conf
from .cms import RecordingTimeStamper, SigningFailed, run_sync, token_signer
from .keystore import KeyStore, get_keystore
from .signer import as_stream, write_document_timestamp
from .trust import extra_trust_roots, validation_context
from .tsa import InternalTimeStamper, TimestampUnavailable, get_timestamper

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 365
WEAK_DIGESTS = frozenset({"md2", "md5", "sha1"})
MIN_KEY_BITS = {"rsa": 2048, "rsassa_pss": 2048, "dsa": 2048, "ec": 256}
STRONG_DIGESTS = ("sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512")
SPOOL_BYTES = 32 * 1024 * 1024
REASON_TEXT = "PAdES B-LTA renewal"


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


# --- the records -----------------------------------------------------------------------------


@dataclass
class Outcome:
    version_id: int
    document_id: int
    label: str
    action: str  # "renewed" | "would renew" | "up to date" | "failed"
    reasons: list[str] = field(default_factory=list)
    detail: str | None = None
    sha256: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version_id,
            "document": self.document_id,
            "label": self.label,
            "action": self.action,
            "reasons": self.reasons,
            "detail": self.detail,
            "sha256": self.sha256,
        }


def candidates() -> Any:
    """Decided records: versions with a document timestamp revision (a QuerySet of pks)."""
    from documents.models import DocumentVersion, RevisionKind

    return (
        DocumentVersion.objects.filter(record_revisions__kind=RevisionKind.TIMESTAMP)
        .exclude(record_sha256="")
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")
    )


def _spool() -> BinaryIO:
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b"))


def _read(sha256: str) -> BinaryIO:
    from storage import get_store, key_for

    out = _spool()
    with get_store().open(key_for(sha256)) as reader:
        while chunk := reader.read(1024 * 1024):
            out.write(chunk)
    out.seek(0)
    return out


def _label(version: Any) -> str:
    document = version.document
    return f"{document.number or document.title} v{version.number}"


def renew_version(
    version_pk: int,
    *,
    days: float = DEFAULT_DAYS,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    timestamper: TimeStamper | None = None,
    keystore: KeyStore | None = None,
    actor: Any = None,
) -> Outcome:
    """Renew one record if it needs it: one transaction, the version's row locked for update
    (so an approval or another renewal cannot interleave). Safe to repeat."""
    from django.db import transaction

    from documents.models import DocumentVersion, RecordRevision, RevisionKind
    from storage import get_store

    store = keystore or get_keystore()
    with transaction.atomic():
        query = DocumentVersion.objects.select_related("document")
        version = (query if dry_run else query.select_for_update()).get(pk=version_pk)
        outcome = Outcome(version.pk, version.document_id, _label(version), "up to date")
        previous = version.record_sha256
        if not previous:
            return outcome
        with _read(previous) as source:
            try:
                state = last_document_timestamp(source)
            except Exception as e:
                outcome.action, outcome.detail = "failed", f"cannot read the record: {e}"
                return outcome
            if state is None:
                outcome.action, outcome.detail = "failed", "no document timestamp in the record"
                return outcome
            outcome.reasons = state.reasons(days=days, now=now)
            if not outcome.reasons:
                return outcome
            if dry_run:
                outcome.action = "would renew"
                return outcome
            source.seek(0)
            with _spool() as renewed:
                try:
                    result = renew_pdf(source, renewed, timestamper=timestamper, keystore=store)
                except (RenewalFailed, SigningFailed, TimestampUnavailable) as e:
                    outcome.action, outcome.detail = "failed", str(e)
                    return outcome
                horizon = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=days)
                if result.tsa_not_after <= horizon:
                    outcome.action = "failed"
                    outcome.detail = (
                        f"the TSA's own certificate ({result.tsa}, {result.tsa_serial:x}) "
                        f"expires {result.tsa_not_after.isoformat()}, within the window: "
                        "renewing with it would not help; renew the TSA certificate first"
                    )
                    return outcome
                size = renewed.seek(0, io.SEEK_END)
                renewed.seek(0)
                info = get_store().put(renewed, length=size, content_type="application/pdf")
        last_seq = version.record_revisions.order_by("-seq").values_list("seq", flat=True).first()
        RecordRevision.objects.create(
            version=version,
            seq=(last_seq or 0) + 1,
            kind=RevisionKind.TIMESTAMP,
            previous_sha256=previous,
            sha256=info.sha256,
            size=info.size,
            actor=actor if getattr(actor, "pk", None) else None,
            reason=REASON_TEXT,
            key_id="tsa",
            certificate_serial=f"{result.tsa_serial:x}",
            timestamp=result.time,
        )
        DocumentVersion.objects.filter(pk=version.pk).update(
            record_sha256=info.sha256, record_size=info.size
        )
        _audit(version, outcome, state, result, actor)
        outcome.action, outcome.sha256 = "renewed", info.sha256
        outcome.detail = (
            f"new document timestamp {result.time.isoformat()} by {result.tsa} "
            f"(certificate {result.tsa_serial:x}, expires {result.tsa_not_after.isoformat()})"
        )
    _lock_renewed(version.document_id)
    return outcome


def _lock_renewed(document_id: int) -> None:
    """The renewed record is a new object: put it under the record's Object Lock now, not only
    when apply_retention next runs (which still heals a failure here)."""
    from documents.models import Document, Status
    from retention.locking import protect

    document = Document.objects.filter(pk=document_id, status=Status.DECIDED).first()
    if document is None:
        return
    try:
        protect(document)
    except Exception:
        logger.exception("renewal: could not lock the renewed record of document %s", document_id)


def _audit(
    version: Any,
    outcome: Outcome,
    state: TimestampState,
    result: RenewedTimestamp,
    actor: Any,
) -> None:
    from audit.services import record

    record(
        "signing.timestamp_renewed",
        actor=actor,
        document=version.document_id,
        version=version.number,
        data={
            "reasons": outcome.reasons,
            "previous": {
                "time": state.time.isoformat(),
                "tsa_serial": f"{state.tsa_serial:x}",
                "tsa_not_after": state.tsa_not_after.isoformat(),
            },
            "timestamp": result.time.isoformat(),
            "tsa_serial": f"{result.tsa_serial:x}",
            "tsa_not_after": result.tsa_not_after.isoformat(),
        },
    )


def fresh_by_serial(
    *, days: float = DEFAULT_DAYS, now: dt.datetime | None = None, keystore: KeyStore | None = None
) -> dict[int, tuple[int, str]]:
    """Records known to be up to date without reading them: their last document timestamp was
    made by a renewal with our internal TSA (the revision row names the TSA certificate's
    serial) whose certificate outlives the window; our TSA uses SHA-256 and P-256 only.
    Returns {version pk: (document pk, label)}."""
    from documents.models import RecordRevision, RevisionKind

    store = keystore or get_keystore()
    horizon = (now or dt.datetime.now(dt.UTC)) + dt.timedelta(days=days)
    lasting = {
        f"{c.serial_number:x}"
        for c in store.ca.tsa_certificates()
        if c.not_valid_after_utc > horizon
    }
    last: dict[int, tuple[str, str, int, str]] = {}
    rows = (
        RecordRevision.objects.filter(kind=RevisionKind.TIMESTAMP)
        .order_by("version_id", "seq")
        .values_list(
            "version_id",
            "key_id",
            "certificate_serial",
            "version__document_id",
            "version__document__number",
            "version__document__title",
            "version__number",
        )
    )
    for version_id, key_id, serial, document_id, number, title, version_number in rows:
        last[version_id] = (key_id, serial, document_id, f"{number or title} v{version_number}")
    return {
        pk: (document_id, label)
        for pk, (key_id, serial, document_id, label) in last.items()
        if key_id == "tsa" and serial in lasting
    }


def renew_all(
    *,
    days: float = DEFAULT_DAYS,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    keystore: KeyStore | None = None,
    actor: Any = None,
) -> Iterator[Outcome]:
    """Renew every decided record that needs it (see :func:`renew_version`), one transaction
    per record; yields each outcome as it goes. Call :func:`ensure_fresh_tsa` first.

    Records last renewed by our own TSA with a certificate that outlives the window are known
    to be up to date from the database alone (:func:`fresh_by_serial`); the others are read."""
    fresh = fresh_by_serial(days=days, now=now, keystore=keystore)
    for pk in list(candidates()):
        if pk in fresh:
            document_id, label = fresh[pk]
            yield Outcome(pk, document_id, label, "up to date", detail="known from the database")
            continue
        try:
            yield renew_version(
                pk, days=days, dry_run=dry_run, now=now, keystore=keystore, actor=actor
            )
        except Exception as e:  # one broken record must not stop the others
            logger.exception("renewal of version %s failed", pk)
            yield Outcome(pk, 0, f"version {pk}", "failed", detail=f"{type(e).__name__}: {e}")
