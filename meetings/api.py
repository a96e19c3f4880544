"""The meetings API (issue 21). Views translate HTTP to meetings.services and back; who may do
what is meetings.access. A meeting the caller does not attend is 404, as one that does not exist.

- GET, POST          /api/v1/meetings                          mine; plan one
- GET, PATCH, DELETE /api/v1/meetings/{id}                     detail; the organiser while planned
- POST               /api/v1/meetings/{id}/start | /close      the chair or the organiser
- POST               /api/v1/meetings/{id}/attendance          entering or leaving the room
- POST, PUT          /api/v1/meetings/{id}/documents           add (frozen now); reorder
- DELETE             /api/v1/meetings/{id}/documents/{item}    take out
- GET                /api/v1/meetings/{id}/items/{item}/file   the frozen record's bytes
- POST               /api/v1/meetings/{id}/attendees           add (must read every document)
- DELETE             /api/v1/meetings/{id}/attendees/{username}
- GET, POST          /api/v1/meetings/{id}/notes               what the caller may see; write
- PATCH, DELETE      /api/v1/meetings/{id}/notes/{note}        the author's own
- GET                /api/v1/meetings/{id}/minutes.pdf         議事メモ (never a private note)
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.errors import ApiError
from api.negotiation import FileAnswer
from api.pagination import Pages
from audit import services as audit
from documents import downloads
from documents.access import require_kept, visible_documents
from meetings import access, minutes, notes, services
from meetings.models import Meeting, MeetingItem
from meetings.serializers import (
    AddAttendeeSerializer,
    AddDocumentSerializer,
    CreateMeetingSerializer,
    MeetingAttendanceSerializer,
    MeetingAttendeeSerializer,
    MeetingDetailSerializer,
    MeetingItemSerializer,
    MeetingNoteInputSerializer,
    MeetingNoteSerializer,
    MeetingNoteUpdateSerializer,
    MeetingSummarySerializer,
    ReorderSerializer,
    UpdateMeetingSerializer,
    detail_json,
    item_json,
    note_json,
    summary_json,
)
from org.auth import user_of
from org.models import User
from storage import content_disposition


def meeting_of(request: Request, meeting_id: int) -> Meeting:
    """The meeting, or 404 whether it does not exist or the caller does not attend it."""
    meeting = (
        access.visible_meetings(user_of(request))
        .select_related("chair", "organiser")
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise ApiError(
            "not_found",
            services.not_found_message(),
            status.HTTP_404_NOT_FOUND,
        )
    return meeting


def _detail(request: Request, meeting: Meeting) -> Response:
    return Response(detail_json(meeting, user_of(request)))


class MeetingPagination(Pages):
    ordering = ("-starts_at", "-id")


class MeetingListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "state", str, enum=["planned", "in_progress", "closed"], required=False
            )
        ],
        responses=inline_serializer(
            "MeetingPage",
            {
                "results": MeetingSummarySerializer(many=True),
                "next": serializers.CharField(allow_null=True),
                "previous": serializers.CharField(allow_null=True),
            },
        ),
        summary="The meetings I attend, chair or organise",
    )
    def get(self, request: Request) -> Response:
        qs: QuerySet[Meeting] = access.visible_meetings(user_of(request)).select_related(
            "chair", "organiser"
        )
        state = request.query_params.get("state")
        if state is not None:
            if state not in ("planned", "in_progress", "closed"):
                raise ApiError("invalid", services.state_message(), field="state")
            qs = qs.filter(state=state)
        paginator = MeetingPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        return Response(
            {
                "results": [summary_json(m) for m in page or []],
                "next": paginator.get_next_link(),
                "previous": paginator.get_previous_link(),
            }
        )

    @extend_schema(
        request=CreateMeetingSerializer,
        responses={201: MeetingDetailSerializer},
        summary="Plan a meeting (I organise it; the chair is me unless named)",
    )
    def post(self, request: Request) -> Response:
        form = CreateMeetingSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = dict(form.validated_data)
        user = user_of(request)
        ids = data.pop("documents")
        found = {d.pk: d for d in visible_documents(user).filter(pk__in=ids)}
        if len(found) != len(set(ids)):
            raise ApiError(
                "document_not_found",
                services.document_not_found_message(),
                status.HTTP_404_NOT_FOUND,
            )
        meeting = services.create_meeting(
            user, documents=[found[i] for i in dict.fromkeys(ids)], **data
        )
        return Response(detail_json(meeting, user), status=status.HTTP_201_CREATED)


class MeetingDetailView(APIView):
    @extend_schema(responses=MeetingDetailSerializer, summary="A meeting I attend")
    def get(self, request: Request, meeting_id: int) -> Response:
        return _detail(request, meeting_of(request, meeting_id))

    @extend_schema(
        request=UpdateMeetingSerializer,
        responses=MeetingDetailSerializer,
        summary="Change a planned meeting (the organiser)",
    )
    def patch(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = UpdateMeetingSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        meeting = services.update_meeting(user_of(request), meeting, dict(form.validated_data))
        return _detail(request, meeting)

    @extend_schema(responses={204: None}, summary="Delete a planned meeting (the organiser)")
    def delete(self, request: Request, meeting_id: int) -> Response:
        services.delete_meeting(user_of(request), meeting_of(request, meeting_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StartView(APIView):
    @extend_schema(
        request=None,
        responses=MeetingDetailSerializer,
        summary="Start the meeting (the chair or the organiser)",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = services.start(user_of(request), meeting_of(request, meeting_id))
        return _detail(request, meeting)


class CloseView(APIView):
    @extend_schema(
        request=None,
        responses=MeetingDetailSerializer,
        summary="Close the meeting (the chair or the organiser)",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = services.close(user_of(request), meeting_of(request, meeting_id))
        return _detail(request, meeting)


class AttendanceView(APIView):
    @extend_schema(
        request=MeetingAttendanceSerializer,
        responses=MeetingAttendeeSerializer,
        summary="I enter (present: true) or leave the meeting room; recorded in the audit trail",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = MeetingAttendanceSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        if form.validated_data["present"]:
            seat = services.join(meeting, user)
        else:
            seat = services.leave(meeting, user)
        attendees = detail_json(meeting, user)["attendees"]
        return Response(next(a for a in attendees if a["username"] == seat.user.username))


class DocumentsView(APIView):
    @extend_schema(
        request=AddDocumentSerializer,
        responses={201: MeetingItemSerializer},
        summary="Put a document into the meeting, frozen at its current version",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = AddDocumentSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        document = visible_documents(user).filter(pk=form.validated_data["document"]).first()
        if document is None:
            services.require_arranger(user, meeting)
            raise ApiError(
                "document_not_found",
                services.document_not_found_message(),
                status.HTTP_404_NOT_FOUND,
            )
        item = services.add_document(user, meeting, document)
        return Response(item_json(item, user, True), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=ReorderSerializer,
        responses=MeetingItemSerializer(many=True),
        summary="Reorder the meeting's documents",
    )
    def put(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = ReorderSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        items = services.reorder(user, meeting, form.validated_data["order"])
        readable = access.readable_documents(user, items)
        return Response([item_json(i, user, i.document_id in readable) for i in items])


def item_of(meeting: Meeting, item_id: int) -> MeetingItem:
    item = (
        MeetingItem.objects.select_related("document", "meeting")
        .filter(meeting=meeting, pk=item_id)
        .first()
    )
    if item is None:
        raise services.item_not_found()
    return item


class DocumentDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Take a document out of the meeting")
    def delete(self, request: Request, meeting_id: int, item_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        services.remove_item(user_of(request), meeting, item_of(meeting, item_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ItemFileView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="The frozen copy of an item (its record as it was when put in), byte ranges",
    )
    def get(self, request: Request, meeting_id: int, item_id: int) -> StreamingHttpResponse:
        meeting = meeting_of(request, meeting_id)
        item = item_of(meeting, item_id)
        user = user_of(request)
        if not access.may_read_item(user, item):
            raise ApiError(
                "cannot_read",
                services.no_longer_readable_message(),
                status.HTTP_403_FORBIDDEN,
            )
        require_kept(item.document)
        name = f"{item.document_number or item.document_id}_v{item.version_number}.pdf"
        response = downloads.record_pdf(item.record_sha256, item.record_size, name, request)
        # pdf.js asks for the whole file first, then for ranges: one entry per opening.
        if not request.META.get("HTTP_RANGE"):
            audit.record(
                "meeting.item_view",
                actor=user,
                document=item.document_id,
                version=item.version_number,
                request=request,
                data={"meeting": meeting.pk, "item": item.pk, "sha256": item.record_sha256},
            )
        return response


class AttendeesView(APIView):
    @extend_schema(
        request=AddAttendeeSerializer,
        responses={201: MeetingDetailSerializer},
        summary="Add an attendee (they must be allowed to read every document of the meeting)",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = AddAttendeeSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        services.add_attendee(user_of(request), meeting, form.validated_data["username"])
        return Response(detail_json(meeting, user_of(request)), status=status.HTTP_201_CREATED)


class AttendeeDetailView(APIView):
    @extend_schema(responses={204: None}, summary="Remove an attendee")
    def delete(self, request: Request, meeting_id: int, username: str) -> Response:
        meeting = meeting_of(request, meeting_id)
        person = User.objects.filter(username=username[:150]).first()
        if person is None:
            services.require_arranger(user_of(request), meeting)
            raise ApiError(
                "not_found", services.not_an_attendee_message(), status.HTTP_404_NOT_FOUND
            )
        services.remove_attendee(user_of(request), meeting, person)
        return Response(status=status.HTTP_204_NO_CONTENT)


class NotesView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("item", int, required=False)],
        responses=inline_serializer(
            "MeetingNoteList", {"results": MeetingNoteSerializer(many=True)}
        ),
        summary="The notes I may see: shared notes, the presenter's ink and my private notes",
    )
    def get(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        user = user_of(request)
        qs = access.visible_notes(user, meeting).select_related("author")
        item = request.query_params.get("item")
        if item is not None:
            if not item.isdigit() or len(item) > 18:
                raise ApiError("invalid", services.whole_number_message("item"), field="item")
            qs = qs.filter(item_id=int(item))
        return Response({"results": [note_json(n, user) for n in qs[:2000]]})

    @extend_schema(
        request=MeetingNoteInputSerializer,
        responses={201: MeetingNoteSerializer},
        summary="Write a note: private (default), shared with the meeting, or ink (the chair)",
    )
    def post(self, request: Request, meeting_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = MeetingNoteInputSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        note = notes.create_note(user, meeting, dict(form.validated_data))
        return Response(note_json(note, user), status=status.HTTP_201_CREATED)


class NoteDetailView(APIView):
    @extend_schema(
        request=MeetingNoteUpdateSerializer,
        responses=MeetingNoteSerializer,
        summary="Change my note (text, or private ↔ shared)",
    )
    def patch(self, request: Request, meeting_id: int, note_id: int) -> Response:
        meeting = meeting_of(request, meeting_id)
        form = MeetingNoteUpdateSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        user = user_of(request)
        note = notes.update_note(user, meeting, note_id, dict(form.validated_data))
        return Response(note_json(note, user))

    @extend_schema(responses={204: None}, summary="Delete my note")
    def delete(self, request: Request, meeting_id: int, note_id: int) -> Response:
        notes.delete_note(user_of(request), meeting_of(request, meeting_id), note_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MinutesView(APIView):
    content_negotiation_class = FileAnswer  # the documented Accept is not a 406

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        summary="議事メモ: the minutes as PDF (shared notes only, never a private note)",
    )
    def get(self, request: Request, meeting_id: int) -> HttpResponse:
        meeting = meeting_of(request, meeting_id)
        data = minutes.build(meeting, user_of(request))
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition(
            f"議事メモ_{meeting.pk}.pdf", inline=True
        )
        response["Content-Length"] = str(len(data))
        return response
