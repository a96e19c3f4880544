"""GET /api/v1/documents/export.csv: the search as a CSV an auditor can open in Excel."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEntry
from documents.models import Document, Status

pytestmark = pytest.mark.django_db


def draft(client: APIClient, title: str, amount: int, counterparty: str) -> int:
    meta = {
        "title": title,
        "doc_type": "contract",
        "amount": amount,
        "counterparty": counterparty,
        "transaction_date": "2026-10-01",
    }
    response = client.post("/api/v1/documents", {"meta": json.dumps(meta)}, format="multipart")
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_export_follows_the_search_and_what_the_user_may_see(bearer) -> None:
    tanaka = bearer("tanaka")
    small = draft(tanaka, "コピー用紙の購入", 50_000, "株式会社文具")
    draft(tanaka, '=HYPERLINK("http://evil")', 2_000_000, "+81 商事")
    response = tanaka.get("/api/v1/documents/export.csv", {"amount_max": 100_000})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    table = rows(response)
    assert table[0][:3] == ["文書番号", "件名", "文書種別"]
    assert [r[1] for r in table[1:]] == ["コピー用紙の購入"]
    assert table[1][-1] == str(small)

    everything = rows(tanaka.get("/api/v1/documents/export.csv"))
    titles = {r[1] for r in everything[1:]}
    # A cell that a spreadsheet would run as a formula is quoted.
    assert '\'=HYPERLINK("http://evil")' in titles
    assert "'+81 商事" in {r[5] for r in everything[1:]}

    # An auditor sees decided records only; a draft is not in their export.
    watanabe = bearer("watanabe")
    assert len(rows(watanabe.get("/api/v1/documents/export.csv"))) == 1
    Document.objects.filter(pk=small).update(status=Status.DECIDED, number="総総第9号")
    audited = rows(watanabe.get("/api/v1/documents/export.csv", {"counterparty": "文具"}))
    assert [r[0] for r in audited[1:]] == ["総総第9号"]
    assert (
        AuditEntry.objects.filter(action="documents.export", actor__username="watanabe").count()
        == 2
    )


def test_bad_conditions_and_anonymous_callers_are_refused(bearer) -> None:
    response = bearer("watanabe").get("/api/v1/documents/export.csv", {"amount_min": "lots"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert APIClient().get("/api/v1/documents/export.csv").status_code == 401
