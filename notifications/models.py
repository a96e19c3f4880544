"""Notifications as rows: one per recipient, the id increasing (so per user too).

A client remembers the last id it saw and asks for what came after it (`?since=`), so nothing is
lost while it was away. Rows are written before anything is pushed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationType(models.TextChoices):
    TASK_ASSIGNED = "task.assigned", _("Task assigned")
    TASK_CANCELLED = "task.cancelled", _("Task cancelled")
    TASK_COMPLETED = "task.completed", _("Task completed")
    TASK_MOVED = "task.moved", _("Task moved to someone else")
    QUESTION_ANSWERED = "question.answered", _("Question answered")
    POST_REVIEW_ASSIGNED = "post_review.assigned", _("Post-review assigned")
    DOCUMENT_SENT_BACK = "document.sent_back", _("Document sent back")
    DOCUMENT_DECIDED = "document.decided", _("Document decided")
    DOCUMENT_REJECTED = "document.rejected", _("Document rejected")
    DOCUMENT_WITHDRAWN = "document.withdrawn", _("Document withdrawn")
    COMMENT_ADDED = "comment.added", _("Comment added")
    REMINDER = "reminder", _("Reminder")
    REMINDER_ESCALATED = "reminder.escalated", _("Reminder escalated")


class Notification(models.Model):
    id = models.BigAutoField(primary_key=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    # Not limited to NotificationType: a new event type must not need a migration.
    type = models.CharField(_("type"), max_length=64)
    document = models.ForeignKey(
        "documents.Document",
        verbose_name=_("document"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # The workflow slot (the task id of the API); not a foreign key, a slot may go away.
    task = models.BigIntegerField(_("task"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("e-mailed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["id"]
        indexes = [models.Index(fields=["recipient", "id"], name="notification_recipient_id")]

    def __str__(self) -> str:
        return f"notification {self.pk} ({self.type} for {self.recipient_id})"


class NotificationPreference(models.Model):
    """Per-user choices; a user without a row gets the defaults."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email_when_offline = models.BooleanField(_("e-mail me when I am not connected"), default=True)
    # The language of the e-mail this user gets (notifications.mail).
    language = models.CharField(
        _("language of e-mail"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"notification preference of {self.user_id}"


class ReminderSent(models.Model):
    """A reminder (level 1) or an escalation (level 2) already sent for a slot: never twice."""

    class Level(models.IntegerChoices):
        REMINDER = 1, _("Reminder")
        ESCALATION = 2, _("Escalation")

    slot_id = models.BigIntegerField(_("slot"))
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reminder sent")
        verbose_name_plural = _("reminders sent")
        constraints = [
            models.UniqueConstraint(fields=["slot_id", "level"], name="reminder_once_per_level")
        ]

    def __str__(self) -> str:
        return f"reminder level {self.level} for slot {self.slot_id}"
