"""Login lockout: too many failed sign-ins lock the user name, or the client address, for a while.

Counted on the shared cache (security.counters: Redis in production, a database table in the
embedded mode, so the server and `manage.py unlock_login` see the same counts): failures per user
name (LOGIN_MAX_FAILURES_PER_USER, default 5) and per client address (LOGIN_MAX_FAILURES_PER_IP,
default 50: a whole office signs in from one address behind its NAT), each over
LOGIN_LOCKOUT_MINUTES; reaching either limit locks for LOGIN_LOCKOUT_MINUTES. While locked,
no password is even checked, so guessing during a lockout learns nothing and does not extend it.
A successful sign-in clears the user name's count. `manage.py unlock_login NAME` lifts a lock.
"""

from __future__ import annotations

import hashlib
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import time_format
from django.utils.translation import gettext as _

from org.auth import DemoAwareModelBackend
from security import auditing
from security.clientip import client_ip
from security.counters import shared

USER = "user"
IP = "ip"


def _key(kind: str, what: str, value: str) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"security:login:{what}:{kind}:{digest}"


def _seconds() -> int:
    return int(settings.LOGIN_LOCKOUT_MINUTES) * 60


def _subjects(request: HttpRequest | None, username: str | None) -> list[tuple[str, str, int]]:
    subjects = []
    if username:
        subjects.append((USER, username.strip().casefold(), settings.LOGIN_MAX_FAILURES_PER_USER))
    if request is not None:
        subjects.append((IP, client_ip(request), settings.LOGIN_MAX_FAILURES_PER_IP))
    return subjects


def locked_until(request: HttpRequest | None, username: str | None) -> datetime | None:
    """When the lock on this user name or this client ends, or None if neither is locked."""
    now = time.time()
    ends = [
        until
        for kind, value, _limit in _subjects(request, username)
        if isinstance(until := shared().get(_key(kind, "lock", value)), int | float) and until > now
    ]
    if not ends:
        return None
    return datetime.fromtimestamp(max(ends), tz=timezone.get_current_timezone())


def register_failure(request: HttpRequest | None, username: str | None) -> datetime | None:
    """Counts one failed sign-in; returns the end of a lock it starts."""
    if locked_until(request, username) is not None:
        return None
    started = None
    for kind, value, limit in _subjects(request, username):
        failures = _key(kind, "failures", value)
        shared().add(failures, 0, _seconds())
        try:
            count = shared().incr(failures)
        except ValueError:  # expired between add and incr
            shared().set(failures, 1, _seconds())
            count = 1
        if count >= limit:
            until = time.time() + _seconds()
            shared().set(_key(kind, "lock", value), until, _seconds())
            shared().delete(failures)
            started = datetime.fromtimestamp(until, tz=timezone.get_current_timezone())
            auditing.record(
                "security.login_locked",
                request=request,
                data={
                    "by": kind,
                    "username": username or "",
                    "ip": client_ip(request) if request is not None else "",
                    "failures": count,
                    "until": started.isoformat(),
                },
            )
    return started


def unlock(username: str | None = None, ip: str | None = None) -> bool:
    """Lifts the lock and forgets the failures; whether a lock was in force."""
    was_locked = False
    now = time.time()
    for kind, value in ((USER, (username or "").strip().casefold()), (IP, ip or "")):
        if value:
            until = shared().get(_key(kind, "lock", value))
            was_locked = was_locked or (isinstance(until, int | float) and until > now)
            shared().delete_many([_key(kind, "lock", value), _key(kind, "failures", value)])
    return was_locked


def message(until: datetime) -> str:
    return _(
        "Sign-in is locked for a while after repeated failures. Try again after %(time)s. If "
        "it is urgent, contact the system administrator."
    ) % {"time": time_format(timezone.localtime(until), "H:i")}


class LockoutBackend(BaseBackend):
    """First in AUTHENTICATION_BACKENDS: refuses any sign-in while its user name or client is
    locked, whichever view asks (the login page, the admin login, anything calling
    authenticate())."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, **kwargs):
        if locked_until(request, username) is not None:
            raise PermissionDenied
        return None

    def get_user(self, user_id: int) -> Any:
        # Sessions made by `login(request, user)` without authenticate() (tests' force_login,
        # anything that names no backend) record the first backend: this one.
        return DemoAwareModelBackend().get_user(user_id)


def _failed(sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kw):
    register_failure(request, credentials.get("username"))


def _logged_in(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    shared().delete(_key(USER, "failures", user.get_username().strip().casefold()))


def connect_signals() -> None:
    user_login_failed.connect(_failed, dispatch_uid="security-login-failed")
    user_logged_in.connect(_logged_in, dispatch_uid="security-logged-in")
