from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import Model
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from org import changes
from org.models import Absence, Department, Position, Post, User


class _FollowedAdmin(admin.ModelAdmin):
    """Changes here move open tasks (org.changes): posts change holders, absences start."""

    def save_model(self, request: HttpRequest, obj: Model, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changes.changed()

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        super().delete_model(request, obj)
        changes.changed()

    def save_related(
        self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        changes.changed()


class PostInline(admin.TabularInline):
    model = Post
    fk_name = "user"
    extra = 0
    autocomplete_fields = ["department", "position", "deputy"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "email", "is_active", "is_demo_account"]
    search_fields = ["username", "display_name", "last_name", "first_name", "employee_id"]
    list_filter = ["is_active", "groups", "is_demo_account"]
    inlines = [PostInline]
    fieldsets = (
        *(DjangoUserAdmin.fieldsets or ()),
        (_("Organisation"), {"fields": ("display_name", "employee_id", "is_demo_account")}),
    )

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # the posts inline
        changes.changed()


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "full_name", "number_prefix", "is_active"]
    search_fields = ["code", "name"]
    list_filter = ["is_active"]
    autocomplete_fields = ["parent"]


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "rank", "is_active"]
    search_fields = ["code", "name"]


@admin.register(Post)
class PostAdmin(_FollowedAdmin):
    list_display = [
        "user",
        "department",
        "position",
        "is_primary",
        "deputy",
        "starts_on",
        "ends_on",
        "handover_until",
    ]
    list_filter = ["department", "position", "is_primary"]
    search_fields = ["user__username", "user__display_name", "department__name"]
    autocomplete_fields = ["user", "department", "position", "deputy"]


@admin.register(Absence)
class AbsenceAdmin(_FollowedAdmin):
    list_display = ["user", "starts_at", "ends_at", "deputy", "reason"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user", "deputy"]
