"""The office calendar and the paper-decision ledger, kept by administrators."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from analytics import facts, officehours
from analytics.models import OfficeDay, PaperDecision


@admin.register(OfficeDay)
class OfficeDayAdmin(admin.ModelAdmin):
    list_display = ["date", "name", "is_open"]
    list_filter = ["is_open"]
    date_hierarchy = "date"
    search_fields = ["name"]
    change_list_template = "analytics/admin/officeday_changelist.html"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        year = timezone.localdate().year
        context = {
            **(extra_context or {}),
            "closed_days": officehours.closed_days(year),
            "closed_year": year,
        }
        return super().changelist_view(request, context)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        previous = OfficeDay.objects.filter(pk=obj.pk).values_list("date", flat=True).first()
        super().save_model(request, obj, form, change)
        self._recompute(request, {obj.date, previous} - {None})

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        day = obj.date
        super().delete_model(request, obj)
        self._recompute(request, {day})

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        days = set(queryset.values_list("date", flat=True))
        super().delete_queryset(request, queryset)
        self._recompute(request, days)

    def _recompute(self, request: HttpRequest, days: set[Any]) -> None:
        # Times that span a changed day are counted again at once, so the figures agree with
        # the calendar the administrator sees.
        total = sum(facts.refresh_around(day) for day in days)
        if total:
            messages.info(
                request, _("%(n)s documents' office hours were counted again.") % {"n": total}
            )


@admin.register(PaperDecision)
class PaperDecisionAdmin(admin.ModelAdmin):
    list_display = ["decided_on", "kind", "department", "doc_type", "title", "reason"]
    list_filter = ["kind", "doc_type", "department"]
    date_hierarchy = "decided_on"
    search_fields = ["title", "reason"]
    raw_id_fields = ["document"]
    readonly_fields = ["registered_by", "registered_at"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not change:
            obj.registered_by = request.user
        super().save_model(request, obj, form, change)
