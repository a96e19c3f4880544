from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from audit.models import AuditAnchor, AuditEntry
from config.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "action", "actor", "on_behalf_of", "document", "ip")
    list_filter = ("action",)
    search_fields = ("action", "actor__username", "document__number")
    list_select_related = ("actor", "on_behalf_of", "document")
    readonly_fields = (
        "seq",
        "at",
        "actor",
        "on_behalf_of",
        "action",
        "document",
        "document_version",
        "ip",
        "client",
        "data",
        "prev_hash_hex",
        "hash_hex",
    )
    exclude = ("prev_hash", "hash")
    show_full_result_count = False  # a count(*) of millions of rows on every page is slow

    @admin.display(description=_("previous hash"))
    def prev_hash_hex(self, obj: AuditEntry) -> str:
        return obj.prev_hash_hex

    @admin.display(description=_("hash"))
    def hash_hex(self, obj: AuditEntry) -> str:
        return obj.hash_hex


@admin.register(AuditAnchor)
class AuditAnchorAdmin(ReadOnlyAdmin):
    list_display = ("seq", "gen_time", "tsa", "created_at")
    readonly_fields = ("seq", "hash_hex", "gen_time", "tsa", "created_at")
    exclude = ("hash", "token")

    @admin.display(description=_("anchored hash"))
    def hash_hex(self, obj: AuditAnchor) -> str:
        return bytes(obj.hash).hex()
