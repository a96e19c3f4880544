"""The drafting page's route options: the route choice, the people added, and the preview
(GET /documents/{id}/route-preview/), which must show what submission would write."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from org.demo import DEMO_PASSWORD
from workflow.models import RouteTemplate

pytestmark = pytest.mark.django_db

META = {
    "title": "公用車の購入について",
    "doc_type": "contract",
    "body": "公用車を購入したいので伺います。",
    "amount": 500_000,
    "counterparty": "株式会社サンプル自動車",
    "transaction_date": "2026-06-01",
}


def page_client(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD)
    return client


def draft(amount: int = 500_000) -> int:
    api = APIClient()
    assert api.login(username="tanaka", password=DEMO_PASSWORD)
    response = api.post(
        "/api/v1/documents", {"meta": json.dumps({**META, "amount": amount})}, format="multipart"
    )
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def preview(document_id: int, username: str = "tanaka", **query: Any) -> Any:
    return page_client(username).get(f"/documents/{document_id}/route-preview/", query)


def people(plan: dict[str, Any]) -> list[tuple[str, list[str], bool]]:
    return [
        (s["role"], [x["assignee"]["username"] for x in s["slots"]], s["added"])
        for s in plan["stages"]
    ]


def test_the_rules_choose_by_default(demo_org):
    response = preview(draft())
    assert response.status_code == 200
    plan = response.json()
    assert plan["template"] == "kacho-senketsu" and plan["chosen"] == ""
    assert plan["rules_template"] == "kacho-senketsu"
    assert people(plan) == [("approve", ["suzuki"], False), ("decide", ["sato"], False)]


def test_another_route_and_added_people_are_shown_as_submission_will_write_them(demo_org):
    document_id = draft()
    response = preview(
        document_id,
        route="bucho-senketsu",
        add_approvers=["yamamoto"],
        add_readers=["watanabe", "kobayashi"],
    )
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["template"] == "bucho-senketsu" and plan["chosen"] == "bucho-senketsu"
    assert plan["rules_template"] == "kacho-senketsu"
    assert plan["rules_template_name"] == "課長専決"
    assert people(plan) == [
        ("approve", ["suzuki"], False),
        ("approve", ["sato"], False),
        ("consult", ["ito"], False),
        ("approve", ["yamamoto"], True),
        ("decide", ["takahashi"], False),
        ("circulate", ["watanabe", "kobayashi"], True),
    ]
    added = plan["stages"][3]["slots"][0]
    assert added["added"] is True and added["position"] == "課長補佐"
    # What the submit API then writes is the same route.
    api = APIClient()
    assert api.login(username="tanaka", password=DEMO_PASSWORD)
    route = api.post(
        f"/api/v1/documents/{document_id}/submit",
        {
            "route": "bucho-senketsu",
            "add_approvers": ["yamamoto"],
            "add_readers": ["watanabe", "kobayashi"],
        },
        format="json",
    ).json()
    written = [
        (s["role"], [x["assignee"]["username"] for x in s["slots"]]) for s in route["stages"]
    ]
    assert written == [(role, names) for role, names, _ in people(plan)]


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"route": "no-such-route"}, 400, "invalid"),
        ({"add_approvers": ["nobody"]}, 400, "invalid"),
        ({"add_readers": [f"u{i}" for i in range(21)]}, 400, "invalid"),
        ({"add_approvers": ["tanaka"]}, 422, "own_draft"),  # the drafter: never their own approver
        ({"add_readers": ["tanaka"]}, 422, "own_draft"),
    ],
)
def test_bad_options_are_json_errors(demo_org, query, status, code):
    response = preview(draft(), **query)
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_an_inactive_route_cannot_be_chosen(demo_org):
    RouteTemplate.objects.filter(code="bucho-senketsu").update(is_active=False)
    response = preview(draft(), route="bucho-senketsu")
    assert response.status_code == 400
    page = page_client("tanaka").get("/documents/new/").content.decode()
    assert 'value="kacho-senketsu"' in page and 'value="bucho-senketsu"' not in page


def test_who_may_preview(demo_org):
    document_id = draft()
    # Anonymous: the login page. Someone who may not see the draft: the same 404 as a missing id.
    anonymous = Client().get(f"/documents/{document_id}/route-preview/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert preview(document_id, "suzuki").status_code == 404
    assert preview(987_654, "tanaka").status_code == 404


def test_the_drafting_page_offers_the_options(demo_org):
    page = page_client("tanaka").get(f"/documents/{draft()}/edit/").content.decode()
    assert 'id="f-route"' in page
    for kind in ("approvers", "readers"):
        assert f'id="pick-{kind}" role="combobox"' in page
        assert f'<label for="pick-{kind}">' in page
    assert "/api/v1/people" in page  # the picker's endpoint, in the page's configuration
