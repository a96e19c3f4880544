"""Reminders and escalation for waiting tasks; e-mail for people who are not connected."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from unittest import mock

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from jobs import queue
from jobs.models import Job, JobState
from notifications import presence
from notifications.models import Notification, NotificationPreference, ReminderSent
from notifications.reminders import send_due_reminders, superior_of
from tests.notifications.conftest import new_document, user
from workflow import services as workflow
from workflow.models import Slot, SlotStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(demo_org, django_capture_on_commit_callbacks):
    """A document waiting for suzuki (a 500,000 yen notice: suzuki, then sato)."""
    with django_capture_on_commit_callbacks(execute=True):
        document = new_document()
        workflow.submit(user("tanaka"), document.pk)
    mail.outbox.clear()
    return document


def open_slot(document, username: str = "suzuki") -> Slot:
    return Slot.objects.get(
        stage__route__document=document, assignee__username=username, status=SlotStatus.OPEN
    )


def age(slot: Slot, hours: float) -> None:
    Slot.objects.filter(pk=slot.pk).update(opened_at=timezone.now() - timedelta(hours=hours))


def rows(type_: str) -> list[tuple[str, int | None]]:
    return list(
        Notification.objects.filter(type=type_)
        .order_by("pk")
        .values_list("recipient__username", "task")
    )


def test_the_superior_is_the_highest_post_above_in_the_department_or_its_parent(demo_org):
    assert superior_of(user("suzuki")) == user("sato")  # 係長 → 課長 of 総務課
    assert superior_of(user("sato")) == user("takahashi")  # 課長 → 部長 of 総務部
    assert superior_of(user("takahashi")) is None  # the city itself has no post above 部長


def test_a_waiting_task_reminds_then_escalates_once_each(submitted, settings):
    settings.REMINDER_AFTER_HOURS = 24
    settings.ESCALATE_AFTER_HOURS = 72
    slot = open_slot(submitted)

    age(slot, 23)
    assert send_due_reminders().reminded == 0

    age(slot, 25)
    run = send_due_reminders()
    assert (run.reminded, run.escalated) == (1, 0)
    assert rows("reminder") == [("suzuki", slot.pk)]
    reminder = Notification.objects.get(type="reminder")
    assert reminder.document_id == submitted.pk
    assert reminder.data["hours"] == 25
    assert send_due_reminders().reminded == 0  # not repeated

    age(slot, 73)
    run = send_due_reminders()
    assert (run.reminded, run.escalated) == (0, 1)
    assert rows("reminder.escalated") == [("sato", slot.pk)]
    escalated = Notification.objects.get(type="reminder.escalated")
    assert escalated.data["assignee_username"] == "suzuki"
    assert send_due_reminders().escalated == 0
    assert ReminderSent.objects.filter(slot_id=slot.pk).count() == 2


def test_a_long_forgotten_task_gets_both_at_once_and_closed_tasks_none(submitted):
    slot = open_slot(submitted)
    age(slot, 100)
    run = send_due_reminders()
    assert (run.reminded, run.escalated) == (1, 1)
    # Once approved, sato's new task is fresh; suzuki's closed one is never reminded again.
    workflow.approve(user("suzuki"), slot.pk)
    ReminderSent.objects.all().delete()
    assert send_due_reminders().reminded == 0


def test_escalation_without_a_superior_is_skipped(submitted):
    slot = open_slot(submitted)
    with mock.patch("notifications.reminders.superior_of", return_value=None):
        age(slot, 100)
        run = send_due_reminders()
    assert (run.reminded, run.escalated, run.no_superior) == (1, 0, 1)
    assert rows("reminder.escalated") == []


def test_the_command_runs_the_reminders(submitted):
    age(open_slot(submitted), 30)
    out = StringIO()
    call_command("send_reminders", stdout=out)
    assert "reminded 1" in out.getvalue()


def test_offline_users_get_an_email_in_japanese(submitted, django_capture_on_commit_callbacks):
    slot = open_slot(submitted)
    age(slot, 30)
    with django_capture_on_commit_callbacks(execute=True):
        send_due_reminders()
    (message,) = mail.outbox
    assert message.to == ["suzuki@example.jp"]
    assert message.subject == "【電子決裁】督促: 庁舎清掃業務委託について"
    assert "鈴木 花子 様" in message.body
    assert f"/documents/{submitted.pk}/" in message.body
    assert Notification.objects.get(type="reminder").emailed_at is not None


def test_the_task_assigned_email(demo_org, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = new_document()
        workflow.submit(user("tanaka"), document.pk)
    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["suzuki@example.jp"] == "【電子決裁】決裁依頼: 庁舎清掃業務委託について"
    row = Notification.objects.get(type="task.assigned", recipient__username="suzuki")
    assert row.emailed_at is not None


def test_no_email_for_connected_users_or_those_who_turned_it_off(
    demo_org, django_capture_on_commit_callbacks
):
    assert presence.acquire(user("suzuki").pk)
    with django_capture_on_commit_callbacks(execute=True):
        document = new_document()
        workflow.submit(user("tanaka"), document.pk)
    assert "suzuki@example.jp" not in [m.to[0] for m in mail.outbox]
    presence.release(user("suzuki").pk)

    NotificationPreference.objects.create(user=user("sato"), email_when_offline=False)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        workflow.approve(user("suzuki"), open_slot(document).pk)
    assert Notification.objects.filter(type="task.assigned", recipient__username="sato").exists()
    assert "sato@example.jp" not in [m.to[0] for m in mail.outbox]


def test_a_mail_failure_is_logged_and_breaks_nothing(
    submitted, django_capture_on_commit_callbacks, caplog
):
    age(open_slot(submitted), 100)
    with (
        mock.patch("notifications.mail.send_mail", side_effect=OSError("smtp down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = send_due_reminders()
    assert (run.reminded, run.escalated) == (1, 1)
    assert Notification.objects.filter(type__startswith="reminder").count() == 2
    assert not Notification.objects.filter(emailed_at__isnull=False, type="reminder").exists()
    assert "could not e-mail notification" in caplog.text
    # The e-mail jobs wait for their next try (jobs.queue), which sends them once SMTP is back.
    waiting = Job.objects.filter(kind="notifications.email", state=JobState.PENDING)
    assert waiting.count() == 2
    assert all(job.attempts == 1 and "smtp down" in job.last_error for job in waiting)
    Job.objects.update(run_after=timezone.now() - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        queue.sweep()
    assert sorted(m.to[0] for m in mail.outbox) == ["sato@example.jp", "suzuki@example.jp"]
    assert not Job.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        queue.sweep()  # nothing left, nothing sent twice
    assert len(mail.outbox) == 2


def test_email_in_the_recipients_language_with_an_absolute_link(
    submitted, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://kessai.example.lg.jp"
    NotificationPreference.objects.create(user=user("suzuki"), language="en")
    age(open_slot(submitted), 30)
    with django_capture_on_commit_callbacks(execute=True):
        send_due_reminders()
    (message,) = mail.outbox
    assert message.subject == "[e-Kessai] Reminder: 庁舎清掃業務委託について"
    assert message.body.startswith("Dear 鈴木 花子,")
    assert f"Document: https://kessai.example.lg.jp/documents/{submitted.pk}/" in message.body
    assert "Waiting for: 30 hours" in message.body


def test_signing_in_sets_the_language_of_ones_email(demo_org):
    from django.test import Client

    from org.demo import DEMO_PASSWORD

    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    signed_in = english.post("/login/", {"username": "suzuki", "password": DEMO_PASSWORD})
    assert signed_in.status_code == 302
    assert NotificationPreference.objects.get(user=user("suzuki")).language == "en"
    Client().post("/login/", {"username": "suzuki", "password": DEMO_PASSWORD})
    assert NotificationPreference.objects.get(user=user("suzuki")).language == "ja"
