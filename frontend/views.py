"""Browser pages. They translate requests into calls on the services and render the answer."""

from __future__ import annotations

import sys
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from api.models import ApiToken, TokenScope
from api.tokens import create_token, revoke_token
from config import db_availability
from documents.querying import SearchSerializer
from frontend import inbox, strings
from org.auth import user_of


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The inbox: my tasks, my drafts, my submitted documents, and a search."""
    user = user_of(request)
    form = SearchSerializer(data={"q": request.GET.get("q", "")})
    query = ""
    results = None
    if form.is_valid() and form.validated_data.get("q", "").strip():
        query = form.validated_data["q"].strip()
        results = inbox.search_results(user, {"q": query})
    return render(
        request,
        "frontend/home.html",
        {
            "post": user.primary_post,
            "tasks": inbox.open_tasks(user),
            "drafts": inbox.drafts(user),
            "submitted": inbox.submitted(user),
            "query": query,
            "results": results,
            "strings": strings.inbox(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    new_token = None
    if request.method == "POST":
        if "revoke" in request.POST:
            if revoke_token(user, request.POST["revoke"]):
                messages.success(request, _("The token was revoked."))
            return redirect("frontend:tokens")
        scope = request.POST.get("scope", TokenScope.ACT)
        if scope not in TokenScope.values:
            scope = TokenScope.READ
        name = request.POST.get("name", "").strip()[:100]
        _token, new_token = create_token(
            user, name=name, scope=scope, expires_in=timedelta(days=90)
        )
    return render(
        request,
        "frontend/tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=user),
            "new_token": new_token,
            "scopes": TokenScope.choices,
        },
    )


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render(
        request,
        "frontend/error.html",
        {"title": title, "message": message, "status": status},
        status=status,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 400, _("Bad request"), _("The request could not be understood."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, _("Not allowed"), _("You do not have permission to see this page."))


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, _("Page not found"), _("There is no page at this address."))


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    if exc is not None and db_availability.is_unavailable(exc):
        # Not a bug: the database could not give this request a connection (503, Retry-After).
        return db_availability.unavailable_response(request)
    return _error(
        request,
        500,
        _("Something went wrong"),
        _("An unexpected error occurred and has been logged. Please try again."),
    )
