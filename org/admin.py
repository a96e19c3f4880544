from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from org.models import Absence, Department, Position, Post, User


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
class PostAdmin(admin.ModelAdmin):
    list_display = ["user", "department", "position", "is_primary", "deputy", "ends_on"]
    list_filter = ["department", "position", "is_primary"]
    search_fields = ["user__username", "user__display_name", "department__name"]
    autocomplete_fields = ["user", "department", "position", "deputy"]


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["user", "starts_at", "ends_at", "deputy", "reason"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user", "deputy"]
