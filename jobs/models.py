"""A job: work that must happen after a change commits, kept as a row until it has happened.

The row is written in the transaction of the change that calls for it (the outbox pattern): if
the process dies after the COMMIT and before the queue hears of it, the row is still there and the
sweeper (jobs.queue.sweep) sends it again. A job that succeeds is deleted; one that keeps failing
stays, marked failed, for administrators (the admin, /healthz).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class JobState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    kind = models.CharField(_("kind"), max_length=100)
    payload = models.JSONField(_("payload"), default=dict)
    state = models.CharField(
        _("state"), max_length=10, choices=JobState.choices, default=JobState.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    run_after = models.DateTimeField(_("run after"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")
        indexes = [models.Index(fields=["state", "run_after"], name="jobs_state_run_after")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"
