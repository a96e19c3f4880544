"""Administrators see the jobs that keep failing (and those waiting), and can try them again."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from config.admin import ReadOnlyAdmin
from jobs import queue
from jobs.models import Job, JobState


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "state", "attempts", "run_after", "created", "short_error")
    list_filter = ("state", "kind")
    ordering = ("-id",)
    actions = ("retry_jobs",)

    @admin.display(description=_("last error"))
    def short_error(self, job: Job) -> str:
        return job.last_error.splitlines()[-1][:120] if job.last_error else ""

    @admin.action(description=_("Try the selected failed jobs again"))
    def retry_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        ids = list(queryset.filter(state=JobState.FAILED).values_list("pk", flat=True))
        count = queue.retry(ids)
        self.message_user(
            request,
            ngettext(
                "%(count)d job will be tried again.", "%(count)d jobs will be tried again.", count
            )
            % {"count": count},
            messages.SUCCESS,
        )

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # Actions need the change permission; the rows themselves stay read-only (no fields).
        return bool(request.user.is_superuser)
