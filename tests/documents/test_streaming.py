"""Downloads stream under ASGI (Daphne): Django would read a sync iterator whole into memory."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from documents.models import Attachment
from org.models import User
from tests.workflow.test_signed_record import TESTDATA, draft_with_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(path: str) -> tuple[Any, bytes]:
    tanaka = User.objects.get(username="tanaka")

    async def run() -> tuple[Any, bytes]:
        client = AsyncClient()
        await client.aforce_login(tanaka)
        response: Any = await client.get(path)
        assert response.is_async, "a sync iterator would be read whole into memory"
        return response, b"".join([chunk async for chunk in response.streaming_content])

    return async_to_sync(run)()


def test_originals_the_zip_and_the_record_stream(demo_org: None) -> None:
    document_id = draft_with_pdf(500_000)
    original = (Path(TESTDATA) / "pdflatex-4-pages.pdf").read_bytes()
    attachment = Attachment.objects.get(version__document_id=document_id)
    base = f"/api/v1/documents/{document_id}"

    response, data = fetch(f"{base}/attachments/{attachment.pk}")
    assert response.status_code == 200 and data == original

    response, data = fetch(f"{base}/attachments.zip")
    assert int(response["Content-Length"]) == len(data)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("pdflatex-4-pages.pdf") == original

    response, data = fetch(f"{base}/record.pdf")
    assert response.status_code == 200 and data.startswith(b"%PDF")
