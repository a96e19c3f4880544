"""E-mail for people who are not connected, sent by a background job.

The job is written in the same transaction as the notification rows (`enqueue`), so a process
that dies after that commit loses no mail: the job runs on a Celery worker (in process without a
broker) and is retried with backoff while the mail server is away (jobs.queue). It looks at who is
connected when it runs, and skips rows already e-mailed, so running it twice sends nothing twice.

Each message is in its recipient's language (NotificationPreference.language, Japanese unless
they chose otherwise), and its link is absolute, from settings.SITE_URL.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from documents.access import readers_of
from jobs import queue
from notifications import presence
from notifications.models import Notification, NotificationPreference

logger = logging.getLogger(__name__)

JOB = "notifications.email"

# type: (subject word, first line of the body); types not listed here are never e-mailed.
EMAIL_TEXTS: dict[str, tuple[Any, Any]] = {
    "task.assigned": (
        pgettext_lazy("e-mail", "Approval request"),
        pgettext_lazy("e-mail", "A request for your approval has arrived."),
    ),
    "post_review.assigned": (
        pgettext_lazy("e-mail", "Post-review request"),
        pgettext_lazy("e-mail", "A document decided in your absence awaits your review."),
    ),
    "task.cancelled": (
        pgettext_lazy("e-mail", "Request cancelled"),
        pgettext_lazy("e-mail", "A request for your approval was cancelled."),
    ),
    "task.moved": (
        pgettext_lazy("e-mail", "Request moved"),
        pgettext_lazy("e-mail", "A request for your approval has moved to someone else."),
    ),
    "question.answered": (
        pgettext_lazy("e-mail", "Question answered"),
        pgettext_lazy("e-mail", "Your question has been answered."),
    ),
    "document.sent_back": (
        pgettext_lazy("e-mail", "Sent back"),
        pgettext_lazy("e-mail", "A document was sent back."),
    ),
    "document.decided": (
        pgettext_lazy("e-mail", "Decided"),
        pgettext_lazy("e-mail", "A document was decided."),
    ),
    "document.rejected": (
        pgettext_lazy("e-mail", "Rejected"),
        pgettext_lazy("e-mail", "A document was rejected."),
    ),
    "document.withdrawn": (
        pgettext_lazy("e-mail", "Withdrawn"),
        pgettext_lazy("e-mail", "A document was withdrawn."),
    ),
    "comment.added": (
        pgettext_lazy("e-mail", "Comment"),
        pgettext_lazy("e-mail", "A comment was added to a document."),
    ),
    "reminder": (
        pgettext_lazy("e-mail", "Reminder"),
        pgettext_lazy("e-mail", "A decision is waiting for you."),
    ),
    "reminder.escalated": (
        pgettext_lazy("e-mail", "Overdue"),
        pgettext_lazy("e-mail", "A decision has been waiting a long time for one of your staff."),
    ),
}


def enqueue(rows: Sequence[Notification]) -> None:
    """The e-mail job for the rows that may need one, in the caller's transaction."""
    ids = [row.pk for row in rows if row.type in EMAIL_TEXTS and row.recipient.email]
    if ids:
        queue.enqueue(JOB, {"ids": ids})


@queue.handler(JOB)
def send_job(payload: dict[str, Any]) -> None:
    rows = list(
        Notification.objects.filter(pk__in=payload.get("ids", []), emailed_at__isnull=True)
        .select_related("recipient", "document")
        .order_by("pk")
    )
    # Still allowed to see the document now (access may have changed since the row was written).
    documents = {row.document_id: row.document for row in rows if row.document is not None}
    allowed = readers_of(documents.values(), {row.recipient_id for row in rows})
    send_offline_emails(
        [
            row
            for row in rows
            if row.document_id is None or row.recipient_id in allowed.get(row.document_id, set())
        ]
    )


def remember_language(sender: object, request: Any, user: Any, **kwargs: object) -> None:
    """At each sign-in, the language the person reads the pages in (the switcher's cookie, else
    the browser's Accept-Language) becomes the language of their e-mail."""
    if request is None or user is None:
        return
    language = translation.get_language_from_request(request)
    if language not in dict(settings.LANGUAGES):
        return
    NotificationPreference.objects.update_or_create(user=user, defaults={"language": language})


def link(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def email_text(row: Notification, language: str | None = None) -> tuple[str, str] | None:
    """Subject and body of the row's e-mail, in `language` (default: Japanese)."""
    texts = EMAIL_TEXTS.get(row.type)
    if texts is None:
        return None
    with translation.override(language or settings.LANGUAGE_CODE):
        word, first_line = str(texts[0]), str(texts[1])
        document = row.document
        title = document.title if document is not None else ""
        subject = (
            _("[e-Kessai] %(word)s: %(title)s") % {"word": word, "title": title}
            if title
            else _("[e-Kessai] %(word)s") % {"word": word}
        )
        data = row.data if isinstance(row.data, dict) else {}
        lines = [_("Dear %(name)s,") % {"name": row.recipient}, "", first_line, ""]
        if document is not None:
            lines.append(_("Title: %(value)s") % {"value": document.title})
            if document.number:
                lines.append(_("Document number: %(value)s") % {"value": document.number})
        labels = {
            "stage": _("Stage: %(value)s"),
            "reason": _("Reason: %(value)s"),
            "assignee": _("Assignee: %(value)s"),
            "hours": _("Waiting for: %(value)s hours"),
        }
        for key, label in labels.items():
            if data.get(key) not in (None, ""):
                lines.append(label % {"value": data[key]})
        if document is not None:
            lines += ["", _("Document: %(url)s") % {"url": link(f"/documents/{document.pk}/")}]
        lines += ["", _("This message was sent automatically by the e-Kessai system.")]
    return subject.replace("\n", " ")[:200], "\n".join(lines)


class MailNotSent(Exception):
    """Some messages could not be sent: the job is tried again for them (jobs.queue)."""


def send_offline_emails(rows: Sequence[Notification]) -> None:
    """E-mail each recipient who is not connected and has not turned e-mail off, in their
    language. Who is connected, who wants mail and in which language are looked up once for all
    rows. A failed message does not stop the others; the sent ones are marked, and MailNotSent
    names the rest so that the job is tried again for them alone."""
    candidates = [row for row in rows if row.type in EMAIL_TEXTS and row.recipient.email]
    if not candidates:
        return
    people = {row.recipient_id for row in candidates}
    offline = people - presence.connected_among(people)
    preferences = {
        p.user_id: p
        for p in NotificationPreference.objects.filter(user_id__in=list(offline)).only(
            "user_id", "email_when_offline", "language"
        )
    }
    sent, failed = [], []
    for row in candidates:
        preference = preferences.get(row.recipient_id)
        if row.recipient_id not in offline or (
            preference is not None and not preference.email_when_offline
        ):
            continue
        try:
            text = email_text(row, preference.language if preference is not None else None)
            if text is None:
                continue
            send_mail(text[0], text[1], None, [row.recipient.email])
            sent.append(row.pk)
        except Exception as exc:
            logger.exception("could not e-mail notification %s", row.pk)
            failed.append(f"{row.pk} ({exc!r})")
    if sent:
        Notification.objects.filter(pk__in=sent).update(emailed_at=timezone.now())
    if failed:
        raise MailNotSent("notifications not e-mailed: " + ", ".join(failed))
