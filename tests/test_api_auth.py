"""Token authentication, /api/v1/me, and the one error format."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from api.models import ApiToken, TokenScope
from org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_issue_token_prints_a_token_that_works_on_me(demo_org):
    out = io.StringIO()
    call_command("issue_token", "tanaka", stdout=out)
    token = out.getvalue().strip()
    assert "\n" not in token and token.startswith("ek_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    assert response.json() == {
        "username": "tanaka",
        "display_name": "田中 一郎",
        "department": "総務部 総務課",
        "position": "主事",
        "roles": ["drafter"],
        "posts": [
            {
                "department": "総務部 総務課",
                "department_code": "somu-somu",
                "position": "主事",
                "position_code": "shuji",
                "is_primary": True,
            }
        ],
    }
    # Only a digest is stored.
    assert not ApiToken.objects.filter(digest=token).exists()


def test_issue_token_for_unknown_user_fails(demo_org):
    with pytest.raises(CommandError, match="No user named"):
        call_command("issue_token", "nobody")


@pytest.mark.parametrize(
    "header",
    ["Bearer ek_wrongwrongwrongwrong", "Bearer", "Bearer a b", "Bearer \u00e9\u00e9\u00e9"],
)
def test_wrong_token_is_401_json_not_a_redirect(demo_org, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))
    response = client.get("/api/v1/me")
    assert_error(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"] == "Bearer"


def test_no_credentials_is_401_json(db):
    response = APIClient().get("/api/v1/me")
    assert_error(response, 401, "not_authenticated")


def test_expired_token_is_refused(bearer):
    client = bearer("suzuki", expires_in=timedelta(seconds=-1))
    assert_error(client.get("/api/v1/me"), 401)


def test_deactivated_user_token_is_refused(bearer):
    client = bearer("suzuki")
    from org.models import User

    User.objects.filter(username="suzuki").update(is_active=False)
    assert_error(client.get("/api/v1/me"), 401)


def test_demo_account_tokens_stop_working_outside_demo_mode(bearer, settings):
    client = bearer("suzuki")
    settings.DEMO_MODE = False
    assert_error(client.get("/api/v1/me"), 401)


def test_read_scoped_token_cannot_act(bearer):
    client = bearer("tanaka", scope=TokenScope.READ)
    assert client.get("/api/v1/tokens").status_code == 200
    error = assert_error(client.post("/api/v1/tokens", {}, format="json"), 403)
    assert "read-only" in error["message"]


def test_unknown_api_url_is_404_json(bearer):
    assert_error(bearer("tanaka").get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(APIClient().get("/api/nothing/here"), 404, "not_found")


def test_wrong_method_is_405_json(bearer):
    assert_error(bearer("tanaka").delete("/api/v1/me"), 405, "method_not_allowed")


def test_malformed_json_is_400_json(demo_org):
    client = APIClient()
    client.login(username="tanaka", password=DEMO_PASSWORD)
    client.enforce_csrf_checks = False
    response = client.post("/api/v1/tokens", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_invalid_fields_name_the_field(demo_org):
    client = APIClient()
    client.login(username="tanaka", password=DEMO_PASSWORD)
    response = client.post("/api/v1/tokens", {"scope": "everything"}, format="json")
    error = assert_error(response, 400, "invalid")
    assert "scope" in error["fields"]


def test_browser_session_creates_lists_and_revokes_tokens(demo_org):
    client = APIClient()
    client.login(username="tanaka", password=DEMO_PASSWORD)
    created = client.post(
        "/api/v1/tokens",
        {"name": "スクリプト", "scope": "read", "expires_in_days": 7},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["name"] == "スクリプト" and body["scope"] == "read" and body["token"]
    listed = client.get("/api/v1/tokens").json()
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert other.get("/api/v1/me").json()["username"] == "tanaka"
    assert client.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert_error(other.get("/api/v1/me"), 401)
    assert_error(client.delete(f"/api/v1/tokens/{body['id']}"), 404)


def test_a_token_cannot_mint_tokens(bearer):
    assert_error(bearer("tanaka").post("/api/v1/tokens", {}, format="json"), 403)


def test_tokens_of_others_cannot_be_revoked(bearer, demo_org):
    from api.tokens import create_token
    from org.models import User

    victim, _ = create_token(User.objects.get(username="sato"))
    client = APIClient()
    client.login(username="tanaka", password=DEMO_PASSWORD)
    assert_error(client.delete(f"/api/v1/tokens/{victim.token_key}"), 404)
    assert ApiToken.objects.filter(pk=victim.pk).exists()


def test_session_api_calls_need_csrf(demo_org):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="tanaka", password=DEMO_PASSWORD)
    assert_error(client.post("/api/v1/tokens", {}, format="json"), 403)


def test_uncaught_exception_is_500_json(bearer, settings):
    settings.ROOT_URLCONF = "tests.urls_broken"
    client = bearer("tanaka")
    client.raise_request_exception = False
    error = assert_error(client.get("/api/v1/boom"), 500, "server_error")
    assert "Traceback" not in error["message"]


def test_storage_outage_is_503_json(bearer, settings):
    settings.ROOT_URLCONF = "tests.urls_broken"
    client = bearer("tanaka")
    error = assert_error(client.get("/api/v1/storage-down"), 503, "storage_unavailable")
    assert "もう一度お試しください" in error["message"]
    english = client.get("/api/v1/storage-down", HTTP_ACCEPT_LANGUAGE="en")
    assert "try again" in assert_error(english, 503)["message"].lower()


def test_openapi_schema_lists_the_api(db):
    response = APIClient().get("/api/schema", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/me" in schema["paths"]
    assert "/api/v1/tokens" in schema["paths"]
