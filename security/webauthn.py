"""Security keys and passkeys (django-otp-webauthn) as a second factor, with our bookkeeping.

Mounted at /security/webauthn/ under the namespace the library's template tags expect
(`otp_webauthn`). The views are the library's, extended so that passing or registering a key
stamps the session for step-up and leaves an audit entry. Passwordless login is off
(OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN): a key is a second factor, never the only one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import views
from django_otp_webauthn.models import AbstractWebAuthnCredential, WebAuthnCredential

from security import mfa

app_name = "otp_webauthn"


def relying_party_id(request: HttpRequest) -> str:
    """The host the keys are bound to: the request's own, if it is one of the allowed origins."""
    hosts = [urlsplit(origin).hostname or "" for origin in settings.OTP_WEBAUTHN_ALLOWED_ORIGINS]
    host = request.get_host().rsplit(":", 1)[0] if request.get_host() else ""
    return host if host in hosts else hosts[0]


class BeginRegistration(views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(views.CompleteCredentialRegistrationView):
    def post(self, *args: Any, **kwargs: Any) -> JsonResponse:
        was_verified = self.request.user.is_verified()
        response = super().post(*args, **kwargs)
        device = WebAuthnCredential.objects.get(pk=json.loads(response.content)["id"])
        mfa.device_added(self.request, device)
        if not was_verified:
            mfa.mark_verified(self.request, device, how="webauthn-registration")
        return response


class BeginAuthentication(views.BeginCredentialAuthenticationView):
    pass


class CompleteAuthentication(views.CompleteCredentialAuthenticationView):
    def complete_auth(self, device: AbstractWebAuthnCredential) -> Any:
        super().complete_auth(device)
        mfa.mark_verified(self.request, device, how="webauthn")


urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path(
        "registration/complete/",
        CompleteRegistration.as_view(),
        name="credential-registration-complete",
    ),
    path(
        "authentication/begin/",
        BeginAuthentication.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    path(
        "jsi18n/",
        JavaScriptCatalog.as_view(packages=["django_otp_webauthn", "security"]),
        name="js-i18n-catalog",
    ),
]
