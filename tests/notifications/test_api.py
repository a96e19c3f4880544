"""GET /api/v1/notifications and POST /api/v1/notifications/read."""

from __future__ import annotations

import pytest

from notifications import services
from notifications.models import Notification
from tests.notifications.conftest import user

pytestmark = pytest.mark.django_db


def make(username: str, count: int) -> list[int]:
    return [
        services.notify("comment.added", [user(username).pk], data={"n": i})[0].pk
        for i in range(count)
    ]


def test_listing_after_an_id_oldest_first_with_paging(bearer):
    ids = make("suzuki", 5)
    make("sato", 2)
    client = bearer("suzuki")
    body = client.get("/api/v1/notifications", {"since": ids[0], "limit": 3}).json()
    assert [f["id"] for f in body["results"]] == ids[1:4]
    assert body["results"][0]["n"] == 1
    assert body["unread"] == 5
    assert body["last_id"] == ids[3]
    assert f"since={ids[3]}" in body["next"]
    rest = client.get(body["next"]).json()
    assert [f["id"] for f in rest["results"]] == ids[4:]
    assert rest["next"] is None


def test_marking_read_by_ids_and_up_to(bearer):
    ids = make("suzuki", 4)
    client = bearer("suzuki")
    response = client.post("/api/v1/notifications/read", {"ids": ids[:1]}, format="json")
    assert response.json() == {"marked": 1, "unread": 3}
    response = client.post("/api/v1/notifications/read", {"up_to": ids[2]}, format="json")
    assert response.json() == {"marked": 1 + 1, "unread": 1}
    unread = client.get("/api/v1/notifications", {"unread": "true"}).json()["results"]
    assert [f["id"] for f in unread] == ids[3:]
    # Someone else's ids are not touched.
    other = make("sato", 1)
    assert (
        client.post("/api/v1/notifications/read", {"ids": other}, format="json").json()["marked"]
        == 0
    )
    assert Notification.objects.get(pk=other[0]).read_at is None


@pytest.mark.parametrize(
    "query", [{"since": "abc"}, {"since": "-1"}, {"unread": "maybe"}, {"limit": "0"}]
)
def test_bad_queries_get_400_in_the_error_format(bearer, query):
    response = bearer("suzuki").get("/api/v1/notifications", query)
    assert response.status_code == 400
    assert "code" in response.json()["error"]


@pytest.mark.parametrize("body", [{}, {"ids": [1], "up_to": 1}, {"ids": "x"}, {"up_to": -1}])
def test_bad_read_requests_get_400(bearer, body):
    response = bearer("suzuki").post("/api/v1/notifications/read", body, format="json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_read_only_token_may_list_but_not_mark(bearer):
    make("suzuki", 1)
    client = bearer("suzuki", scope="read")
    assert client.get("/api/v1/notifications").status_code == 200
    assert client.post("/api/v1/notifications/read", {"up_to": 1}, format="json").status_code == 403


def test_anonymous_is_refused(api_client, demo_org):
    assert api_client.get("/api/v1/notifications").status_code == 401
