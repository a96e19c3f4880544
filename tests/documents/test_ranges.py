"""Byte ranges of the record and originals (pdf.js draws the first page before the rest), and
page images that follow the record as signatures extend it."""

from __future__ import annotations

import pytest

from documents.downloads import RangeNotSatisfiable, byte_range
from tests.workflow.test_approval_flow import client, submit
from tests.workflow.test_signed_record import draft_with_pdf

pytestmark = pytest.mark.django_db


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, 900)),
        ("bytes=-10", (990, 10)),
        ("bytes=-5000", (0, 1000)),
        ("bytes=900-5000", (900, 100)),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=x-y", None),
    ],
)
def test_range_headers(header, expected) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5-4", "bytes=-0"])
def test_unsatisfiable_ranges(header) -> None:
    with pytest.raises(RangeNotSatisfiable):
        byte_range(header, 1000)


def test_the_record_and_originals_answer_ranges(demo_org) -> None:
    document_id = draft_with_pdf(500_000)
    tanaka = client("tanaka")
    url = f"/api/v1/documents/{document_id}/record.pdf"
    whole = tanaka.get(url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    data = body(whole)
    part = tanaka.get(url, HTTP_RANGE="bytes=100-1123")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-1123/{len(data)}"
    assert part["Content-Length"] == "1024"
    assert body(part) == data[100:1124]
    tail = tanaka.get(url, HTTP_RANGE="bytes=-64")
    assert body(tail) == data[-64:]
    beyond = tanaka.get(url, HTTP_RANGE=f"bytes={len(data)}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{len(data)}"
    detail = tanaka.get(f"/api/v1/documents/{document_id}").json()
    attachment = detail["attachments"][0]["id"]
    original = tanaka.get(
        f"/api/v1/documents/{document_id}/attachments/{attachment}", HTTP_RANGE="bytes=0-7"
    )
    assert original.status_code == 206 and body(original) == b"%PDF-1.5"[:8]


def test_page_images_revalidate_by_record(demo_org) -> None:
    document_id = draft_with_pdf(500_000)
    tanaka = client("tanaka")
    url = f"/api/v1/documents/{document_id}/record/pages/1?width=320"
    first = tanaka.get(url)
    assert first.status_code == 200 and first["Cache-Control"] == "private, no-cache"
    etag = first["ETag"]
    assert tanaka.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    submit(document_id)  # the drafter's seal extends the record: the image changes
    after = tanaka.get(url, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag
