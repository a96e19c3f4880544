"""Where a request comes from: its address and client, for the audit entries it causes.

`AuditContextMiddleware` keeps the current request in a context variable, so that a service deep
below a view (e.g. `workflow.progression.history`) records the address and client without every
caller passing the request down. The address is REMOTE_ADDR; X-Forwarded-For is believed only
behind reverse proxies the installation declares (`TRUSTED_PROXY_COUNT`: that many entries of the
header, counted from the right, were written by our own proxies; anything further left is the
client's word and may be forged).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from audit.models import MAX_CLIENT, MAX_IP

_current: ContextVar[Any] = ContextVar("audit_request", default=None)


def current_request() -> Any:
    """The request being handled in this thread or task, or None (commands, workers)."""
    return _current.get()


class AuditContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _current.set(request)
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)


def _normalised(address: str) -> str:
    try:
        return str(ipaddress.ip_address(address.strip()))[:MAX_IP]
    except ValueError:
        return ""


def client_ip(meta: Any) -> str:
    """The client's address from a request's META ("" when there is none worth recording)."""
    proxies = int(getattr(settings, "TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies:
        forwarded = [
            part.strip()
            for part in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            found = _normalised(forwarded[-proxies])
            if found:
                return found
    return _normalised(str(meta.get("REMOTE_ADDR") or ""))


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def client_of(request: Any) -> tuple[str, str]:
    """(address, user agent) of a Django or DRF request; ("", "") without one."""
    if request is None:
        return "", ""
    meta = getattr(request, "META", None)
    if meta is None:
        return "", ""
    agent = _printable(str(meta.get("HTTP_USER_AGENT", "")))[:MAX_CLIENT]
    return client_ip(meta), agent
