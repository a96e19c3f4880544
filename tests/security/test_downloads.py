"""No stored file is ever rendered as a page of our origin (issue 9, uploads)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.security import scenario
from tests.security.scenario import session

pytestmark = pytest.mark.django_db

HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def upload(name: str, content: bytes, content_type: str):
    return session("tanaka").post(
        "/api/v1/documents",
        {
            "meta": json.dumps({**scenario.META, "title": "添付の検査"}),
            "attachments": [SimpleUploadedFile(name, content, content_type=content_type)],
        },
        format="multipart",
    )


def assert_never_a_page(response) -> None:
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response["Content-Type"].startswith(("text/html", "image/svg", "text/xml"))
    csp = response["Content-Security-Policy"]
    assert "sandbox" in csp or "default-src 'self'" in csp


def test_downloads_are_attachments_that_never_run(demo_org):
    built = scenario.build()
    client = session("tanaka")
    document, attachment = built.documents["decided"], built.attachments["decided"]
    original = client.get(f"/api/v1/documents/{document}/attachments/{attachment}")
    assert original["Content-Disposition"].startswith("attachment;")
    assert original["Content-Type"] == "application/octet-stream"
    assert original["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert_never_a_page(original)
    archive = client.get(f"/api/v1/documents/{document}/attachments.zip")
    assert archive["Content-Disposition"].startswith("attachment;")
    assert_never_a_page(archive)
    # The record is shown inline by the browser's PDF viewer, under our policy (no plugins,
    # no framing), and page images are images.
    record = client.get(f"/api/v1/documents/{document}/record.pdf")
    assert record["Content-Type"] == "application/pdf"
    assert "object-src 'none'" in record["Content-Security-Policy"]
    assert_never_a_page(record)
    image = client.get(f"/api/v1/documents/{document}/record/pages/1")
    assert image["Content-Type"] == "image/webp"
    assert_never_a_page(image)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("page.html", "text/html"), ("page.pdf", "application/pdf"), ("page.txt", "text/plain")],
)
def test_html_is_refused_or_served_as_an_inert_attachment(demo_org, name, content_type):
    response = upload(name, HTML, content_type)
    if response.status_code != 201:
        assert 400 <= response.status_code < 500, response.content
        return
    body = response.json()
    download = session("tanaka").get(
        f"/api/v1/documents/{body['id']}/attachments/{body['attachments'][0]['id']}"
    )
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith("attachment;")
    assert_never_a_page(download)
