"""Sealing a version's decision record: an approval signature with its marks and, at decision,
B-LTA.

The record-level glue over signing's PDF functions (`signing.markup`, `signing.signer`): it reads
and writes the version's record in the object store and its RecordRevision rows, so it lives with
the records and not in the crypto core.

Called by the approval actions inside their transaction, with the route locked: the new file is
written to the object store first (content-addressed, so a retry writes the same object), then
the version's pointer and the revision rows change in the same transaction as the approval. If
anything fails — the TSA, the store, the key — the exception rolls the approval back and the
previous signed record stays current; an orphaned object is harmless.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, cast

from documents.models import DocumentVersion, RecordRevision, RevisionKind
from signing.keystore import get_keystore
from signing.markup import Mark
from signing.signer import Box, SignatureInfo, add_validation_data_and_doc_timestamp, sign_approval
from storage import get_store, key_for

SPOOL_BYTES = 32 * 1024 * 1024


class RecordNotReady(Exception):
    """The version has no frozen record to sign."""


@dataclass(frozen=True)
class SealRequest:
    key_id: str
    position: str  # CN of a position certificate issued on first use
    section: str  # OU
    reason: str  # 「承認 総務課長」, 「代決 総務課長補佐（総務課長）」
    signer_name: str  # the person
    field_name: str
    box: Box | None
    marks: Sequence[Mark] = ()
    # the document information's subject and keywords, set in the signature's revision
    subject: str | None = None
    keywords: tuple[str, ...] = ()
    actor_id: int | None = None
    on_behalf_of_id: int | None = None
    finalize: bool = False  # the decision: validation data and a document timestamp


def _spool() -> BinaryIO:
    return cast(BinaryIO, tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b"))


def _read_current(version: DocumentVersion) -> BinaryIO:
    source = _spool()
    with get_store().open(key_for(version.record_sha256)) as reader:
        while chunk := reader.read(1024 * 1024):
            source.write(chunk)
    source.seek(0)
    return source


def _store(stream: BinaryIO) -> tuple[str, int]:
    size = stream.seek(0, 2)
    stream.seek(0)
    info = get_store().put(stream, length=size, content_type="application/pdf")
    return info.sha256, info.size


def _next_seq(version: DocumentVersion) -> int:
    last = version.record_revisions.order_by("-seq").values_list("seq", flat=True).first()
    return (last or 0) + 1


def seal(version: DocumentVersion, request: SealRequest) -> list[RecordRevision]:
    """Append the marks and the signature (and at decision B-LTA); return the new revisions.

    The caller holds the route's lock inside a transaction; `version` is frozen with a record.
    """
    if version.frozen_at is None or not version.record_sha256:
        raise RecordNotReady(f"version {version.pk} has no frozen record")
    store = get_keystore()
    store.ca.ensure_position(request.key_id, position=request.position, section=request.section)
    previous = version.record_sha256
    revisions: list[RecordRevision] = []
    with _read_current(version) as source:
        signed = _spool()
        # the marks go into the signature's own revision: no revision nobody signed
        info = sign_approval(
            source,
            signed,
            position_key_id=request.key_id,
            reason=request.reason,
            signer_name=request.signer_name,
            field_name=request.field_name,
            box=request.box,
            keystore=store,
            marks=request.marks,
            info_subject=request.subject,
            info_keywords=request.keywords,
        )
        with signed:
            sha256, size = _store(signed)
            revisions.append(
                _revision(version, previous, sha256, size, request, info, RevisionKind.SIGNATURE)
            )
            if request.finalize:
                signed.seek(0)
                with _spool() as final:
                    stamp = add_validation_data_and_doc_timestamp(signed, final, keystore=store)
                    final_sha, final_size = _store(final)
                revisions.append(
                    RecordRevision.objects.create(
                        version=version,
                        seq=_next_seq(version),
                        kind=RevisionKind.TIMESTAMP,
                        previous_sha256=sha256,
                        sha256=final_sha,
                        size=final_size,
                        reason="PAdES B-LTA",
                        key_id="tsa",
                        certificate_serial=f"{stamp.tsa_serial:x}" if stamp.tsa_serial else "",
                        timestamp=stamp.time,
                    )
                )
                sha256, size = final_sha, final_size
    DocumentVersion.objects.filter(pk=version.pk).update(record_sha256=sha256, record_size=size)
    version.record_sha256, version.record_size = sha256, size
    return revisions


def _revision(
    version: DocumentVersion,
    previous: str,
    sha256: str,
    size: int,
    request: SealRequest,
    info: SignatureInfo,
    kind: str,
) -> RecordRevision:
    return RecordRevision.objects.create(
        version=version,
        seq=_next_seq(version),
        kind=kind,
        previous_sha256=previous,
        sha256=sha256,
        size=size,
        actor_id=request.actor_id,
        on_behalf_of_id=request.on_behalf_of_id,
        field_name=info.field_name,
        reason=info.reason,
        key_id=request.key_id,
        certificate_serial=f"{info.certificate_serial:x}",
        timestamp=info.timestamp,
        annotations=len(request.marks),
    )


def revision_summary(revision: RecordRevision) -> dict[str, Any]:
    """What the history and audit trail say about a revision."""
    timestamp: dt.datetime | None = revision.timestamp
    return {
        "seq": revision.seq,
        "kind": revision.kind,
        "sha256": revision.sha256,
        "field": revision.field_name,
        "reason": revision.reason,
        "key": revision.key_id,
        "certificate_serial": revision.certificate_serial,
        "timestamp": timestamp.isoformat() if timestamp else None,
        "annotations": revision.annotations,
    }
