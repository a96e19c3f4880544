"""Routes and the 専決規程 in the admin: read-only but for starting a new route. They change only
through the route designer (`workflow.designer`: drafts, versions by effective date, audit), so
that what was in force on any day can be told; running routes never change (their rows were
resolved at submission)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.admin import ReadOnlyAdmin
from workflow.models import (
    ApproverRule,
    HistoryEntry,
    Route,
    RouteException,
    RouteSelectionRule,
    RouteTemplate,
    StageTemplate,
)


class ReadOnlyInline(admin.TabularInline):
    """Rows the route designer writes (through a published version), shown here for reference."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class StageInline(ReadOnlyInline):
    model = StageTemplate
    show_change_link = True
    verbose_name_plural = _("stages (changed in the route designer, /routes/)")
    fields = ["order", "name", "mode", "role", "quorum", "quorum_percent", "skippable"]


@admin.register(RouteTemplate)
class RouteTemplateAdmin(admin.ModelAdmin):
    """A new route starts here (its code and name, no stages); its stages, and every later change,
    are made in the route designer, which versions them by the date they take effect and writes
    the audit trail. An edit here would change the routes of tomorrow's submissions with no
    version and no record of who changed what (issue 19)."""

    list_display = ["code", "name", "version", "after_send_back", "is_active", "updated_at"]
    search_fields = ["code", "name"]
    inlines = [StageInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["version", "updated_at"]
        return ["code", "name", "after_send_back", "is_active", "version", "updated_at"]


class RuleInline(ReadOnlyInline):
    model = ApproverRule


@admin.register(StageTemplate)
class StageTemplateAdmin(ReadOnlyAdmin):
    list_display = ["template", "order", "name", "mode", "role", "skippable"]
    list_filter = ["template", "mode", "role"]
    inlines = [RuleInline]


class ExceptionInline(ReadOnlyInline):
    """Routes a drafter may choose although their decider ranks below the rule's (例外)."""

    model = RouteException
    fields = ["template", "reason", "created_at"]


@admin.register(RouteSelectionRule)
class RouteSelectionRuleAdmin(ReadOnlyAdmin):
    """The 専決規程 is changed as a whole, by a published version (the designer's rules page or
    its CSV import)."""

    list_display = ["priority", "name", "template", "amount_min", "amount_max", "is_active"]
    inlines = [ExceptionInline]


@admin.register(Route)
class RouteAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "document",
        "template_code",
        "template_version",
        "rule_template_code",
        "deviation",
        "status",
        "current_stage",
        "created_at",
    ]
    list_filter = ["status", "template_code", "deviation"]


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "document", "action", "actor", "on_behalf_of", "stage_name"]
    list_filter = ["action"]
