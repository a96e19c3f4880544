"""Logins, logouts and failed logins, from Django's authentication signals."""

from __future__ import annotations

from typing import Any

from audit.services import record

MAX_USERNAME = 150


def logged_in(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    record("auth.login", actor=user, request=request, data={"backend": _backend(user)})


def logged_out(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is None:  # the session had expired: nobody to name
        return
    record("auth.logout", actor=user, request=request)


def login_failed(
    sender: Any, credentials: dict[str, Any] | None = None, request: Any = None, **kwargs: Any
) -> None:
    # Django has already replaced the password by asterisks; only the name is kept.
    username = str((credentials or {}).get("username", ""))[:MAX_USERNAME]
    record("auth.login_failed", request=request, data={"username": username})


def _backend(user: Any) -> str:
    return str(getattr(user, "backend", "") or "")
