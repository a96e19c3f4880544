"""Administrators may set a person's notification preferences (e-mail when offline, its
language) for those who cannot or do not sign in to change them."""

from __future__ import annotations

from django.contrib import admin

from notifications.models import NotificationPreference


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "email_when_offline", "language")
    list_filter = ("email_when_offline", "language")
    search_fields = ("user__username", "user__last_name", "user__first_name")
    raw_id_fields = ("user",)
