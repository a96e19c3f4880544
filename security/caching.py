"""`Cache-Control: no-store` on everything a signed-in person or a program receives.

Offices share PCs: a page or a JSON answer left in the browser's cache (or a proxy's) can be read
by the next person at that desk, after the first one signed out. Every response to an
authenticated request (a session or a Bearer token) and every API response says no-store, unless
its view chose its own rule: downloads (documents.downloads: private, to be range-requested),
page images (private, revalidated by ETag), the CA certificate (public).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from api.errors import API_PREFIX

NO_STORE = "no-store, private"


class NoStoreMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        user = getattr(request, "user", None)
        if (
            request.path.startswith(API_PREFIX)
            or request.META.get("HTTP_AUTHORIZATION")
            or (user is not None and user.is_authenticated)
        ):
            response["Cache-Control"] = NO_STORE
        return response
