"""Pages for second factors: overview, authenticator app set-up, recovery codes, verification."""

from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from org.auth import user_of
from security import mfa

TOTP_PENDING_SESSION_KEY = "security_totp_pending"


def _needs_verification_first(request: HttpRequest) -> bool:
    """An enrolled user adds or changes devices only from a session that passed one."""
    user = user_of(request)
    return mfa.is_enrolled(user) and not request.user.is_verified()  # type: ignore[union-attr]


def _verify_then_back(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('security:verify')}?{urlencode({'next': request.path})}")


@never_cache
@login_required
def overview(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    return render(
        request,
        "security/overview.html",
        {
            "apps": TOTPDevice.objects.devices_for_user(user, confirmed=True),
            "keys": WebAuthnCredential.objects.devices_for_user(user, confirmed=True),
            "codes_left": mfa.recovery_codes_left(user),
            "enrolled": mfa.is_enrolled(user),
            "required": mfa.required_for(user),
            "verified": request.user.is_verified(),  # type: ignore[union-attr]
            "can_add_key": not _needs_verification_first(request),
            "last_second_factor": mfa.second_factor_at(request.session),
            "window_minutes": settings.MFA_STEP_UP_MINUTES,
        },
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def totp_setup(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if _needs_verification_first(request):
        return _verify_then_back(request)
    device = TOTPDevice.objects.filter(
        user=user, confirmed=False, pk=request.session.get(TOTP_PENDING_SESSION_KEY)
    ).first()
    if device is None:
        mfa.forget_unconfirmed(user)
        device = TOTPDevice.objects.create(user=user, name=_("Authenticator app"), confirmed=False)
        request.session[TOTP_PENDING_SESSION_KEY] = device.pk
    error = None
    if request.method == "POST":
        code = mfa.normalise_code(request.POST.get("code", ""))
        if code.isdigit() and device.verify_token(code):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            del request.session[TOTP_PENDING_SESSION_KEY]
            mfa.device_added(request, device)
            mfa.mark_verified(request, device, how="totp-setup")
            messages.success(request, _("The authenticator app is registered."))
            if mfa.recovery_codes_left(user) == 0:
                return _show_codes(request, mfa.new_recovery_codes(user))
            return redirect("security:overview")
        error = _("The code is not correct. Check the time on your phone and try the next code.")
    qr = segno.make(device.config_url, error="m")
    return render(
        request,
        "security/totp.html",
        {
            "qr": qr.svg_data_uri(scale=5, border=2),
            "secret": base64.b32encode(device.bin_key).decode("ascii"),
            "error": error,
        },
        status=400 if error else 200,
    )


def _show_codes(request: HttpRequest, codes: list[str]) -> HttpResponse:
    return render(request, "security/recovery_codes.html", {"codes": codes})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if _needs_verification_first(request):
        return _verify_then_back(request)
    if not mfa.is_enrolled(user):
        messages.info(request, _("Register an authenticator app or a security key first."))
        return redirect("security:overview")
    if request.method == "POST":
        return _show_codes(request, mfa.new_recovery_codes(user))
    return render(
        request,
        "security/recovery_codes.html",
        {"codes": None, "codes_left": mfa.recovery_codes_left(user)},
    )


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Second factor after the password, and again for step-up before approving."""
    user = user_of(request)
    if not mfa.is_enrolled(user):
        return redirect("security:overview")
    error = None
    if request.method == "POST":
        device = mfa.verify_code(user, request.POST.get("code", ""))
        if device is not None:
            mfa.mark_verified(request, device, how=type(device).__name__)
            if device.name == mfa.RECOVERY_DEVICE_NAME:
                messages.warning(
                    request,
                    _("You used a recovery code; %(n)d are left.")
                    % {"n": mfa.recovery_codes_left(user)},
                )
            return redirect(_safe_next(request) or settings.LOGIN_REDIRECT_URL)
        error = _(
            "The code is not correct, or too many wrong codes were tried: wait a moment and "
            "enter the newest code."
        )
    return render(
        request,
        "security/verify.html",
        {
            "error": error,
            "next": _safe_next(request) or "",
            "step_up": request.GET.get("step_up") == "1",
            "has_app": TOTPDevice.objects.devices_for_user(user, confirmed=True).exists(),
            "has_key": WebAuthnCredential.objects.devices_for_user(user, confirmed=True).exists(),
            "window_minutes": settings.MFA_STEP_UP_MINUTES,
        },
        status=400 if error else 200,
    )


@require_POST
@never_cache
@login_required
def remove_device(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    if not mfa.is_recent(mfa.second_factor_at(request.session)):
        messages.info(request, _("Confirm your second factor once more before removing a device."))
        return _verify_then_back(request)
    device_id = request.POST.get("device", "")
    if mfa.required_for(user) and len(mfa.primary_devices(user)) <= 1:
        messages.error(
            request,
            _("Your role requires two-factor authentication: register another device first."),
        )
    elif mfa.remove_device(user, device_id, request):
        messages.success(request, _("The device was removed."))
    return redirect("security:overview")
