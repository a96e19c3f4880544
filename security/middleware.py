"""One middleware for browser sessions: idle timeout, second factor at sign-in, login lockout.

After django-otp's OTPMiddleware (which tells whether the session passed a device):
1. a session unused for SESSION_IDLE_MINUTES is signed out (sliding);
2. a signed-in user who has a second factor, or whose role requires one, must pass it before
   any page other than the security pages: pages redirect to the verification (or set-up) page,
   the API answers 403 `second_factor_required` in the common error format;
3. a POST to a login page while its user name or address is locked gets the lockout page (429)
   without the password being checked;
4. the request is made known to security.tokens, which records whether a new API token was made
   right after a second factor.
Bearer requests carry no session and pass through untouched (DRF authenticates them).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from api.errors import API_PREFIX, error_body
from security import lockout, mfa, tokens

LAST_SEEN_SESSION_KEY = "security_last_seen"
# Writing the session on every request would turn every read into a write.
LAST_SEEN_RESOLUTION_SECONDS = 60
# Open to a signed-in user who still has to pass (or set up) a second factor.
OPEN_PREFIXES = ("/security/", "/static/", "/i18n/", "/healthz", "/logout/")


class SessionSecurityMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        with tokens.handling(request):
            if request.META.get("HTTP_AUTHORIZATION"):
                return self.get_response(request)
            if request.method == "POST" and request.path in self._login_paths():
                return self._login(request)
            self._expire_idle(request)
            refusal = self._second_factor_gate(request)
            if refusal is not None:
                return refusal
            return self.get_response(request)

    # --- idle sessions ------------------------------------------------------------------------
    def _expire_idle(self, request: HttpRequest) -> None:
        if not request.user.is_authenticated:
            return
        now = time.time()
        last = request.session.get(LAST_SEEN_SESSION_KEY)
        if isinstance(last, int | float) and now - last > settings.SESSION_IDLE_MINUTES * 60:
            logout(request)
            messages.info(
                request,
                _("You were signed out after %(minutes)d minutes without activity.")
                % {"minutes": settings.SESSION_IDLE_MINUTES},
            )
            return
        if not isinstance(last, int | float) or now - last > LAST_SEEN_RESOLUTION_SECONDS:
            request.session[LAST_SEEN_SESSION_KEY] = now

    # --- the second factor at sign-in -------------------------------------------------------
    def _second_factor_gate(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or request.path.startswith(OPEN_PREFIXES):
            return None
        if getattr(user, "is_verified", lambda: False)():
            return None
        enrolled = mfa.is_enrolled(user)
        if not enrolled and not mfa.required_for(user):
            return None
        if request.path.startswith(API_PREFIX):
            return JsonResponse(
                error_body(
                    "second_factor_required",
                    _(
                        "Confirm your second factor first: open %(url)s in the browser, then "
                        "try again."
                    )
                    % {"url": request.build_absolute_uri(reverse("security:verify"))},
                ),
                status=403,
            )
        if not enrolled:
            messages.warning(
                request,
                _(
                    "Your role requires two-factor authentication. Register an authenticator "
                    "app or a security key to continue."
                ),
            )
            return redirect("security:overview")
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{reverse('security:verify')}?{query}")

    # --- login lockout ----------------------------------------------------------------------
    @staticmethod
    def _login_paths() -> set[str]:
        return {reverse(settings.LOGIN_URL), reverse("admin:login")}

    def _login(self, request: HttpRequest) -> HttpResponseBase:
        username = request.POST.get("username", "")
        until = lockout.locked_until(request, username)
        if until is None:
            response = self.get_response(request)
            if response.status_code == 302:
                return response
            until = lockout.locked_until(request, username)
            if until is None:
                return response
        return render(
            request,
            "security/locked.html",
            {"message": lockout.message(until), "until": until},
            status=429,
        )
