from django.contrib import admin

from security.models import RoleMfaPolicy


@admin.register(RoleMfaPolicy)
class RoleMfaPolicyAdmin(admin.ModelAdmin):
    list_display = ["role", "mfa_required"]
    list_editable = ["mfa_required"]
