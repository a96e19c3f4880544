"""HTTP face of the internal TSA (wire it in a urls.py: ``path("tsa/", timestamp_view)``)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .tsa import timestamp_response

MAX_REQUEST = 16 * 1024  # an RFC 3161 request is a few hundred bytes


@csrf_exempt  # RFC 3161 clients post DER bodies without cookies or CSRF tokens
@require_POST
def timestamp_view(request: HttpRequest) -> HttpResponse:
    """``application/timestamp-query`` in, ``application/timestamp-reply`` out."""
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
