"""Second factors: who has one, who must have one, and when a session last passed one.

Devices are django-otp's: TOTP (an authenticator app), WebAuthn credentials (security keys and
passkeys, django-otp-webauthn) and one static device per user holding the recovery codes. A
session that passes a device is marked by django-otp (`user.is_verified()`) and, here, with the
time it happened, which step-up (security.stepup) compares with its window.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta

import django_otp
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from org.models import User
from security import auditing
from security.models import RoleMfaPolicy

MFA_AT_SESSION_KEY = "security_mfa_at"
RECOVERY_DEVICE_NAME = "recovery"
RECOVERY_CODE_COUNT = 10
# Recovery codes: 10 characters from an alphabet without look-alikes (0/O, 1/I/L), shown in
# two groups of five; spaces and hyphens are ignored when one is typed in.
_RECOVERY_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def primary_devices(user: User) -> list[Device]:
    """The user's confirmed authenticator apps and security keys (recovery codes excluded)."""
    return [
        *TOTPDevice.objects.devices_for_user(user, confirmed=True),
        *WebAuthnCredential.objects.devices_for_user(user, confirmed=True),
    ]


def is_enrolled(user: User) -> bool:
    return (
        TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()
        or WebAuthnCredential.objects.devices_for_user(user, confirmed=True).exists()
    )


def required_for(user: User) -> bool:
    """Whether an administrator requires a second factor for one of the user's roles."""
    return RoleMfaPolicy.objects.filter(
        mfa_required=True, role__in=user.groups.values("name")
    ).exists()


def required_condition(user_field: str) -> Exists:
    """`required_for` as a condition on a query whose rows name the user in `user_field`, so
    that it is read along with them (security.tokens.with_refusal_facts)."""
    roles = Group.objects.filter(user=OuterRef(OuterRef(user_field))).values("name")
    return Exists(RoleMfaPolicy.objects.filter(mfa_required=True, role__in=roles))


def recovery_device(user: User) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()


def recovery_codes_left(user: User) -> int:
    device = recovery_device(user)
    return device.token_set.count() if device else 0


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


@transaction.atomic
def new_recovery_codes(user: User) -> list[str]:
    """Replaces the user's recovery codes; the returned codes are shown once."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes: list[str] = []
    while len(codes) < RECOVERY_CODE_COUNT:
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        if code not in codes:
            codes.append(code)
    StaticToken.objects.bulk_create(StaticToken(device=device, token=c) for c in codes)
    auditing.record("security.recovery_codes_created", actor=user)
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def verify_code(user: User, raw: str) -> Device | None:
    """The device that accepts this code: six digits for an app, else a recovery code.

    django-otp throttles each device after a wrong code (the wait doubles each time), so
    guessing is slow whatever the login limits.
    """
    code = normalise_code(raw)
    if not code:
        return None
    if code.isdigit() and len(code) in (6, 8):
        candidates: list[Device] = list(TOTPDevice.objects.devices_for_user(user, confirmed=True))
    else:
        candidates = list(StaticDevice.objects.devices_for_user(user, confirmed=True))
    for device in candidates:
        verified = django_otp.verify_token(user, device.persistent_id, code)
        if verified is not None:
            return verified
    return None


def mark_verified(request: HttpRequest, device: Device, *, how: str) -> None:
    """The session passed `device` just now: for the sign-in and for step-up."""
    django_otp.login(request, device)
    request.session[MFA_AT_SESSION_KEY] = time.time()
    auditing.record(
        "security.second_factor_passed",
        actor=device.user,
        request=request,
        data={"device": device.persistent_id, "how": how},
    )


def second_factor_at(session: SessionBase) -> datetime | None:
    stamp = session.get(MFA_AT_SESSION_KEY)
    if not isinstance(stamp, int | float):
        return None
    return datetime.fromtimestamp(stamp, tz=timezone.get_current_timezone())


def step_up_window() -> timedelta:
    return timedelta(minutes=settings.MFA_STEP_UP_MINUTES)


def is_recent(moment: datetime | None) -> bool:
    return moment is not None and timezone.now() - moment <= step_up_window()


def forget_unconfirmed(user: User) -> None:
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()


@transaction.atomic
def remove_device(user: User, persistent_id: str, request: HttpRequest | None = None) -> bool:
    """Removes one of the user's devices; the recovery codes go with the last primary device."""
    device = Device.from_persistent_id(persistent_id)
    if device is None or device.user_id != user.pk or device.name == RECOVERY_DEVICE_NAME:
        return False
    device.delete()
    if not is_enrolled(user):
        StaticDevice.objects.filter(user=user).delete()
    auditing.record(
        "security.device_removed", actor=user, request=request, data={"device": persistent_id}
    )
    return True


def device_added(request: HttpRequest, device: Device) -> None:
    auditing.record(
        "security.device_added",
        actor=device.user,
        request=request,
        data={"device": device.persistent_id, "name": device.name},
    )
