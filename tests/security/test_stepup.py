"""Second factor at sign-in, and step-up before approving (security.stepup)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import time
from datetime import timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone
from django_otp_webauthn.models import WebAuthnCredential
from rest_framework.test import APIClient

from audit.models import AuditEntry
from org.models import User
from security.mfa import MFA_AT_SESSION_KEY
from security.models import RoleMfaPolicy, TokenAssurance
from tests.security.conftest import browser, code, confirm, enrol
from tests.security.scenario import _draft, session, submitted

pytestmark = pytest.mark.django_db


def approve(client: Client | APIClient, task: int) -> Any:
    return client.post(f"/api/v1/tasks/{task}/approve", {}, content_type="application/json")


def age_second_factor(client: Client, minutes: float) -> None:
    s = client.session
    s[MFA_AT_SESSION_KEY] = time.time() - minutes * 60
    s.save()


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content
    return response.json()["error"]


def test_demo_users_without_a_second_factor_approve_in_demo_mode(demo_org):
    _, task = submitted()
    assert approve(browser("suzuki"), task).status_code == 200


def test_a_user_with_an_app_passes_it_after_the_password(demo_org):
    device = enrol("suzuki")
    client = browser("suzuki")
    page = client.get("/")
    assert page.status_code == 302
    assert page["Location"] == "/security/verify/?next=%2F"
    api = client.get("/api/v1/tasks")
    assert api.status_code == 403
    assert error_of(api)["code"] == "second_factor_required"
    wrong = client.post("/security/verify/", {"code": "000000"})
    assert wrong.status_code == 400 and 'role="alert"' in wrong.content.decode()
    confirm(client, device)
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/tasks").status_code == 200


def test_approving_needs_a_second_factor_of_the_last_15_minutes(demo_org):
    _, first = submitted("一件目")
    _, second = submitted("二件目")
    device = enrol("suzuki")
    client = browser("suzuki")
    confirm(client, device)
    age_second_factor(client, 16)
    refused = approve(client, first)
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "second_factor_required"
    assert "承認するには" in error["message"] and "二要素認証" in error["message"]
    assert "http://testserver/security/verify/?next=" in error["message"]
    bulk = client.post(
        "/api/v1/tasks/bulk-approve", {"task_ids": [first]}, content_type="application/json"
    )
    assert bulk.status_code == 403 and error_of(bulk)["code"] == "second_factor_required"
    # Sending back and rejecting sign the record too.
    for action in ("send-back", "reject"):
        other = client.post(
            f"/api/v1/tasks/{first}/{action}", {"reason": "再考"}, content_type="application/json"
        )
        assert other.status_code == 403 and error_of(other)["code"] == "second_factor_required"
    # The page named in the message: confirm, and the approval goes through.
    step_up = client.get("/security/verify/?next=/&step_up=1")
    assert step_up.status_code == 200 and "15" in step_up.content.decode()
    confirm(client, device)
    assert approve(client, first).status_code == 200
    age_second_factor(client, 14)
    assert approve(client, second).status_code == 200


def test_the_window_is_configurable(demo_org, settings):
    settings.MFA_STEP_UP_MINUTES = 1
    _, task = submitted()
    device = enrol("suzuki")
    client = browser("suzuki")
    confirm(client, device)
    age_second_factor(client, 2)
    assert approve(client, task).status_code == 403


def test_outside_demo_mode_an_approver_without_a_second_factor_is_told_to_register(
    demo_org, settings
):
    _, task = submitted()
    settings.MFA_STEP_UP_REQUIRES_DEVICE = True
    refused = approve(browser("suzuki"), task)
    assert refused.status_code == 403
    error = error_of(refused)
    assert error["code"] == "second_factor_required"
    assert "http://testserver/security/" in error["message"]


def test_a_role_that_requires_a_second_factor_sends_its_members_to_set_one_up(demo_org, bearer):
    RoleMfaPolicy.objects.create(role="approver", mfa_required=True)
    client = browser("suzuki")
    page = client.get("/")
    assert page.status_code == 302 and page["Location"] == "/security/"
    assert client.get("/security/").status_code == 200
    assert error_of(client.get("/api/v1/tasks"))["code"] == "second_factor_required"
    # A token made without a second factor no longer works for such a role.
    refused = bearer("suzuki").get("/api/v1/tasks")
    assert refused.status_code == 401
    assert "二要素認証" in error_of(refused)["message"]
    # The drafter's role is not concerned.
    assert browser("tanaka").get("/").status_code == 200


def test_tokens_count_as_a_second_factor_only_when_made_right_after_one(demo_org, bearer):
    _, task = submitted()
    device = enrol("suzuki")
    # A token issued on the server (or made without a second factor) cannot approve.
    refused = approve(bearer("suzuki"), task)
    assert refused.status_code == 403
    assert "/api/v1/step-up" in error_of(refused)["message"]
    # A token made in a session that has just passed the second factor can.
    client = browser("suzuki")
    confirm(client, device)
    made = client.post("/api/v1/tokens", {"name": "承認アプリ"}, content_type="application/json")
    assert made.status_code == 201
    assert TokenAssurance.objects.filter(token__user__username="suzuki").count() == 1
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Bearer {made.json()['token']}")
    assert approve(program, task).status_code == 200
    # A stale second factor vouches for no new token.
    age_second_factor(client, 60)
    client.post("/api/v1/tokens", {"name": "古い"}, content_type="application/json")
    assert TokenAssurance.objects.filter(token__user__username="suzuki").count() == 1


def test_reading_never_needs_step_up(demo_org):
    device = enrol("sato")
    client = browser("sato")
    confirm(client, device)
    age_second_factor(client, 600)
    assert client.get("/api/v1/tasks").status_code == 200
    assert session("tanaka").get("/api/v1/documents").status_code == 200


def age_token(token_client: APIClient, minutes: float) -> None:
    TokenAssurance.objects.filter(token__user__username="suzuki").update(
        second_factor_at=timezone.now() - timedelta(minutes=minutes)
    )


def test_a_token_signs_only_within_the_window_and_renews_with_a_code(demo_org, bearer):
    """Issue 17: a token made right after the second factor approved for its 90-day life."""
    _, first = submitted("一件目")
    _, second = submitted("二件目")
    device = enrol("suzuki")
    client = browser("suzuki")
    confirm(client, device)
    made = client.post("/api/v1/tokens", {"name": "承認アプリ"}, content_type="application/json")
    program = APIClient()
    program.credentials(HTTP_AUTHORIZATION=f"Bearer {made.json()['token']}")
    age_token(program, 16)
    refused = approve(program, first)
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "second_factor_required"
    # The script renews with a code from the app: a wrong one is refused.
    wrong = program.post("/api/v1/step-up", {"code": "000000"}, format="json")
    assert wrong.status_code == 403 and error_of(wrong)["code"] == "wrong_code"
    renewed = program.post("/api/v1/step-up", {"code": code(device)}, format="json")
    assert renewed.status_code == 200, renewed.content
    assert set(renewed.json()) == {"second_factor_at", "valid_until"}
    assert approve(program, first).status_code == 200
    # The renewal is in the audit trail, naming the token.
    entry = AuditEntry.objects.filter(action="security.second_factor_passed").last()
    assert entry is not None and entry.details["how"] == "code" and "token" in entry.details
    age_token(program, 16)
    assert approve(program, second).status_code == 403


def test_a_token_without_any_second_factor_renews_and_then_signs(demo_org, bearer):
    _, task = submitted()
    device = enrol("suzuki")
    program = bearer("suzuki")  # issue_token on the server: no second factor behind it
    assert approve(program, task).status_code == 403
    assert program.post("/api/v1/step-up", {"code": code(device)}, format="json").status_code == 200
    assert approve(program, task).status_code == 200


def test_step_up_without_a_device_says_to_register_one(demo_org, bearer):
    response = bearer("suzuki").post("/api/v1/step-up", {"code": "123456"}, format="json")
    assert response.status_code == 409 and error_of(response)["code"] == "no_second_factor"


def test_a_session_renews_through_the_same_endpoint(demo_org):
    _, task = submitted()
    device = enrol("suzuki")
    client = browser("suzuki")
    confirm(client, device)
    age_second_factor(client, 30)
    assert approve(client, task).status_code == 403
    renewed = client.post(
        "/api/v1/step-up", {"code": code(device)}, content_type="application/json"
    )
    assert renewed.status_code == 200
    assert approve(client, task).status_code == 200


def test_submitting_signs_and_so_needs_step_up(demo_org):
    """Issue 17: POST /documents/{id}/submit seals the drafter's box and asked for nothing."""
    document, _ = _draft("提出には二要素")
    device = enrol("tanaka")
    client = browser("tanaka")
    confirm(client, device)
    age_second_factor(client, 16)
    refused = client.post(
        f"/api/v1/documents/{document}/submit", {}, content_type="application/json"
    )
    assert refused.status_code == 403
    assert error_of(refused)["code"] == "second_factor_required"
    confirm(client, device)
    done = client.post(f"/api/v1/documents/{document}/submit", {}, content_type="application/json")
    assert done.status_code == 200, done.content


