"""GET /api/v1/people: the staff directory behind the drafting page's pickers."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from api.models import TokenScope
from api.tokens import create_token
from org.models import User
from org.people import MAX_RESULTS

pytestmark = pytest.mark.django_db


def client_for(username: str, scope: str = TokenScope.ACT) -> APIClient:
    _, key = create_token(User.objects.get(username=username), scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["username"] for p in response.json()["results"]]


def test_anonymous_callers_are_refused(demo_org):
    response = APIClient().get("/api/v1/people", {"q": "鈴木"})
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_a_read_only_token_may_search(demo_org):
    assert names(client_for("tanaka", TokenScope.READ).get("/api/v1/people", {"q": "suzuki"})) == [
        "suzuki"
    ]


def test_a_person_is_found_by_name_user_name_department_or_position(demo_org):
    client = client_for("tanaka")
    response = client.get("/api/v1/people", {"q": "鈴木"})
    assert response.json() == {
        "results": [
            {
                "username": "suzuki",
                "display_name": "鈴木 花子",
                "department": "総務部 総務課",
                "position": "係長",
            }
        ],
        "truncated": False,
    }
    # Without the space between family and given name, and with a full-width one.
    assert names(client.get("/api/v1/people", {"q": "鈴木花子"})) == ["suzuki"]
    assert names(client.get("/api/v1/people", {"q": "ITO"})) == ["ito"]
    assert names(client.get("/api/v1/people", {"q": "財政課"})) == ["ito"]
    assert names(client.get("/api/v1/people", {"q": "副市長"})) == ["kobayashi"]
    # Every word must match: 総務課 and 課長 → the section chief (and his deputy, 課長補佐).
    assert names(client.get("/api/v1/people", {"q": "総務課\u3000課長"})) == ["sato", "yamamoto"]
    assert names(client.get("/api/v1/people", {"q": "存在しない人"})) == []


def test_inactive_people_are_not_listed(demo_org):
    User.objects.filter(username="suzuki").update(is_active=False)
    assert names(client_for("tanaka").get("/api/v1/people", {"q": "鈴木"})) == []


def test_demo_accounts_are_left_out_outside_demo_mode(demo_org):
    User.objects.create_user("real", display_name="本番 利用者")
    client = client_for("real")
    with override_settings(DEMO_MODE=False):
        found = names(client.get("/api/v1/people", {"q": ""}))
    assert found == ["real"]


def test_results_are_limited_and_say_so(demo_org):
    client = client_for("tanaka")
    response = client.get("/api/v1/people", {"limit": 3})
    assert len(response.json()["results"]) == 3
    assert response.json()["truncated"] is True
    everyone = client.get("/api/v1/people").json()
    assert everyone["truncated"] is False
    assert len(everyone["results"]) == User.objects.filter(is_active=True).count()
    for bad in ({"limit": 0}, {"limit": MAX_RESULTS + 1}, {"q": "x" * 101}):
        response = client.get("/api/v1/people", bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid"


def test_the_search_costs_a_fixed_number_of_queries(demo_org, django_assert_max_num_queries):
    client = client_for("tanaka")
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/people").json()["results"]) >= 9
