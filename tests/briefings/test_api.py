"""The briefing API and services: start, join, hand over, end, the 10-minute timeout, and who may
do each (issue 21)."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from api.errors import ApiError
from audit.models import AuditEntry
from briefings import services
from briefings.models import CODE_ALPHABET, Briefing, EndReason

pytestmark = pytest.mark.django_db


def start(bearer, document, who="tanaka"):
    response = bearer(who).post("/api/v1/briefings", {"document": document.pk}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def audit_of(action: str) -> list[dict]:
    return [
        {"actor": e.actor.username if e.actor else None, **json.loads(e.data)}
        for e in AuditEntry.objects.filter(action=action).order_by("seq")
    ]


def test_a_reader_starts_a_briefing_with_a_code_and_a_link(bearer, document):
    body = start(bearer, document)
    assert len(body["code"]) == 6 and set(body["code"]) <= set(CODE_ALPHABET)
    assert body["url"].endswith(f"/briefings/{body['id']}/")
    assert body["presenter"]["username"] == "tanaka"
    assert body["live"] is True and body["document"] == document.pk
    assert body["view"] == {"part": "", "page": 1, "zoom": 1.0}
    assert audit_of("briefing.start") == [
        {"actor": "tanaka", "briefing": body["id"], "code": body["code"]}
    ]
    assert AuditEntry.objects.get(action="briefing.start").document_id == document.pk


def test_someone_who_may_not_read_the_document_cannot_start_join_or_see_it(bearer, document):
    response = bearer("ito").post("/api/v1/briefings", {"document": document.pk}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    body = start(bearer, document)
    joined = bearer("ito").post("/api/v1/briefings/join", {"code": body["code"]}, format="json")
    assert joined.status_code == 403
    error = joined.json()["error"]
    assert error["code"] == "forbidden" and "閲覧する権限がありません" in error["message"]
    assert bearer("ito").get(f"/api/v1/briefings/{body['id']}").status_code == 404
    assert not AuditEntry.objects.filter(action="briefing.join").exists()


def test_joining_by_code_in_any_case_is_audited_once(bearer, document):
    body = start(bearer, document)
    typed = body["code"][:3].lower() + "-" + body["code"][3:].lower()
    for _ in range(2):
        response = bearer("suzuki").post("/api/v1/briefings/join", {"code": typed}, format="json")
        assert response.status_code == 200
        assert response.json()["id"] == body["id"]
    assert audit_of("briefing.join") == [
        {"actor": "suzuki", "briefing": body["id"], "code": body["code"]}
    ]
    assert bearer("suzuki").get(f"/api/v1/briefings/{body['id']}").json()["code"] == body["code"]


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"code": "ACDEF"}, 400, "invalid"),
        ({"code": "ACDEFGH"}, 400, "invalid"),
        ({}, 400, "invalid"),
        ({"code": "AAAAAA"}, 404, "not_found"),
    ],
)
def test_bad_and_unknown_codes(bearer, document, payload, status, code):
    start(bearer, document)
    response = bearer("suzuki").post("/api/v1/briefings/join", payload, format="json")
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_start_needs_exactly_one_thing_to_present(bearer, document):
    client = bearer("tanaka")
    for payload in ({}, {"document": document.pk, "meeting": 1}, {"document": "x"}):
        response = client.post("/api/v1/briefings", payload, format="json")
        assert response.status_code == 400, payload
    assert client.post("/api/v1/briefings", {"document": 987654}, format="json").status_code == 404


def test_hand_over_to_a_reader_only_then_the_new_presenter_ends_it(bearer, document):
    body = start(bearer, document)
    url = f"/api/v1/briefings/{body['id']}"
    not_presenter = bearer("suzuki").post(f"{url}/handover", {"to": "sato"}, format="json")
    assert not_presenter.status_code == 403
    refused = bearer("tanaka").post(f"{url}/handover", {"to": "ito"}, format="json")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "cannot_read"
    unknown = bearer("tanaka").post(f"{url}/handover", {"to": "nobody"}, format="json")
    assert unknown.status_code == 404
    handed = bearer("tanaka").post(f"{url}/handover", {"to": "suzuki"}, format="json")
    assert handed.status_code == 200
    assert handed.json()["presenter"]["username"] == "suzuki"
    assert audit_of("briefing.handover") == [
        {"actor": "tanaka", "briefing": body["id"], "code": body["code"], "to": "suzuki"}
    ]
    assert bearer("tanaka").post(f"{url}/end").status_code == 403
    ended = bearer("suzuki").post(f"{url}/end")
    assert ended.status_code == 200
    assert ended.json()["live"] is False and ended.json()["ended_reason"] == "ended"
    assert audit_of("briefing.end") == [
        {"actor": "suzuki", "briefing": body["id"], "code": body["code"], "reason": "ended"}
    ]
    # Over: its code names nothing any more, and nothing more can be done with it.
    again = bearer("sato").post("/api/v1/briefings/join", {"code": body["code"]}, format="json")
    assert again.status_code == 404
    assert bearer("suzuki").post(f"{url}/end").json()["error"]["code"] == "briefing_ended"


def test_a_briefing_ends_when_its_presenter_has_been_away_ten_minutes(bearer, document):
    away = start(bearer, document)
    here = start(bearer, document)
    assert away["code"] != here["code"]
    Briefing.objects.filter(pk=away["id"]).update(
        presenter_seen_at=timezone.now() - timedelta(minutes=10, seconds=1)
    )
    Briefing.objects.filter(pk=here["id"]).update(
        presenter_seen_at=timezone.now() - timedelta(minutes=9)
    )
    out = StringIO()
    call_command("end_abandoned_briefings", stdout=out)
    assert out.getvalue().strip() == "ended 1 abandoned briefings"
    gone = Briefing.objects.get(pk=away["id"])
    assert gone.ended_reason == EndReason.TIMEOUT and gone.ended_at is not None
    assert Briefing.objects.get(pk=here["id"]).live
    assert audit_of("briefing.end")[0] == {
        "actor": None,
        "briefing": away["id"],
        "code": away["code"],
        "reason": "timeout",
    }


def test_joining_a_briefing_whose_presenter_left_ends_it(bearer, document):
    body = start(bearer, document)
    Briefing.objects.filter(pk=body["id"]).update(
        presenter_seen_at=timezone.now() - timedelta(minutes=11)
    )
    briefing = Briefing.objects.get(pk=body["id"])
    from org.models import User

    with pytest.raises(ApiError) as refused:
        services.join(User.objects.get(username="suzuki"), briefing)
    assert refused.value.get_codes() == "briefing_ended"
    assert Briefing.objects.get(pk=body["id"]).ended_reason == EndReason.TIMEOUT


def test_a_code_is_unique_among_live_briefings(bearer, document, monkeypatch):
    drawn = iter(["ACDEFG", "ACDEFG", "HJKMNP"])
    monkeypatch.setattr(services, "new_code", lambda: next(drawn))
    first = start(bearer, document)
    second = start(bearer, document, who="suzuki")
    assert (first["code"], second["code"]) == ("ACDEFG", "HJKMNP")
    # Once ended, its code may be drawn again.
    bearer("tanaka").post(f"/api/v1/briefings/{first['id']}/end")
    monkeypatch.setattr(services, "new_code", lambda: "ACDEFG")
    assert start(bearer, document)["code"] == "ACDEFG"


def test_a_read_only_token_may_not_start(bearer, document):
    from api.models import TokenScope

    response = bearer("tanaka", scope=TokenScope.READ).post(
        "/api/v1/briefings", {"document": document.pk}, format="json"
    )
    assert response.status_code == 403
