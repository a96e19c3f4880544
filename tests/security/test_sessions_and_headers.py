"""Headers on every response (CSP, framing, sniffing), idle sessions, and the token rate limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.test import Client

from security.middleware import LAST_SEEN_SESSION_KEY
from security.throttling import TokenRateThrottle
from tests.security.conftest import browser

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in header.split(";")) if part
    }


@pytest.mark.parametrize("url", ["/login/", "/api/v1/me", "/no/such/page/", "/admin/login/"])
def test_every_response_has_the_policy(db, url):
    response = Client().get(url)
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["img-src"] == ["'self'", "data:", "blob:"]
    assert csp["worker-src"] == ["'self'", "blob:"]
    assert csp["connect-src"] == ["'self'", "ws://testserver"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_socket_of_an_https_site_is_wss(db):
    response = Client().get("/login/", secure=True)
    assert "wss://testserver" in policy(response)["connect-src"]


def test_our_pages_and_templates_need_no_inline_script_or_style():
    """What CSP would block: inline scripts, style attributes, event handler attributes."""
    import re

    offenders = []
    templates = [
        *ROOT.glob("security/templates/**/*.html"),
        ROOT / "frontend/templates/frontend/login.html",
    ]
    for template in templates:
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{template}: inline <script>")
        if re.search(r"\sstyle=|<style", text):
            offenders.append(f"{template}: inline style")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{template}: event handler attribute")
    assert not offenders, offenders


def test_an_idle_session_is_signed_out(demo_org, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client = browser("tanaka")
    assert client.get("/").status_code == 200
    session = client.session
    assert time.time() - session[LAST_SEEN_SESSION_KEY] < 5
    session[LAST_SEEN_SESSION_KEY] = time.time() - 29 * 60
    session.save()
    assert client.get("/").status_code == 200  # still within: and the clock starts again
    assert time.time() - client.session[LAST_SEEN_SESSION_KEY] < 5
    session = client.session
    session[LAST_SEEN_SESSION_KEY] = time.time() - 31 * 60
    session.save()
    response = client.get("/", follow=True)
    assert response.redirect_chain[0][0].startswith("/login/")
    assert "操作がなかったため、ログアウトしました" in response.content.decode()
    assert client.get("/api/v1/me").status_code == 401


def test_each_token_is_rate_limited(bearer, monkeypatch):
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "3/min"})
    client = bearer("tanaka")
    for _ in range(3):
        assert client.get("/api/v1/me").status_code == 200
    limited = client.get("/api/v1/me")
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "throttled"
    assert int(limited["Retry-After"]) > 0
    assert bearer("tanaka").get("/api/v1/me").status_code == 200  # another token
    assert browser("tanaka").get("/api/v1/me").status_code == 200


def test_production_cookies_are_secure_and_hsts_is_sent(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env |= {
        "EKESSAI_MODE": "production",
        "EKESSAI_DATA_DIR": str(tmp_path),
        "SECRET_KEY": "x" * 50,
        "DATABASE_URL": "postgres://u:p@127.0.0.1:5432/x",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "MINIO_ENDPOINT": "127.0.0.1:9000",
        "MINIO_ACCESS_KEY": "a",
        "MINIO_SECRET_KEY": "b",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.MFA_STEP_UP_REQUIRES_DEVICE, s.OTP_WEBAUTHN_ALLOWED_ORIGINS)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    secure, csrf, hsts, device, origins = out.stdout.split(" ", 4)
    assert (secure, csrf, device) == ("True", "True", "True")
    assert int(hsts) >= 180 * 24 * 3600
    assert "https://" in origins


# --- Cache-Control on shared office PCs (issue 17) ----------------------------------------------


def test_signed_in_pages_and_the_api_are_not_stored(demo_org, bearer):
    from tests.security.scenario import _draft, session

    browser_client = session("tanaka")
    document, attachment = _draft("キャッシュの確認")
    for url in ("/", f"/documents/{document}/", "/api/v1/me", f"/api/v1/documents/{document}"):
        response = browser_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
    token_answer = bearer("tanaka").get("/api/v1/tasks")
    assert "no-store" in token_answer["Cache-Control"]
    anonymous_api = Client().get("/api/v1/me")
    assert anonymous_api.status_code == 401 and "no-store" in anonymous_api["Cache-Control"]
    # Downloads keep their own rules (private, range requests).
    download = browser_client.get(f"/api/v1/documents/{document}/attachments/{attachment}")
    assert download["Cache-Control"] == "private, no-transform"
