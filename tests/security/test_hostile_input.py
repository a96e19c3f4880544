"""Issue 17: hostile input gets a 400 or a 413 that says what to change, never a 500.

Each case here was a 500 (or a silent drop) when an attacker tried it on PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests.security import scenario

pytestmark = pytest.mark.django_db


def deep(n: int) -> str:
    return "[" * n + "]" * n


@pytest.fixture
def tanaka(demo_org):
    return scenario.session("tanaka")


@pytest.fixture
def draft(tanaka) -> int:
    document, _ = scenario._draft("敵対的な入力の確認")
    return document


def error(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def test_json_nested_100000_deep_in_meta_is_400(tanaka):
    response = tanaka.post(
        "/api/v1/documents",
        {"meta": '{"title": "x", "doc_type": "notice", "body": ' + deep(100_000) + "}"},
        format="multipart",
    )
    assert response.status_code == 400, response.content[:300]
    assert "32" in error(response)["fields"]["meta"][0]


def test_json_nested_deep_in_patch_is_400(tanaka, draft):
    body = '{"title": ' + deep(100_000) + "}"
    response = tanaka.patch(f"/api/v1/documents/{draft}", body, content_type="application/json")
    assert response.status_code == 400
    assert "32" in error(response)["message"]


def test_json_nested_deep_in_notifications_read_is_400(tanaka):
    body = '{"ids": ' + deep(100_000) + "}"
    response = tanaka.post("/api/v1/notifications/read", body, content_type="application/json")
    assert response.status_code == 400
    error(response)


def test_a_body_over_the_limit_is_413_naming_it(tanaka, settings):
    ids = ",".join(["1"] * 2_000_000)
    response = tanaka.post(
        "/api/v1/notifications/read", '{"ids": [' + ids + "]}", content_type="application/json"
    )
    assert response.status_code == 413
    found = error(response)
    assert found["code"] == "too_large"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE / 1024**2:g} MB" in found["message"]


def test_a_30_mb_meta_is_413(tanaka):
    meta = json.dumps({"title": "x", "doc_type": "notice", "body": "あ" * 10_000_000})
    response = tanaka.post("/api/v1/documents", {"meta": meta}, format="multipart")
    assert response.status_code == 413, response.content[:300]
    assert error(response)["code"] == "too_large"


def test_nul_in_an_annotation_text_is_400(demo_org):
    document, _task = scenario.submitted()
    suzuki = scenario.session("suzuki")
    response = suzuki.post(
        f"/api/v1/documents/{document}/annotations",
        {"page": 1, "kind": "note", "rects": [[72, 72, 144, 96]], "text": "a\x00b"},
        format="json",
    )
    assert response.status_code == 400
    found = error(response)
    assert found["field"] == "text" and "U+0000" in found["message"]


def test_nul_in_a_multipart_field_and_in_meta_is_400(tanaka):
    meta = json.dumps({"title": "a\x00b", "doc_type": "notice"})
    response = tanaka.post("/api/v1/documents", {"meta": meta}, format="multipart")
    assert response.status_code == 400
    assert "meta.title" in error(response)["fields"]["meta"][0]


def test_nul_in_a_query_parameter_is_400(tanaka):
    response = tanaka.get("/api/v1/documents", {"q": "契約\x00"})
    assert response.status_code == 400
    assert error(response)["field"] == "q"


def test_nul_in_a_login_form_is_400_not_a_database_error(demo_org):
    response = Client().post("/login/", {"username": "tanaka\x00", "password": "x"})
    assert response.status_code == 400


@pytest.mark.parametrize("stage", [2**70, -(2**70), 2**63])
def test_numbers_out_of_range_are_400(tanaka, draft, stage):
    admin = scenario.session("admin")
    body = f'{{"stage": {stage}, "reason": "skip"}}'
    response = admin.post(
        f"/api/v1/documents/{draft}/skip-stage", body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert error(response)["field"] == "stage"


def test_an_undecodable_file_name_is_400_naming_the_part(tanaka, draft):
    boundary = "XyZ"
    pdf = scenario.pdf_bytes("bad name")
    body = (
        (f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="').encode()
        + b"\xff\xfe\x82\xa0.pdf"
        + b'"\r\nContent-Type: application/pdf\r\n\r\n'
        + pdf
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = tanaka.generic(
        "POST",
        f"/api/v1/documents/{draft}/attachments",
        body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code == 400, response.content
    assert "attachments" in error(response)["message"]


def test_an_ordinary_upload_still_works(tanaka, draft):
    upload = SimpleUploadedFile("見積書.pdf", scenario.pdf_bytes("ok"), "application/pdf")
    response = tanaka.post(
        f"/api/v1/documents/{draft}/attachments", {"attachments": [upload]}, format="multipart"
    )
    assert response.status_code == 201
    assert [a["filename"] for a in response.json()["attachments"]][-1] == "見積書.pdf"


def test_control_characters_in_any_multipart_form_are_400(tanaka):
    """Every view's multipart parser checks its text parts (api.parsers), not only uploads'."""
    form = tanaka.post("/api/v1/notifications/read", {"up_to": "1\x00"}, format="multipart")
    assert form.status_code == 400
    assert error(form)["field"] == "up_to"
    c1 = tanaka.post("/api/v1/notifications/read", {"up_to": "1\x85"}, format="multipart")
    assert c1.status_code == 400
