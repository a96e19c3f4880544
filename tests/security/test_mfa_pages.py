"""The pages for second factors: authenticator app with a QR code, recovery codes, keys, removal."""

from __future__ import annotations

import re
import time

import pytest
from django.apps import apps
from django.test import Client
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from security.mfa import MFA_AT_SESSION_KEY
from tests.security.conftest import browser, code, confirm, enrol

pytestmark = pytest.mark.django_db


def test_registering_an_app_with_its_qr_code_then_recovery_codes(demo_org):
    client = browser("suzuki")
    page = client.get("/security/totp/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'src="data:image/svg+xml' in html  # the QR code, drawn here: no outside service
    assert re.search(r'<code class="token">[A-Z2-7]{32}</code>', html)
    device = TOTPDevice.objects.get(user__username="suzuki", confirmed=False)
    assert "otpauth://totp/e-Kessai" in device.config_url
    assert client.post("/security/totp/", {"code": "123456"}).status_code == 400
    done = client.post("/security/totp/", {"code": code(device)})
    assert done.status_code == 200
    codes = re.findall(r"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    # Registering passed the second factor: this session may approve now.
    assert client.get("/").status_code == 200
    assert time.time() - client.session[MFA_AT_SESSION_KEY] < 5
    if apps.is_installed("audit"):
        from audit.models import AuditEntry

        assert AuditEntry.objects.filter(action="security.device_added").exists()

    # A recovery code works once, typed in any case and with or without the hyphen.
    other = browser("suzuki")
    assert other.get("/").status_code == 302
    used = other.post("/security/verify/", {"code": codes[0].lower().replace("-", " ")})
    assert used.status_code == 302
    assert other.get("/").status_code == 200
    again = browser("suzuki").post("/security/verify/", {"code": codes[0]})
    assert again.status_code == 400
    assert StaticToken.objects.filter(device__user__username="suzuki").count() == 9


def test_new_recovery_codes_replace_the_old_ones(demo_org):
    device = enrol("sato")
    client = browser("sato")
    confirm(client, device)
    first = client.post("/security/recovery-codes/")
    second = client.post("/security/recovery-codes/")
    old = re.findall(r"<code>([A-Z2-9-]{11})</code>", first.content.decode())
    new = re.findall(r"<code>([A-Z2-9-]{11})</code>", second.content.decode())
    assert len(new) == 10 and not set(old) & set(new)
    assert browser("sato").post("/security/verify/", {"code": old[0]}).status_code == 400


def test_devices_are_changed_only_after_the_second_factor(demo_org):
    device = enrol("sato")
    client = browser("sato")
    # Someone with the password alone can neither add a device nor see the codes page.
    assert client.get("/security/totp/")["Location"].startswith("/security/verify/")
    assert client.post("/security/recovery-codes/")["Location"].startswith("/security/verify/")
    begin = client.post("/security/webauthn/registration/begin/")
    assert begin.status_code == 403
    confirm(client, device)
    # Removing needs a fresh confirmation too; the recovery codes go with the last device.
    client.post("/security/recovery-codes/")
    session = client.session
    session[MFA_AT_SESSION_KEY] = time.time() - 3600
    session.save()
    stale = client.post("/security/devices/remove/", {"device": device.persistent_id})
    assert stale["Location"].startswith("/security/verify/")
    confirm(client, device)
    assert client.post("/security/devices/remove/", {"device": device.persistent_id}).status_code
    assert not TOTPDevice.objects.filter(user__username="sato").exists()
    assert not StaticToken.objects.filter(device__user__username="sato").exists()


def test_no_one_removes_anothers_device(demo_org):
    victim = enrol("sato")
    device = enrol("suzuki")
    client = browser("suzuki")
    confirm(client, device)
    client.post("/security/devices/remove/", {"device": victim.persistent_id})
    assert TOTPDevice.objects.filter(pk=victim.pk).exists()


def test_security_keys_register_with_the_library_script_and_our_origin(demo_org):
    client = browser("tanaka")
    page = client.get("/security/").content.decode()
    assert "django_otp_webauthn/otp_webauthn_register.js" in page
    assert 'id="otp_webauthn_config" type="application/json"' in page
    options = client.post("/security/webauthn/registration/begin/")
    assert options.status_code == 200
    body = options.json()
    assert body["rp"] == {"id": "localhost", "name": "e-Kessai"}
    assert body["user"]["name"] == "tanaka"
    # Catalogue for the library's script, in Japanese.
    catalog = client.get("/security/webauthn/jsi18n/").content.decode()
    assert "\\u30d1\\u30b9\\u30ad\\u30fc" in catalog or "パスキー" in catalog


def test_a_key_is_never_a_login_on_its_own(db):
    response = Client().post("/security/webauthn/authentication/begin/")
    assert response.status_code in (401, 403)
