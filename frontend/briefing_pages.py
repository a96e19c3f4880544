"""The briefing pages (説明モード, issue 21): joining by code, and the briefing itself, full screen
for the presenter and every follower (templates and scripts in briefings/templates and
briefings/static). Reads only; starting, joining, handing over and ending go through the API and
the live part through the notification socket (briefings.relay).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from api.errors import ApiError
from briefings import services
from frontend import strings, workspace
from org.auth import user_of


def _strings() -> dict[str, Any]:
    return {
        "roles": {
            "connecting": _("Connecting…"),
            "presenter": _("You are presenting"),
            "follower": _("Following the presenter"),
            "browsing": _("Browsing on your own"),
            "ended": _("Ended"),
            "refused": _("Not allowed"),
        },
        "pageNumber": _("%(n)s / %(total)s"),
        "pageAnnounce": _("Page %(n)s of %(total)s, %(part)s"),
        "browsing": _(
            "You are browsing on your own; “Back to the presenter” (b) returns to the presenter."
        ),
        "following": _("Back with the presenter, page %(n)s."),
        "followers": _("%(n)s following"),
        "copied": _("The link is copied."),
        "copyPrompt": _("The link for the followers:"),
        "chooseFirst": _("Choose the next presenter first."),
        "confirmEnd": _("End the briefing for everyone?"),
        "failed": _("That did not work; try again."),
        "youPresent": _("You are presenting now."),
        "nowPresenting": _("%(name)s is presenting now."),
        "ended": _("The briefing has ended."),
        "endedTimeout": _("The briefing has ended: the presenter was away for 10 minutes."),
        "reconnecting": _("Connection lost; reconnecting…"),
        "signedOut": _("You have been signed out. Sign in again to follow."),
        "noFullscreen": _("This browser did not allow full screen; press F11."),
        "picker": strings.drafting()["picker"],
    }


@login_required
@require_GET
def join(request: HttpRequest) -> HttpResponse:
    """Type the six characters the presenter shows (the link carries them as ?code=)."""
    config = {"join": reverse("api:briefing-join"), "code": request.GET.get("code", "")[:32]}
    return render(request, "briefings/join.html", {"config": config})


@login_required
@require_GET
def briefing(request: HttpRequest, briefing_id: int) -> HttpResponse:
    user = user_of(request)
    try:
        found = services.visible(user, briefing_id)
    except ApiError:
        raise Http404("no such briefing") from None
    if found.document is None:
        raise Http404("a meeting's briefing is shown by the meeting's page")
    record = workspace.record_view(found.document)
    version = record.version
    document = found.document
    config = {
        "briefing": found.pk,
        "code": found.code,
        "live": found.live,
        "me": user.pk,
        "link": request.build_absolute_uri(reverse("frontend:briefing", args=[found.pk])),
        "joinLink": request.build_absolute_uri(reverse("frontend:briefing_join"))
        + f"?code={found.code}",
        "api": reverse("api:briefing", args=[found.pk]),
        "people": reverse("api:people"),
        "workspace": reverse("frontend:document", args=[document.pk]),
        "socket": "/ws/notifications/",
        "record": reverse("api:record", args=[document.pk]),
        "pageImage": reverse("api:record-page", args=[document.pk, 0]),
        "pdfjs": static("frontend/vendor/pdfjs/pdf.min.mjs"),
        "pdfjsWorker": static("frontend/vendor/pdfjs/pdf.worker.min.mjs"),
        "recordKey": version.record_sha256[:16],
        "pages": record.pages,
        "parts": [p.as_json() for p in record.parts],
        "boxes": record.boxes,
        "strings": _strings(),
    }
    return render(
        request,
        "briefings/briefing.html",
        {"briefing": found, "document": document, "record": record, "config": config},
    )
