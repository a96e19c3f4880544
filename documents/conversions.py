"""Office files converted to PDF once, ahead of the submission that needs them (issue 16).

LibreOffice takes seconds to minutes a file, and the record is built when a draft is submitted
(and rebuilt after every edit of a sent-back draft). So each Office attachment is converted by a
background job when it is uploaded, and the PDF is kept under the original's SHA-256
(`ConvertedPdf`, the bytes in the object store). The record then reuses it through
`CachingConverter`; it converts there and then only when the job has not finished (or could not
convert), and keeps what it made for the next time. The record stays the same either way: it is
built from the same PDF.

Without a broker (the embedded default) nothing is queued: the job would run inside the upload
request and only move the wait from one request to another; the first record builds and keeps
the conversion instead.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from documents.models import Attachment, AttachmentKind, ConvertedPdf
from documents.record.convert import ConversionError, Converter, OfficeConverter
from jobs import queue
from storage import StorageUnavailable, get_store, key_for
from storage.errors import StorageError

logger = logging.getLogger(__name__)

JOB = "documents.convert"
_CHUNK = 1 << 20


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class CachingConverter:
    """An office converter that first looks for the PDF made earlier from the same bytes."""

    def __init__(self, inner: Converter | None = None) -> None:
        self.inner = inner if inner is not None else OfficeConverter()

    def available(self) -> bool:
        return self.inner.available()

    def unavailable_reason(self) -> str:
        return self.inner.unavailable_reason()

    def convert(self, source: Path, workdir: Path) -> Path:
        sha256 = _sha256_of(source)
        cached = _cached(sha256, workdir / f"converted-{sha256[:16]}.pdf")
        if cached is not None:
            return cached
        result = self.inner.convert(source, workdir)
        _keep(sha256, result)
        return result


def _cached(sha256: str, target: Path) -> Path | None:
    pdf = ConvertedPdf.objects.filter(source_sha256=sha256).values_list("pdf_sha256", flat=True)
    found = pdf.first()
    if not found:
        return None
    try:
        with get_store().open(key_for(found), verify=True) as reader, target.open("wb") as out:
            shutil.copyfileobj(reader, out, _CHUNK)
    except StorageError:
        logger.warning("converted PDF %s of %s is not readable; converting again", found, sha256)
        return None
    return target


def _keep(sha256: str, pdf: Path) -> None:
    """Store the PDF and remember it for `sha256` (a second converter of the same bytes at the
    same moment finds the row there and keeps its own result to itself)."""
    try:
        with pdf.open("rb") as stream:
            info = get_store().put(
                stream, length=pdf.stat().st_size, content_type="application/pdf"
            )
    except StorageUnavailable:
        logger.warning("could not keep the conversion of %s: the store is unavailable", sha256)
        return
    try:
        with transaction.atomic():
            ConvertedPdf.objects.get_or_create(
                source_sha256=sha256, defaults={"pdf_sha256": info.sha256, "pdf_size": info.size}
            )
    except IntegrityError:
        pass


def convert_later(attachments: Iterable[Attachment]) -> None:
    """Queue the conversion of the Office files among `attachments` not converted yet (in the
    caller's transaction: the jobs are sent once it commits)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    wanted = {a.sha256 for a in attachments if a.kind == AttachmentKind.OFFICE}
    done = set(
        ConvertedPdf.objects.filter(source_sha256__in=wanted).values_list(
            "source_sha256", flat=True
        )
    )
    for sha256 in sorted(wanted - done):
        queue.enqueue(JOB, {"sha256": sha256})


@queue.handler(JOB)
def convert(payload: dict[str, Any]) -> None:
    """Convert the original with this SHA-256, unless that is done already. A file LibreOffice
    cannot convert is not retried here: the submission tries again and says why on the record;
    an object store that is away raises, and the job is retried."""
    sha256 = str(payload.get("sha256", ""))
    if not sha256 or ConvertedPdf.objects.filter(source_sha256=sha256).exists():
        return
    attachment = Attachment.objects.filter(sha256=sha256).only("filename").first()
    if attachment is None:
        return  # removed before the job ran
    converter = CachingConverter()
    if not converter.available():
        return
    suffix = Path(attachment.filename).suffix[:9] if attachment.filename else ".bin"
    with tempfile.TemporaryDirectory(prefix="ekessai-convert-") as tmp:
        workdir = Path(tmp)
        source = workdir / f"original{suffix or '.bin'}"
        with get_store().open(key_for(sha256), verify=True) as reader, source.open("wb") as out:
            shutil.copyfileobj(reader, out, _CHUNK)
        try:
            converter.convert(source, workdir)
        except ConversionError as exc:
            logger.info("attachment %s could not be converted ahead: %s", sha256, exc)
