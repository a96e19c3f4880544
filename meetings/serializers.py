"""The meetings API's shapes: input forms (validated here, so no input reaches the database
unchecked) and the answers, as the OpenAPI schema documents them."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from meetings import access
from meetings.freezing import newer_version
from meetings.models import Meeting, MeetingItem, MeetingKind, MeetingNote, NoteLayer
from org.models import User

MAX_ID = 2**63 - 1
COLOR = r"^(#[0-9a-fA-F]{6})?$"

# --- input ------------------------------------------------------------------------------------


class MeetingFieldsSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=MeetingKind.choices, default=MeetingKind.CONSULTATION)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(required=False, allow_null=True)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    web_meeting = serializers.CharField(max_length=500, required=False, allow_blank=True)
    chair = serializers.CharField(
        max_length=150, required=False, help_text="User name; the organiser if left out."
    )

    def validate_chair(self, value: str) -> User:
        return person(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts, ends = attrs.get("starts_at"), attrs.get("ends_at")
        if starts is not None and ends is not None and ends < starts:
            raise serializers.ValidationError(
                {"ends_at": _("The meeting cannot end before it starts.")}
            )
        return attrs


def person(username: str) -> User:
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise serializers.ValidationError(
            _("No active staff member has the user name %(name)s.") % {"name": username}
        )
    return user


class CreateMeetingSerializer(MeetingFieldsSerializer):
    attendees = serializers.ListField(
        child=serializers.CharField(max_length=150), max_length=200, required=False, default=list
    )
    documents = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=100,
        required=False,
        default=list,
    )

    def validate_attendees(self, value: list[str]) -> list[User]:
        found = {u.username: u for u in User.objects.filter(username__in=value, is_active=True)}
        missing = [name for name in value if name not in found]
        if missing:
            raise serializers.ValidationError(
                _("No active staff member has these user names: %(names)s.")
                % {"names": ", ".join(missing)}
            )
        return [found[name] for name in dict.fromkeys(value)]


class UpdateMeetingSerializer(MeetingFieldsSerializer):
    title = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=MeetingKind.choices, required=False)
    starts_at = serializers.DateTimeField(required=False)


class AddDocumentSerializer(serializers.Serializer):
    document = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class ReorderSerializer(serializers.Serializer):
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        max_length=100,
        help_text="Every item id of the meeting once, in the new order.",
    )


class AddAttendeeSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)

    def validate_username(self, value: str) -> User:
        return person(value)


class MeetingAttendanceSerializer(serializers.Serializer):
    present = serializers.BooleanField(help_text="true when entering the room, false leaving it")


def coordinate(**options: Any) -> serializers.FloatField:
    return serializers.FloatField(min_value=-100_000, max_value=100_000, **options)


def strokes_field(**options: Any) -> serializers.ListField:
    """Ink: at most 200 strokes of at most 2,000 [x, y] points each, in PDF points."""
    point = serializers.ListField(child=coordinate(), min_length=2, max_length=2)
    return serializers.ListField(
        child=serializers.ListField(child=point, max_length=2000),
        max_length=200,
        help_text="Ink: strokes of [x, y] points in PDF points.",
        **options,
    )


class MeetingNoteInputSerializer(serializers.Serializer):
    layer = serializers.ChoiceField(choices=NoteLayer.choices, default=NoteLayer.PRIVATE)
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")
    item = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False, allow_null=True)
    part = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    page = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True)
    x = coordinate(required=False, allow_null=True)
    y = coordinate(required=False, allow_null=True)
    strokes = strokes_field(required=False, default=list)
    color = serializers.RegexField(COLOR, required=False, allow_blank=True, default="")


class MeetingNoteUpdateSerializer(serializers.Serializer):
    layer = serializers.ChoiceField(choices=[NoteLayer.PRIVATE, NoteLayer.SHARED], required=False)
    text = serializers.CharField(max_length=4000, required=False, allow_blank=True)
    strokes = strokes_field(required=False)
    color = serializers.RegexField(COLOR, required=False, allow_blank=True)


# --- output -----------------------------------------------------------------------------------


class MeetingPersonSerializer(serializers.Serializer):
    username = serializers.CharField()
    display_name = serializers.CharField()


def person_json(user: User) -> dict[str, str]:
    return {"username": user.username, "display_name": str(user)}


class MeetingAttendeeSerializer(MeetingPersonSerializer):
    roles = serializers.ListField(child=serializers.CharField(), help_text="chair, organiser")
    joined_at = serializers.DateTimeField(allow_null=True)
    left_at = serializers.DateTimeField(allow_null=True)
    present = serializers.BooleanField()


class MeetingPartSerializer(serializers.Serializer):
    key = serializers.CharField(help_text='"cover" or "a<attachment id>"')
    label = serializers.CharField()  # type: ignore[assignment]  # a field, not the label
    first = serializers.IntegerField(help_text="First page of the part in the item's record")
    count = serializers.IntegerField()
    attachment = serializers.IntegerField(allow_null=True)
    sha256 = serializers.CharField(help_text="The attachment's bytes as frozen")


class MeetingItemSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField()
    readable = serializers.BooleanField(
        help_text="false when the caller may no longer read the document: nothing else is shown"
    )
    document = serializers.IntegerField(required=False)
    title = serializers.CharField(required=False)
    number = serializers.CharField(required=False, help_text="文書番号 when frozen, or empty")
    version = serializers.IntegerField(required=False, help_text="The frozen version")
    current_version = serializers.IntegerField(required=False)
    newer_version = serializers.BooleanField(
        required=False, help_text="The document has moved on since it was frozen"
    )
    pages = serializers.IntegerField(required=False)
    sha256 = serializers.CharField(required=False, help_text="The frozen record's bytes")
    parts = MeetingPartSerializer(many=True, required=False)
    file = serializers.CharField(required=False)


def item_json(item: MeetingItem, user: User, readable: bool | None = None) -> dict[str, Any]:
    if readable is None:
        readable = access.may_read_item(user, item)
    if not readable:
        return {"id": item.pk, "position": item.position, "readable": False}
    return {
        "id": item.pk,
        "position": item.position,
        "readable": True,
        "document": item.document_id,
        "title": item.title,
        "number": item.document_number,
        "version": item.version_number,
        "current_version": item.document.version,
        "newer_version": newer_version(item),
        "pages": item.record_pages,
        "sha256": item.record_sha256,
        "parts": [
            {**p, "label": p.get("label") or _("Cover sheet"), "sha256": p.get("sha256") or ""}
            for p in item.parts
        ],
        "file": reverse("meetings:item-file", args=[item.meeting_id, item.pk]),
    }


class MeetingPermissionsSerializer(serializers.Serializer):
    edit = serializers.BooleanField()
    arrange = serializers.BooleanField()
    chair = serializers.BooleanField()
    start = serializers.BooleanField()
    close = serializers.BooleanField()


class MeetingSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField(allow_null=True)
    place = serializers.CharField()
    state = serializers.CharField()
    state_label = serializers.CharField()
    chair = MeetingPersonSerializer()
    organiser = MeetingPersonSerializer()
    url = serializers.CharField()


def summary_json(meeting: Meeting) -> dict[str, Any]:
    return {
        "id": meeting.pk,
        "title": meeting.title,
        "kind": meeting.kind,
        "kind_label": str(meeting.get_kind_display()),
        "starts_at": serializers.DateTimeField().to_representation(meeting.starts_at),
        "ends_at": serializers.DateTimeField().to_representation(meeting.ends_at)
        if meeting.ends_at
        else None,
        "place": meeting.place,
        "state": meeting.state,
        "state_label": str(meeting.get_state_display()),
        "chair": person_json(meeting.chair),
        "organiser": person_json(meeting.organiser),
        "url": reverse("meetings:room", args=[meeting.pk]),
    }


class MeetingDetailSerializer(MeetingSummarySerializer):
    web_meeting = serializers.CharField()
    attendees = MeetingAttendeeSerializer(many=True)
    items = MeetingItemSerializer(many=True)
    permissions = MeetingPermissionsSerializer()
    minutes = serializers.CharField()


def detail_json(meeting: Meeting, user: User) -> dict[str, Any]:
    seats = meeting.attendees.select_related("user").order_by("id")
    items = list(meeting.items.select_related("document").order_by("position"))
    readable = access.readable_documents(user, items)
    organiser = access.is_organiser(user, meeting)
    chair = access.is_chair(user, meeting)
    return {
        **summary_json(meeting),
        "web_meeting": meeting.web_meeting,
        "attendees": [
            {
                **person_json(seat.user),
                "roles": [
                    role
                    for role, pk in (
                        ("chair", meeting.chair_id),
                        ("organiser", meeting.organiser_id),
                    )
                    if pk == seat.user_id
                ],
                "joined_at": seat.joined_at,
                "left_at": seat.left_at,
                "present": seat.joined_at is not None and seat.left_at is None,
            }
            for seat in seats
        ],
        "items": [item_json(i, user, i.document_id in readable) for i in items],
        "permissions": {
            "edit": access.may_edit_meeting(user, meeting),
            "arrange": access.may_arrange(user, meeting),
            "chair": chair,
            "start": (organiser or chair) and meeting.state == "planned",
            "close": (organiser or chair) and meeting.state == "in_progress",
        },
        "minutes": reverse("meetings:minutes", args=[meeting.pk]),
    }


class MeetingNoteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    layer = serializers.ChoiceField(choices=NoteLayer.choices)
    author = MeetingPersonSerializer()
    mine = serializers.BooleanField()
    item = serializers.IntegerField(allow_null=True)
    part = serializers.CharField()
    page = serializers.IntegerField(allow_null=True)
    x = serializers.FloatField(allow_null=True)
    y = serializers.FloatField(allow_null=True)
    text = serializers.CharField()
    strokes = serializers.JSONField()
    color = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def note_json(note: MeetingNote, user: User) -> dict[str, Any]:
    return {
        "id": note.pk,
        "layer": note.layer,
        "author": person_json(note.author),
        "mine": note.author_id == user.pk,
        "item": note.item_id,
        "part": note.part,
        "page": note.page,
        "x": note.x,
        "y": note.y,
        "text": note.text,
        "strokes": note.strokes,
        "color": note.color,
        "created_at": serializers.DateTimeField().to_representation(note.created_at),
        "updated_at": serializers.DateTimeField().to_representation(note.updated_at),
    }
