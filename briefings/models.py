"""A briefing (説明モード): one person presents a document's record, the others follow live.

The rows say who presents what and where they are (so that a late joiner lands on the same
page); the live traffic itself (page turns, the pointer) goes over the notification socket
(briefings.relay) and is never stored.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from documents.models import Document
from meetings.models import Meeting

# Six characters read aloud in a meeting room or typed on a phone: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6

# The presenter has been away this long (no socket, no heartbeat): the briefing ends by itself.
ABANDONED_AFTER = timedelta(minutes=10)


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(raw: str) -> str:
    """What people type: lower case, spaces or a hyphen in the middle ("abc-def")."""
    return "".join(ch for ch in raw.upper() if ch not in " -\u3000")


class EndReason(models.TextChoices):
    ENDED = "ended", _("Ended by the presenter")
    TIMEOUT = "timeout", _("The presenter was away for 10 minutes")


class Briefing(models.Model):
    """One document's record presented, or a meeting's frozen set (the chair presents)."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, null=True, blank=True, related_name="briefings"
    )
    meeting = models.ForeignKey(
        Meeting, on_delete=models.PROTECT, null=True, blank=True, related_name="briefings"
    )
    code = models.CharField(max_length=CODE_LENGTH)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    presenter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    # Moved by the presenter's socket while it is open (briefings.relay) and when it closes.
    presenter_seen_at = models.DateTimeField()
    # Where the presenter is: the record's part ("cover", "a<attachment id>"), the page in the
    # record (1-based, as the annotations API counts) and the zoom (1 = the page fits the screen);
    # in a meeting also the item (its index in the meeting's set, 0-based).
    view_item = models.PositiveIntegerField(null=True, blank=True)
    view_part = models.CharField(max_length=64, blank=True, default="")
    view_page = models.PositiveIntegerField(default=1)
    view_zoom = models.FloatField(default=1.0)

    class Meta:
        constraints = [
            # A code names one live briefing; ended ones keep theirs for the record.
            models.UniqueConstraint(
                fields=["code"], condition=Q(ended_at__isnull=True), name="briefing_live_code"
            ),
            # One live briefing per meeting: everyone who joins the meeting joins that one.
            models.UniqueConstraint(
                fields=["meeting"], condition=Q(ended_at__isnull=True), name="briefing_live_meeting"
            ),
            models.CheckConstraint(
                condition=Q(document__isnull=False, meeting__isnull=True)
                | Q(document__isnull=True, meeting__isnull=False),
                name="briefing_document_or_meeting",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True, ended_reason="")
                | Q(ended_at__isnull=False) & ~Q(ended_reason=""),
                name="briefing_end_has_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["presenter_seen_at"],
                condition=Q(ended_at__isnull=True),
                name="briefing_live_seen",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.document_id or self.meeting_id})"

    @property
    def live(self) -> bool:
        return self.ended_at is None

    def abandoned(self, now: datetime) -> bool:
        return self.live and now - self.presenter_seen_at >= ABANDONED_AFTER

    @property
    def group(self) -> str:
        """The channel-layer group of everyone connected to it."""
        return f"briefing.{self.pk}"


class Participant(models.Model):
    """Someone who joined (once per person): the audit trail says it once, the presenter's
    hand-over list offers them first."""

    briefing = models.ForeignKey(Briefing, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["briefing", "user"], name="briefing_participant_once")
        ]

    def __str__(self) -> str:
        return f"{self.briefing_id}: {self.user_id}"
