"""Step-up: every action that signs needs a second factor passed within the last few minutes.

The views of actions that sign (submit, approve, send back, reject, bulk approval, a disposal
request) call `require_recent_second_factor(request)` before they act. Who passes:
- a browser session whose last second factor is within MFA_STEP_UP_MINUTES (default 15);
- a Bearer token whose holder passed one within the same window: when the token was made in
  such a session, or at a renewal by `POST /api/v1/step-up` (security.tokens, stepup_api);
- a user with no second factor at all, only while MFA_STEP_UP_REQUIRES_DEVICE is off (the
  default in demo mode, so that the demo users can approve) and no role of theirs requires one.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django_otp.models import Device
from rest_framework import status
from rest_framework.request import Request

from api.errors import ApiError
from api.models import ApiToken
from org.auth import user_of
from security import auditing, mfa, tokens


class SecondFactorRequired(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__("second_factor_required", message, status.HTTP_403_FORBIDDEN)


def _back_to(request: HttpRequest | Request) -> str:
    """The page the approval came from, if it is ours, to return to after the second factor."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse(settings.LOGIN_REDIRECT_URL)


def verify_url(request: HttpRequest | Request) -> str:
    query = urlencode({"next": _back_to(request), "step_up": "1"})
    return request.build_absolute_uri(f"{reverse('security:verify')}?{query}")


def require_recent_second_factor(request: HttpRequest | Request) -> None:
    """Raises SecondFactorRequired (403, code second_factor_required) unless the caller passes."""
    user = user_of(request)
    if not mfa.is_enrolled(user):
        if mfa.required_for(user) or settings.MFA_STEP_UP_REQUIRES_DEVICE:
            setup = request.build_absolute_uri(reverse("security:overview"))
            raise SecondFactorRequired(
                _(
                    "To approve you need two-factor authentication. Register an authenticator "
                    "app or a security key at %(url)s, then try again."
                )
                % {"url": setup}
            )
        return
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        if tokens.has_recent_second_factor(token):
            return
        raise SecondFactorRequired(
            _(
                "This API token needs a second factor passed within the last %(minutes)d "
                "minutes to sign. Send a code from your authenticator app as POST %(url)s "
                '{"code": "123456"} (or use a security key there), then try again.'
            )
            % {
                "minutes": settings.MFA_STEP_UP_MINUTES,
                "url": request.build_absolute_uri(reverse("api:step-up")),
            }
        )
    if mfa.is_recent(mfa.second_factor_at(request.session)):
        return
    raise SecondFactorRequired(
        _(
            "To approve, confirm two-factor authentication once more. Open %(url)s, confirm, "
            "then approve again (a confirmation counts for %(minutes)d minutes)."
        )
        % {"url": verify_url(request), "minutes": settings.MFA_STEP_UP_MINUTES}
    )


def renew(request: HttpRequest | Request, device: Device, *, how: str) -> datetime:
    """The caller passed `device` just now: their session, or the Bearer token they use, may
    sign for MFA_STEP_UP_MINUTES from now. Returns the moment."""
    raw: HttpRequest = getattr(request, "_request", request)
    token = getattr(request, "auth", None)
    if isinstance(token, ApiToken):
        moment = timezone.now()
        tokens.renew(token, moment)
        auditing.record(
            "security.second_factor_passed",
            actor=device.user,
            request=raw,
            data={"device": device.persistent_id, "how": how, "token": str(token.pk)},
        )
        return moment
    mfa.mark_verified(raw, device, how=how)
    return mfa.second_factor_at(raw.session) or timezone.now()
