"""Meetings (会議): 庁議, 打合せ and others, with a set of documents frozen for the meeting.

- `Meeting`: title, kind, when and where (or the web meeting), chair, organiser, state.
- `MeetingAttendee`: the people of the meeting; the chair and the organiser always have a row, so
  "the people of the meeting" is one table (meetings.access). Attendance is when they joined and
  left the meeting room (each time also an audit entry).
- `MeetingItem`: one document of the set, frozen at the version it had when it was put in: the
  version, the record's SHA-256 (the store is content-addressed, so those bytes never change) and
  the parts of that record with their attachments' SHA-256. A later version of the document, or a
  draft's record rebuilt, leaves the item as it was; the API says that a newer one exists.
- `MeetingNote`: notes in three layers: private (the author alone, never in any record, the
  minutes or another person's answer), shared with the meeting, and the presenter's ink. None of
  them touches a document, its record or its marks.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class MeetingKind(models.TextChoices):
    EXECUTIVE = "executive", _("Executive meeting")  # 庁議
    CONSULTATION = "consultation", _("Working meeting")  # 打合せ
    OTHER = "other", _("Other meeting")


class MeetingState(models.TextChoices):
    # With a context: other apps translate "In progress" for a route, not a meeting.
    PLANNED = "planned", pgettext_lazy("meeting state", "Planned")
    IN_PROGRESS = "in_progress", pgettext_lazy("meeting state", "In progress")
    CLOSED = "closed", pgettext_lazy("meeting state", "Closed")


class Meeting(models.Model):
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(
        _("kind"), max_length=16, choices=MeetingKind.choices, default=MeetingKind.CONSULTATION
    )
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    # The web meeting's name, address or dial-in, as text (never a link we would follow).
    web_meeting = models.CharField(_("web meeting"), max_length=500, blank=True)
    chair = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("chair"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    organiser = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("organiser"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField(
        _("state"), max_length=16, choices=MeetingState.choices, default=MeetingState.PLANNED
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gte=models.F("starts_at")),
                name="meeting_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_closed(self) -> bool:
        return self.state == MeetingState.CLOSED


class MeetingAttendee(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendees")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="meeting_seats"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    # Attendance: the first time they joined the meeting room, the last time they left it (empty
    # while they are in it). Every join and leave is also in the audit trail.
    joined_at = models.DateTimeField(null=True, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["meeting", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="meeting_attendee_once")
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id}: {self.user_id}"


class MeetingItem(models.Model):
    """One document of the meeting's set, frozen (see the module's docstring)."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    document = models.ForeignKey(
        "documents.Document", on_delete=models.PROTECT, related_name="meeting_items"
    )
    version = models.ForeignKey(
        "documents.DocumentVersion", on_delete=models.PROTECT, related_name="meeting_items"
    )
    version_number = models.PositiveIntegerField()
    # What the attendees read, whatever happens to the document later.
    title = models.CharField(max_length=200)
    document_number = models.CharField(max_length=64, blank=True)
    record_sha256 = models.CharField(max_length=64)
    record_size = models.BigIntegerField()
    record_pages = models.PositiveIntegerField()
    # What a draft's record was built from when it was frozen: a rebuilt draft differs.
    record_inputs = models.CharField(max_length=64, blank=True)
    # [{"key", "label", "first", "count", "attachment", "sha256"}]: the cover, then each
    # attachment shown as pages, as the record was laid out when frozen.
    parts: models.JSONField[list[dict[str, Any]], list[dict[str, Any]]] = models.JSONField(
        default=list
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["meeting", "position"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "position"], name="meeting_item_position"),
            models.UniqueConstraint(fields=["meeting", "document"], name="meeting_item_once"),
        ]

    def __str__(self) -> str:
        return f"{self.meeting_id} #{self.position}: {self.title} v{self.version_number}"

    def part(self, key: str) -> dict[str, Any] | None:
        return next((p for p in self.parts if p.get("key") == key), None)


class NoteLayer(models.TextChoices):
    PRIVATE = "private", _("Private")
    SHARED = "shared", _("Shared with the meeting")
    INK = "ink", _("Presenter's ink")


class MeetingNote(models.Model):
    """A note of one layer, anchored (optionally) to an item, a part, a page and a point."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="meeting_notes"
    )
    layer = models.CharField(max_length=8, choices=NoteLayer.choices)
    item = models.ForeignKey(
        MeetingItem, null=True, blank=True, on_delete=models.CASCADE, related_name="notes"
    )
    part = models.CharField(max_length=32, blank=True)
    page = models.PositiveIntegerField(null=True, blank=True)  # 1-based, in the item's record
    # PDF points on that page (origin bottom left, as the record's annotations).
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    text = models.TextField(blank=True)
    # Ink: strokes of [x, y] points in PDF points; a colour for the pen.
    strokes: models.JSONField[list[Any], list[Any]] = models.JSONField(default=list, blank=True)
    color = models.CharField(max_length=7, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["meeting", "created_at", "id"]
        indexes = [models.Index(fields=["meeting", "layer"], name="meeting_note_layer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(layer__in=[c.value for c in NoteLayer]), name="meeting_note_layer_ok"
            )
        ]

    def __str__(self) -> str:
        # Never the text: a private note's words must not reach a log or an admin list.
        return f"{self.meeting_id} note {self.pk} ({self.layer})"
