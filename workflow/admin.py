"""Administrators edit routes here. Every save of a template or its parts bumps its version, which
each running route records; the running route itself never changes (its rows were resolved at
submission)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F
from django.http import HttpRequest

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


def touch(template_id: int) -> None:
    RouteTemplate.objects.filter(pk=template_id).update(version=F("version") + 1)


class StageInline(admin.StackedInline):
    model = StageTemplate
    extra = 0
    show_change_link = True
    fields = [
        "order",
        "name",
        "mode",
        "role",
        "quorum",
        "quorum_percent",
        "skippable",
        "same_person_again",
        "amount_min",
        "amount_max",
        "doc_types",
        "departments",
    ]
    filter_horizontal = ["doc_types", "departments"]


@admin.register(RouteTemplate)
class RouteTemplateAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "version", "after_send_back", "is_active", "updated_at"]
    readonly_fields = ["version", "updated_at"]
    search_fields = ["code", "name"]
    inlines = [StageInline]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if change:
            touch(form.instance.pk)


class RuleInline(admin.TabularInline):
    model = ApproverRule
    extra = 0
    autocomplete_fields = ["user", "position", "department", "group"]


@admin.register(StageTemplate)
class StageTemplateAdmin(admin.ModelAdmin):
    list_display = ["template", "order", "name", "mode", "role", "skippable"]
    list_filter = ["template", "mode", "role"]
    inlines = [RuleInline]
    filter_horizontal = ["doc_types", "departments"]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        touch(form.instance.template_id)


class ExceptionInline(admin.TabularInline):
    """Routes a drafter may choose although their decider ranks below the rule's (例外)."""

    model = RouteException
    extra = 0
    fields = ["template", "reason", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(RouteSelectionRule)
class RouteSelectionRuleAdmin(admin.ModelAdmin):
    list_display = ["priority", "name", "template", "amount_min", "amount_max", "is_active"]
    list_editable = ["is_active"]
    filter_horizontal = ["doc_types", "departments"]
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
