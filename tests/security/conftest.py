"""Fixtures of the security tests: a clean cache (lockouts, throttles) and second factors."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from org.demo import DEMO_PASSWORD
from org.models import User
from security.counters import shared


@pytest.fixture(autouse=True)
def _clean_cache(settings) -> Iterator[None]:
    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # a wrong code in a test does not delay the next one
    cache.clear()
    shared().clear()
    yield
    cache.clear()
    shared().clear()


def enrol(username: str) -> TOTPDevice:
    """Gives the user a confirmed authenticator app."""
    return TOTPDevice.objects.create(
        user=User.objects.get(username=username), name="スマートフォン", confirmed=True
    )


def code(device: TOTPDevice) -> str:
    """The app's current code; the device forgets the last one used, as for the next period."""
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def browser(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content
    return client


def confirm(client: Client, device: TOTPDevice) -> None:
    response = client.post("/security/verify/", {"code": code(device), "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/", response.content
