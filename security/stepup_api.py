"""POST /api/v1/step-up: renew the second factor of the session or the Bearer token in use.

Programs cannot show a second factor on each request, and a token is no longer one for its whole
life (security.tokens): a script that signs (approves, submits) sends a code from the holder's
authenticator app here, or uses a security key, and may then sign for MFA_STEP_UP_MINUTES.

- `POST /api/v1/step-up` `{"code": "123456"}` (an authenticator app's code, or a recovery code);
- `GET /api/v1/step-up/security-key`: the WebAuthn request options (a challenge for the user's
  keys, valid for OTP_WEBAUTHN_TIMEOUT_SECONDS); `POST` the key's assertion (the JSON of
  `PublicKeyCredential` as browsers and python-fido2 give it) to the same address.
Both answer `{"second_factor_at", "valid_until"}`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _
from django_otp_webauthn.exceptions import OTPWebAuthnApiError
from django_otp_webauthn.helpers import WebAuthnHelper
from django_otp_webauthn.settings import app_settings as webauthn_settings
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from webauthn.helpers.exceptions import WebAuthnException

from api.errors import ApiError
from api.models import ApiToken
from org.auth import user_of
from security import mfa, stepup
from security.counters import shared
from security.websocket import session_tag


class CodeSerializer(serializers.Serializer):
    code = serializers.CharField(
        max_length=32, help_text="A code from the authenticator app, or a recovery code"
    )


RENEWED = inline_serializer(
    "StepUpRenewed",
    {
        "second_factor_at": serializers.DateTimeField(),
        "valid_until": serializers.DateTimeField(
            help_text="Actions that sign are allowed until then (MFA_STEP_UP_MINUTES)"
        ),
    },
)


def _renewed(moment: datetime) -> Response:
    return Response(
        {
            "second_factor_at": moment.isoformat(),
            "valid_until": (moment + mfa.step_up_window()).isoformat(),
        }
    )


def _no_device() -> ApiError:
    return ApiError(
        "no_second_factor",
        _(
            "You have no second factor to confirm. Register an authenticator app or a security "
            "key on the security page in the browser first."
        ),
        status.HTTP_409_CONFLICT,
    )


class StepUpView(APIView):
    @extend_schema(
        summary="Renew the second factor of this session or API token with a code",
        request=CodeSerializer,
        responses={200: RENEWED, 403: OpenApiResponse(description="wrong code")},
    )
    def post(self, request: Request) -> Response:
        form = CodeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        if not mfa.is_enrolled(user):
            raise _no_device()
        device = mfa.verify_code(user, form.validated_data["code"])
        if device is None:
            raise ApiError(
                "wrong_code",
                _(
                    "The code is not valid (or was used already). Wait for the next code of "
                    "your authenticator app and try again."
                ),
                status.HTTP_403_FORBIDDEN,
            )
        return _renewed(stepup.renew(request, device, how="code"))


def _state_key(request: Request) -> str:
    """Where a pending security-key challenge waits: one per token, or per browser session."""
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        holder = f"token:{token.pk}"
    else:
        holder = f"session:{session_tag(request.session.session_key or '')}"
    return f"security:stepup:webauthn:{user_of(request).pk}:{holder}"


class StepUpSecurityKeyView(APIView):
    @extend_schema(
        summary="Begin a security-key step-up: the WebAuthn request options",
        responses={
            200: serializers.JSONField(help_text="PublicKeyCredentialRequestOptions"),
            409: OpenApiResponse(description="no second factor registered (no_second_factor)"),
        },
    )
    def get(self, request: Request) -> Response:
        user = user_of(request)
        if not mfa.is_enrolled(user):
            raise _no_device()
        options, state = WebAuthnHelper(request._request).authenticate_begin(
            user, require_user_verification=False
        )
        shared().set(_state_key(request), state, webauthn_settings.OTP_WEBAUTHN_TIMEOUT_SECONDS)
        return Response(options)

    @extend_schema(
        summary="Complete a security-key step-up with the key's assertion",
        request=serializers.JSONField(help_text="The PublicKeyCredential as JSON"),
        responses={200: RENEWED, 403: OpenApiResponse(description="the key was not accepted")},
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        key = _state_key(request)
        state = shared().get(key)
        shared().delete(key)  # a challenge answers once
        if not isinstance(state, dict):
            raise ApiError(
                "no_challenge",
                _("Ask for a challenge first: GET this address, then sign it with your key."),
                status.HTTP_409_CONFLICT,
            )
        data: Any = request.data
        if not isinstance(data, dict):
            raise ApiError("invalid", _("Send the key's assertion as a JSON object."))
        try:
            device = WebAuthnHelper(request._request).authenticate_complete(user, state, data)
        except OTPWebAuthnApiError as exc:
            raise ApiError("key_refused", str(exc), status.HTTP_403_FORBIDDEN) from None
        except (WebAuthnException, ValueError, KeyError, TypeError) as exc:  # a bad assertion
            raise ApiError(
                "key_refused",
                _("The security key's answer was not accepted: %(error)s") % {"error": exc},
                status.HTTP_403_FORBIDDEN,
            ) from None
        return _renewed(stepup.renew(request, device, how="webauthn"))
