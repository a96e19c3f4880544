"""The briefing API (issue 21). Views translate HTTP to briefings.services and back.

- POST /api/v1/briefings               {"document": id} (or {"meeting": id}) → 201 the briefing,
                                        with its six-character code and the page's address
- POST /api/v1/briefings/join          {"code": "ABC123"} → the live briefing of that code
- GET  /api/v1/briefings/{id}          the briefing (anyone who may read what it presents)
- POST /api/v1/briefings/{id}/handover {"to": username} (the presenter)
- POST /api/v1/briefings/{id}/end      (the presenter)

Only people who may read the document (documents.access) start, join or see a briefing; someone
holding a code for a document they may not read gets 403, anyone else 404 for what they may not
see. The live part (page turns, the pointer) is on the notification socket (briefings.relay).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from briefings import roster, services
from briefings.models import CODE_LENGTH, Briefing, normalise_code
from documents.models import Document
from meetings.models import Meeting
from org.auth import user_of
from org.models import User

# --- shapes ------------------------------------------------------------------------------------


class BriefingPersonSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


class BriefingViewSerializer(serializers.Serializer):
    part = serializers.CharField(help_text='The record\'s part: "cover" or "a<attachment id>".')
    page = serializers.IntegerField(help_text="The page in the record, 1-based.")
    zoom = serializers.FloatField(help_text="1 = the page fits the screen.")
    item = serializers.IntegerField(
        required=False, help_text="A meeting's briefing: the index in the meeting's set."
    )


class BriefingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField(help_text="Six characters to type or read aloud.")
    url = serializers.CharField(help_text="The briefing's page, for presenter and followers.")
    document = serializers.IntegerField(allow_null=True)
    meeting = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    presenter = BriefingPersonSerializer()
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    ended_reason = serializers.ChoiceField(choices=["", "ended", "timeout"])
    live = serializers.BooleanField()
    view = BriefingViewSerializer()
    followers = serializers.IntegerField(help_text="Followers connected now (a hint).")
    socket = serializers.CharField(
        help_text="Where to send {'type': 'briefing.join', 'briefing': id} (WebSocket)."
    )


def as_json(request: Request, briefing: Briefing) -> dict[str, Any]:
    document, meeting = briefing.document, briefing.meeting
    return {
        "id": briefing.pk,
        "code": briefing.code,
        "url": request.build_absolute_uri(reverse("frontend:briefing", args=[briefing.pk])),
        "document": briefing.document_id,
        "meeting": briefing.meeting_id,
        "title": document.title if document else meeting.title if meeting else "",
        "presenter": services.person(briefing.presenter),
        "started_at": briefing.started_at,
        "ended_at": briefing.ended_at,
        "ended_reason": briefing.ended_reason,
        "live": briefing.live,
        "view": services.view_of(briefing),
        "followers": roster.count(briefing.pk, briefing.code) if briefing.live else 0,
        "socket": "/ws/notifications/",
    }


class BriefingStartSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, required=False)
    meeting = serializers.IntegerField(min_value=1, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("document" in attrs) == ("meeting" in attrs):
            raise serializers.ValidationError(_("Name the document (or the meeting) to present."))
        return attrs


class BriefingJoinSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, help_text="The six characters, any case.")

    def validate_code(self, value: str) -> str:
        code = normalise_code(value)
        if len(code) != CODE_LENGTH:
            raise serializers.ValidationError(_("A briefing code has six characters."))
        return code


class BriefingHandoverSerializer(serializers.Serializer):
    to = serializers.CharField(max_length=150, help_text="The user name of the next presenter.")


# --- views -------------------------------------------------------------------------------------


class BriefingListView(APIView):
    @extend_schema(
        request=BriefingStartSerializer,
        responses={201: BriefingSerializer},
        summary="Start a briefing (説明モード) of a document",
        description="Anyone who may read the document; its code and page go to the followers. "
        "A meeting's briefing is opened by its chair.",
    )
    def post(self, request: Request) -> Response:
        user = user_of(request)
        form = BriefingStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        if "meeting" in form.validated_data:
            meeting = Meeting.objects.filter(pk=form.validated_data["meeting"]).first()
            if meeting is None:
                raise ApiError("not_found", _("No such meeting."), status.HTTP_404_NOT_FOUND)
            briefing = services.meeting_briefing(user, meeting)
            if briefing.presenter_id != user.pk:
                raise ApiError(
                    "already_started",
                    _("This meeting's briefing is already running; join it instead."),
                    status.HTTP_409_CONFLICT,
                )
        else:
            document = Document.objects.filter(pk=form.validated_data["document"]).first()
            if document is None:
                raise ApiError("not_found", _("No such document."), status.HTTP_404_NOT_FOUND)
            briefing = services.start(user, document)
        return Response(as_json(request, briefing), status=status.HTTP_201_CREATED)


class JoinView(APIView):
    @extend_schema(
        request=BriefingJoinSerializer,
        responses={200: BriefingSerializer},
        summary="Join a live briefing by its code",
        description="403 for someone who may not read the document; 404 for an unknown code.",
    )
    def post(self, request: Request) -> Response:
        form = BriefingJoinSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        briefing = services.join_by_code(user_of(request), form.validated_data["code"])
        return Response(as_json(request, briefing))


class BriefingView(APIView):
    @extend_schema(responses=BriefingSerializer, summary="A briefing")
    def get(self, request: Request, briefing_id: int) -> Response:
        return Response(as_json(request, services.visible(user_of(request), briefing_id)))


class HandoverView(APIView):
    @extend_schema(
        request=BriefingHandoverSerializer,
        responses={200: BriefingSerializer},
        summary="Hand the briefing over to another person",
        description="The presenter; the next one must be able to read the document (422).",
    )
    def post(self, request: Request, briefing_id: int) -> Response:
        user = user_of(request)
        briefing = services.visible(user, briefing_id)
        form = BriefingHandoverSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        to = User.objects.filter(username=form.validated_data["to"], is_active=True).first()
        if to is None:
            raise ApiError(
                "not_found",
                _("No active user with that user name."),
                status.HTTP_404_NOT_FOUND,
                field="to",
            )
        briefing = services.hand_over(user, briefing, to)
        return Response(as_json(request, briefing))


class EndView(APIView):
    @extend_schema(
        request=None,
        responses={200: BriefingSerializer},
        summary="End the briefing",
        description="The presenter; every follower's page says it has ended.",
    )
    def post(self, request: Request, briefing_id: int) -> Response:
        user = user_of(request)
        briefing = services.end(user, services.visible(user, briefing_id))
        return Response(as_json(request, briefing))
