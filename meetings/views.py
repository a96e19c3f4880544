"""The meeting pages: the list of my meetings, the form to plan or change one, and the meeting
room. They read only; every change goes through the API (meetings.api) with the session and the
CSRF token. A meeting the signed-in person does not attend is 404, as in the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET

from meetings import access, strings
from meetings.models import Meeting, MeetingKind
from meetings.serializers import detail_json, summary_json
from org.auth import user_of


def _meeting(request: HttpRequest, meeting_id: int) -> Meeting:
    meeting = (
        access.visible_meetings(user_of(request))
        .select_related("chair", "organiser")
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise Http404
    return meeting


def _urls() -> dict[str, Any]:
    return {
        "meetings": reverse("meetings:meetings"),
        "people": reverse("api:people"),
        "documents": reverse("api:documents"),
        "list": reverse("meetings:list"),
    }


@login_required
@require_GET
def meeting_list(request: HttpRequest) -> HttpResponse:
    meetings = access.visible_meetings(user_of(request)).select_related("chair", "organiser")
    return render(
        request,
        "meetings/list.html",
        {"meetings": [summary_json(m) for m in meetings[:200]]},
    )


@login_required
@require_GET
def meeting_form(request: HttpRequest, meeting_id: int | None = None) -> HttpResponse:
    user = user_of(request)
    meeting = _meeting(request, meeting_id) if meeting_id is not None else None
    if meeting is not None and not access.may_arrange(user, meeting):
        # An attendee sees the meeting in its room; only the organiser and the chair change it.
        raise PermissionDenied
    config = {
        "urls": _urls(),
        "me": user.username,
        "meeting": detail_json(meeting, user) if meeting else None,
        "api": reverse("meetings:meeting", args=[meeting.pk]) if meeting else None,
        "strings": strings.form(),
    }
    return render(
        request,
        "meetings/form.html",
        {"meeting": meeting, "kinds": MeetingKind.choices, "config": config},
    )


@login_required
@require_GET
def room(request: HttpRequest, meeting_id: int) -> HttpResponse:
    user = user_of(request)
    meeting = _meeting(request, meeting_id)
    detail = detail_json(meeting, user)
    config = {
        "meeting": detail,
        "me": user.username,
        "api": reverse("meetings:meeting", args=[meeting.pk]),
        "notes": reverse("meetings:notes", args=[meeting.pk]),
        "attendance": reverse("meetings:attendance", args=[meeting.pk]),
        "pdfjs": static("frontend/vendor/pdfjs/pdf.min.mjs"),
        "pdfjsWorker": static("frontend/vendor/pdfjs/pdf.worker.min.mjs"),
        "strings": strings.room(),
    }
    return render(
        request, "meetings/room.html", {"meeting": meeting, "detail": detail, "config": config}
    )
