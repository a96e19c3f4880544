"""訂正: a decided record is never edited; a correction is a new document linked to it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from documents.models import Document, Status

pytestmark = pytest.mark.django_db

META = {"title": "備品購入について", "doc_type": "notice", "amount": 120_000}


def create(client: APIClient, **meta: Any) -> Any:
    return client.post(
        "/api/v1/documents", {"meta": json.dumps({**META, **meta})}, format="multipart"
    )


def test_a_correction_links_both_ways_and_shows_on_the_cover(bearer, tmp_path: Path) -> None:
    tanaka = bearer("tanaka")
    original = create(tanaka).json()["id"]
    Document.objects.filter(pk=original).update(status=Status.DECIDED, number="総総第7号")
    response = create(tanaka, title="備品購入について（訂正）", corrects=original)
    assert response.status_code == 201, response.content
    correction = response.json()
    assert correction["corrects"] == {
        "id": original,
        "number": "総総第7号",
        "title": "備品購入について",
        "status": "decided",
    }
    # The original, unchanged, now names its correction.
    detail = tanaka.get(f"/api/v1/documents/{original}").json()
    assert [c["id"] for c in detail["corrected_by"]] == [correction["id"]]
    assert detail["title"] == "備品購入について"

    record = b"".join(
        tanaka.get(f"/api/v1/documents/{correction['id']}/record.pdf").streaming_content
    )
    path = tmp_path / "record.pdf"
    path.write_bytes(record)
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "訂正元文書" in text and "総総第7号" in text


def test_only_a_decided_record_one_may_see_can_be_corrected(bearer) -> None:
    tanaka, ito = bearer("tanaka"), bearer("ito")
    draft = create(tanaka).json()["id"]
    response = create(tanaka, corrects=draft)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_decided"
    # ito cannot see tanaka's draft: it does not exist for him.
    assert create(ito, corrects=draft).status_code == 404
    for bad in ("7", True, 0, -1, 1.5):
        refused = create(tanaka, corrects=bad)
        assert refused.status_code == 400, bad
    assert Document.objects.count() == 1
