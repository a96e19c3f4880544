"""HTTP face of the internal TSA, at ``/tsa/`` (config/urls.py).

Anyone who can reach it could have our TSA vouch for the time of any hash, so it answers only
signed-in users (session) and API clients (``Authorization: Bearer``), unless TSA_HTTP_PUBLIC is
set for a closed network whose other tools cannot authenticate.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import exceptions

from api.authentication import BearerTokenAuthentication

from .tsa import timestamp_response

MAX_REQUEST = 16 * 1024  # an RFC 3161 request is a few hundred bytes


@csrf_exempt  # RFC 3161 clients post DER bodies without cookies or CSRF tokens
@require_POST
def timestamp_view(request: HttpRequest) -> HttpResponse:
    """``application/timestamp-query`` in, ``application/timestamp-reply`` out."""
    if not _allowed(request):
        response = HttpResponse(
            "sign in, or send Authorization: Bearer <token>\n",
            status=401,
            content_type="text/plain",
        )
        response["WWW-Authenticate"] = "Bearer"
        return response
    if request.content_type != "application/timestamp-query":
        return HttpResponse(
            "expected Content-Type: application/timestamp-query\n",
            status=415,
            content_type="text/plain",
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_REQUEST:
        return HttpResponse("request too large\n", status=413, content_type="text/plain")
    body = request.body
    return HttpResponse(timestamp_response(body), content_type="application/timestamp-reply")


def _allowed(request: HttpRequest) -> bool:
    if getattr(settings, "TSA_HTTP_PUBLIC", False):
        return True
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    try:
        found = BearerTokenAuthentication().authenticate(request)
    except exceptions.AuthenticationFailed:
        return False
    return found is not None
