"""Office attachments converted ahead, by a job, and reused by the record (documents.conversions,
issue 16): the submission no longer waits for LibreOffice when the job has done it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from pypdf import PdfReader

from documents.conversions import JOB
from documents.models import ConvertedPdf, Document
from documents.record.convert import OfficeConverter
from documents.records import ensure_record
from jobs import queue
from jobs.models import Job
from storage import get_store, key_for
from tests.documents.record_support import docx_bytes
from tests.workflow.test_approval_flow import META, client

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not OfficeConverter().available(), reason="LibreOffice (soffice) is not installed"
    ),
]


@pytest.fixture
def conversions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files LibreOffice really converted (it still does the work)."""
    converted: list[str] = []
    real = OfficeConverter.convert

    def counted(self: OfficeConverter, source: Any, workdir: Any) -> Any:
        converted.append(source.name)
        return real(self, source, workdir)

    monkeypatch.setattr(OfficeConverter, "convert", counted)
    return converted


def drafted(files: dict[str, bytes]) -> Document:
    response = client("tanaka").post(
        "/api/v1/documents",
        {
            "meta": json.dumps(META),
            "attachments": [SimpleUploadedFile(name, data) for name, data in files.items()],
        },
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return Document.objects.get(pk=response.json()["id"])


def record_text(document: Document) -> str:
    version = ensure_record(document.versions.get(number=document.version))
    with get_store().open(key_for(version.record_sha256)) as reader:
        pdf = PdfReader(io.BytesIO(reader.read()))
    return "".join(page.extract_text() for page in pdf.pages)


def test_an_upload_queues_the_conversion_and_the_record_reuses_it(
    demo_org: None, settings: Any, conversions: list[str]
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False  # a broker: jobs are queued, not run in the request
    docx = docx_bytes("仕様書の本文（事前変換）")
    document = drafted({"仕様書.docx": docx})
    [job] = Job.objects.filter(kind=JOB)
    assert conversions == []  # nothing converted in the upload's request
    assert queue.run(job.pk).ran
    assert len(conversions) == 1
    kept = ConvertedPdf.objects.get()
    assert PdfReader(io.BytesIO(_read(kept.pdf_sha256))).pages
    assert "仕様書の本文" in record_text(document)
    assert len(conversions) == 1, conversions  # the record took the PDF made by the job
    # The same file in another draft: nothing queued, nothing converted again.
    other = drafted({"同じ仕様書.docx": docx})
    assert not Job.objects.filter(kind=JOB).exists()
    assert "仕様書の本文" in record_text(other) and len(conversions) == 1


def test_without_a_broker_the_first_record_converts_and_keeps_it(
    demo_org: None, conversions: list[str]
) -> None:
    docx = docx_bytes("埋め込みモードの本文")
    first = drafted({"a.docx": docx})
    assert not Job.objects.filter(kind=JOB).exists()  # it would run inside the upload
    assert "埋め込みモードの本文" in record_text(first) and len(conversions) == 1
    assert "埋め込みモードの本文" in record_text(drafted({"b.docx": docx}))
    assert len(conversions) == 1


def test_the_job_is_safe_to_run_twice(
    demo_org: None, settings: Any, conversions: list[str]
) -> None:
    """A job is at least once: run again (the sweeper resent it), it finds the PDF and stops."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    drafted({"c.docx": docx_bytes("二度目")})
    [job] = Job.objects.filter(kind=JOB)
    from documents import conversions as module

    module.convert(job.payload)
    module.convert(job.payload)
    assert len(conversions) == 1 and ConvertedPdf.objects.count() == 1


def _read(sha256: str) -> bytes:
    with get_store().open(key_for(sha256)) as reader:
        return reader.read()
