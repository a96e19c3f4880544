"""Renewing the archival timestamps of stored decision records (``renew_timestamps``).

``python manage.py renew_timestamps [--days N] [--dry-run]`` walks every decided record (a
:class:`~documents.models.DocumentVersion` with a ``timestamp`` revision) and renews those whose
last document timestamp's TSA certificate expires within N days (default 365) or whose
algorithms are weak (:func:`signing.renewal.renew_pdf` does the PDF); each renewal is one
transaction with the version's row locked: the new file goes to the object store, a
``timestamp`` :class:`~documents.models.RecordRevision` is appended and ``record_sha256`` moves
to it, the audit trail records it, and the new object is put under the record's Object Lock
(`retention.locking.protect`). Running it twice changes nothing the second time. Call
:func:`signing.renewal.ensure_fresh_tsa` first.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

from django.db import transaction
from pyhanko.sign.timestamps import TimeStamper

from audit.services import record
from documents.models import Document, DocumentVersion, RecordRevision, RevisionKind, Status
from retention.locking import protect
from signing.cms import SigningFailed
from signing.keystore import KeyStore, get_keystore
from signing.renewal import (
    DEFAULT_DAYS,
    RenewalFailed,
    RenewedTimestamp,
    TimestampState,
    last_document_timestamp,
    renew_pdf,
)
from signing.tsa import TimestampUnavailable
from storage import get_store, key_for

logger = logging.getLogger(__name__)

SPOOL_BYTES = 32 * 1024 * 1024
REASON_TEXT = "PAdES B-LTA renewal"


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
