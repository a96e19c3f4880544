"""From received files to stored attachments: check everything, then store, then record.

Kept apart from services so that the order — inspect every file, store the bytes, write the rows,
and undo the stores if the rows fail — is written once.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pypdf import PdfReader, PdfWriter

from documents.inspection import Inspection, clean_filename, inspect_file
from documents.models import Attachment, AttachmentKind, DocumentVersion
from documents.uploads import Upload, limits
from org.models import User
from storage import ObjectStore, get_store, key_for


@dataclass(frozen=True)
class Prepared:
    upload: Upload
    filename: str
    inspection: Inspection
    # The decrypted copy of an encrypted PDF the drafter unlocked with its password.
    decrypted: Path | None = None


@dataclass(frozen=True)
class Stored:
    prepared: Prepared
    pdf_sha256: str
    new_keys: tuple[str, ...]  # objects this upload created (not already in the store)


def _decrypt(path: Path, password: str) -> Path:
    reader = PdfReader(path, password=password)
    writer = PdfWriter(clone_from=reader)
    out = tempfile.NamedTemporaryFile(suffix=".pdf", delete=False)  # noqa: SIM115
    with out:
        writer.write(out)
    return Path(out.name)


def prepare(uploads: Sequence[Upload], passwords: Mapping[str, str]) -> list[Prepared]:
    """Inspect every file; the first refusal raises `UploadRefused` before anything is stored."""
    prepared: list[Prepared] = []
    for upload in uploads:
        filename = clean_filename(upload.filename)
        password = passwords.get(upload.filename) or passwords.get(filename)
        inspection = inspect_file(
            upload.path,
            filename,
            declared_type=upload.declared_type or None,
            password=password,
            limits=limits(),
        )
        decrypted = None
        if inspection.kind == AttachmentKind.PDF and inspection.encrypted and password:
            decrypted = _decrypt(upload.path, password)
        prepared.append(Prepared(upload, filename, inspection, decrypted))
    return prepared


def _put(store: ObjectStore, path: Path, sha256: str | None, content_type: str) -> tuple[str, bool]:
    existed = sha256 is not None and store.exists(key_for(sha256))
    with path.open("rb") as stream:
        info = store.put(
            stream, length=path.stat().st_size, sha256=sha256, content_type=content_type
        )
    return info.sha256, not existed


def store(prepared: Sequence[Prepared]) -> list[Stored]:
    """Put every file's bytes (and decrypted copies) into the object store."""
    object_store = get_store()
    stored: list[Stored] = []
    try:
        for item in prepared:
            keys: list[str] = []
            sha, created = _put(
                object_store, item.upload.path, item.upload.sha256, item.inspection.content_type
            )
            if created:
                keys.append(key_for(sha))
            pdf_sha = ""
            if item.decrypted is not None:
                try:
                    pdf_sha, created = _put(object_store, item.decrypted, None, "application/pdf")
                finally:
                    item.decrypted.unlink(missing_ok=True)
                if created:
                    keys.append(key_for(pdf_sha))
            stored.append(Stored(item, pdf_sha, tuple(keys)))
    except BaseException:
        discard_unreferenced(stored)
        raise
    return stored


def create_attachments(
    version: DocumentVersion, stored: Iterable[Stored], user: User, *, start: int
) -> list[Attachment]:
    rows = [
        Attachment(
            version=version,
            position=start + offset,
            filename=item.prepared.filename,
            size=item.prepared.upload.size,
            sha256=item.prepared.upload.sha256,
            content_type=item.prepared.inspection.content_type,
            kind=item.prepared.inspection.kind,
            page_count=item.prepared.inspection.page_count,
            pdf_sha256=item.pdf_sha256,
            note=str(item.prepared.inspection.note)[:300],
            uploaded_by=user,
        )
        for offset, item in enumerate(stored)
    ]
    return Attachment.objects.bulk_create(rows)


def discard_unreferenced(stored: Iterable[Stored]) -> None:
    """Delete objects this request created that no row refers to (after a rollback)."""
    object_store = get_store()
    for item in stored:
        for key in item.new_keys:
            sha = key.rsplit("/", 1)[-1]
            if (
                Attachment.objects.filter(sha256=sha).exists()
                or Attachment.objects.filter(pdf_sha256=sha).exists()
            ):
                continue
            try:
                object_store.delete(key)
            except Exception:  # noqa: S112 - best effort: the original error matters more
                continue