def test_a_security_key_step_up_without_a_challenge_is_refused(demo_org, bearer):
    enrol("suzuki")
    program = bearer("suzuki")
    answer = program.post("/api/v1/step-up/security-key", {"id": "x"}, format="json")
    assert answer.status_code == 409 and error_of(answer)["code"] == "no_challenge"
    options = program.get("/api/v1/step-up/security-key")
    assert options.status_code == 200 and options.json()["challenge"]
    # A forged assertion after a real challenge: refused, and the challenge is spent.
    forged = program.post(
        "/api/v1/step-up/security-key",
        {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": {}},
        format="json",
    )
    assert forged.status_code == 403 and error_of(forged)["code"] == "key_refused"
    again = program.post("/api/v1/step-up/security-key", {"id": "x"}, format="json")
    assert again.status_code == 409


class SoftwareKey:
    """A security key in software: an ES256 credential registered for the user, answering
    WebAuthn challenges the way a browser and an authenticator together do."""

    def __init__(self, username: str, origin: str = "http://localhost:8000") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.credential_id = os.urandom(16)
        self.origin = origin
        self.count = 0
        WebAuthnCredential.objects.create(
            user=User.objects.get(username=username),
            name="セキュリティキー",
            confirmed=True,
            credential_id=self.credential_id,
            public_key=cbor2.dumps(
                {
                    1: 2,
                    3: -7,
                    -1: 1,
                    -2: numbers.x.to_bytes(32, "big"),
                    -3: numbers.y.to_bytes(32, "big"),
                }
            ),
            sign_count=0,
        )

    def answer(self, options: dict[str, Any]) -> dict[str, Any]:
        self.count += 1
        client_data = json.dumps(
            {"type": "webauthn.get", "challenge": options["challenge"], "origin": self.origin}
        ).encode()
        rp_hash = hashlib.sha256(options["rpId"].encode()).digest()
        authenticator_data = rp_hash + bytes([0x01]) + self.count.to_bytes(4, "big")
        signature = self.key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )

        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        return {
            "id": b64(self.credential_id),
            "rawId": b64(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(authenticator_data),
                "signature": b64(signature),
            },
        }


def test_a_script_renews_with_a_security_key_and_then_signs(demo_org, bearer):
    _, task = submitted()
    key = SoftwareKey("suzuki")
    program = bearer("suzuki")
    assert approve(program, task).status_code == 403
    options = program.get("/api/v1/step-up/security-key")
    assert options.status_code == 200, options.content
    renewed = program.post(
        "/api/v1/step-up/security-key", key.answer(options.json()), format="json"
    )
    assert renewed.status_code == 200, renewed.content
    assert approve(program, task).status_code == 200
    # An answer replayed against a spent challenge is refused.
    replay = program.post("/api/v1/step-up/security-key", key.answer(options.json()), format="json")
    assert replay.status_code == 409
