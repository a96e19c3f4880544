"""The browser pages of the foundation: login (Japanese first), home, tokens, errors."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from org.demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def test_root_sends_anonymous_visitors_to_the_login_page():
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_login_page_is_japanese_by_default_and_english_on_request():
    page = Client().get("/login/").content.decode()
    assert '<html lang="ja">' in page
    assert "ログイン" in page
    english = Client(headers={"accept-language": "en"}).get("/login/").content.decode()
    assert '<html lang="en">' in english
    assert "Log in" in english


def test_login_then_home_shows_the_post(demo_org):
    client = Client()
    response = client.post(
        "/login/", {"username": "tanaka", "password": DEMO_PASSWORD}, follow=True
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "田中 一郎" in page
    assert "総務部 総務課" in page


def test_wrong_password_says_so(demo_org):
    response = Client().post("/login/", {"username": "tanaka", "password": "wrong"})
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()


def test_token_page_creates_a_token_shown_once(demo_org):
    client = Client()
    client.login(username="suzuki", password=DEMO_PASSWORD)
    response = client.post("/settings/tokens/", {"name": "laptop", "scope": "read"})
    token = re.search(r'<code class="token"[^>]*>(ek_[^<]+)</code>', response.content.decode())
    assert token is not None
    listing = client.get("/settings/tokens/").content.decode()
    assert "laptop" in listing
    assert token.group(1) not in listing


def test_unknown_page_is_a_friendly_404():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]
